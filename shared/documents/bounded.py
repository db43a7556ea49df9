"""Run a parser on untrusted input in a forked child with a time and memory bound.

A hostile document (decompression bomb, page-tree loop, parser bug that spins or segfaults) must cost
one rejected document, never a hung or crashed worker. The 'fork' start method makes the child
cheap: modules the worker already imported (pdfplumber, onnxruntime, ...) are shared, not reloaded.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import resource
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from shared.documents.content import DocumentRejected

log = logging.getLogger(__name__)

T = TypeVar("T")
_MIB = 1024 * 1024


class BoundedRunError(RuntimeError):
    """The child raised something other than DocumentRejected/MemoryError: a bug, not a bad document."""


def run_bounded(fn: Callable[..., T], *args: Any, timeout_s: float, memory_mb: int) -> T:
    """``fn(*args)`` in a forked child; its (picklable) result, or DocumentRejected on timeout,
    memory exhaustion or a child killed by a signal. DocumentRejected raised by ``fn`` passes through.

    ``memory_mb`` is address space the child may add to what it inherits: a worker that has already
    mapped large libraries (ONNX models, thread stacks) must not start the child at its limit.
    """
    context = get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, args=(sender, fn, args, memory_mb), daemon=True)
    child.start()
    sender.close()  # the parent keeps only the read end, so a dead child reads as EOF
    try:
        message = _receive(receiver, child, timeout_s)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    return _unpack(message, child.exitcode)  # type: ignore[no-any-return]


def _receive(receiver: Connection, child: Any, timeout_s: float) -> tuple[str, Any] | None:
    deadline = time.monotonic() + timeout_s
    if not receiver.poll(max(0.0, deadline - time.monotonic())):
        if child.is_alive():
            child.kill()
            child.join(5)
            raise DocumentRejected(f"timed out after {timeout_s:g} s")
        return None  # died without a word; the exit code says how
    try:
        message: tuple[str, Any] = receiver.recv()
    except (EOFError, OSError):
        child.join(5)
        return None
    return message


def _unpack(message: tuple[str, Any] | None, exitcode: int | None) -> Any:
    if message is None:
        if exitcode is not None and exitcode < 0:
            signal_name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
            if -exitcode == signal.SIGKILL:
                raise DocumentRejected("exceeded memory limit")
            raise DocumentRejected(f"parser crashed ({signal_name})")
        raise BoundedRunError(f"child exited with code {exitcode} and no result")
    kind, payload = message
    if kind == "ok":
        return payload
    if kind == "rejected":
        raise DocumentRejected(payload)
    if kind == "memory":
        raise DocumentRejected("exceeded memory limit")
    raise BoundedRunError(payload)


def _child_main(sender: Connection, fn: Callable[..., Any], args: tuple[Any, ...], memory_mb: int) -> None:
    faulthandler.disable()  # a native crash here is an expected outcome the parent reports, not noise
    try:
        _limit_address_space(memory_mb)
        result: tuple[str, Any] = ("ok", fn(*args))
    except DocumentRejected as exc:
        result = ("rejected", exc.reason)
    except MemoryError:
        result = ("memory", None)
    except BaseException as exc:
        result = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=20)}")
    try:
        sender.send(result)
    except MemoryError:
        _send_quietly(sender, ("memory", None))
    except Exception as exc:  # e.g. an unpicklable result
        _send_quietly(sender, ("error", f"result could not be returned: {type(exc).__name__}: {exc}"))
    finally:
        sender.close()


def _send_quietly(sender: Connection, message: tuple[str, Any]) -> None:
    try:
        sender.send(message)
    except Exception:
        log.debug("bounded child could not report back", exc_info=True)


def _limit_address_space(memory_mb: int) -> None:
    """RLIMIT_AS = what the child already maps + ``memory_mb``; allocations beyond raise MemoryError."""
    current = _current_address_space()
    limit = current + memory_mb * _MIB
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _current_address_space() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
