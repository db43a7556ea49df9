"""Run a parser on untrusted input in a forked child with a time and memory bound.

A hostile document (decompression bomb, page-tree loop, parser bug that spins or segfaults) must cost
one rejected document, never a hung or crashed worker. The 'fork' start method makes the child
cheap: modules the worker already imported (pdfium, pikepdf, onnxruntime, ...) are shared, not reloaded:
importing the parsers in every child would cost more than parsing a typical invoice. The child is forked
with ``os.fork`` and its exit is not waited for once it has answered: for a one-page invoice the fork is
a third of the time, and ``multiprocessing.Process``'s start and join added a few milliseconds more.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import math
import os
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection, Pipe
from typing import Any, TypeVar

from shared.documents.content import DocumentRejected

log = logging.getLogger(__name__)

T = TypeVar("T")
_MIB = 1024 * 1024
_ORPHAN_GRACE_S = 30


class BoundedRunError(RuntimeError):
    """The child raised something other than DocumentRejected/MemoryError: a bug, not a bad document."""


ParentCall = Callable[..., Any]
_parent: Connection | None = None  # in a bounded child: the line back to the parent


def run_bounded(
    fn: Callable[..., T],
    *args: Any,
    timeout_s: float,
    memory_mb: int,
    parent_calls: Mapping[str, ParentCall] | None = None,
) -> T:
    """``fn(*args)`` in a forked child; its (picklable) result, or DocumentRejected on timeout,
    memory exhaustion or a child killed by a signal. DocumentRejected raised by ``fn`` passes through.

    ``memory_mb`` is address space the child may add to what it inherits: a worker that has already
    mapped large libraries (ONNX models, thread stacks) must not start the child at its limit.

    ``parent_calls`` are functions the child may ask the parent to run (``call_parent(name, ...)``):
    work on trusted, bounded input that needs what must not live in the child, such as the OCR
    models (loaded once in the worker; ONNX Runtime sessions do not survive a fork and would not fit
    the child's memory cap). The time they take counts towards ``timeout_s``.
    """
    _reap_finished()
    receiver, sender = Pipe(duplex=True)
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's stack
        try:
            receiver.close()
            _child_main(sender, fn, args, memory_mb, timeout_s)
        finally:
            os._exit(0)
    sender.close()  # the parent keeps only its own end, so a dead child reads as EOF
    child = _Child(pid)
    try:
        message = _receive(receiver, child, timeout_s, parent_calls or {})
    except BaseException:
        child.kill()
        raise
    finally:
        receiver.close()
    if message is not None:
        # The answer is in: the child's exit (unmapping a copy of this process) is not waited for here.
        child.reap_later()
        return _unpack(message, None)  # type: ignore[no-any-return]
    return _unpack(None, child.join())  # type: ignore[no-any-return]


def call_parent(name: str, *args: Any) -> Any:
    """From inside a bounded child: run the parent's ``parent_calls[name](*args)`` and return its result."""
    if _parent is None:
        raise RuntimeError("call_parent() outside a bounded child")
    _parent.send(("call", (name, args)))
    kind, payload = _parent.recv()
    if kind == "error":
        raise RuntimeError(f"parent call {name} failed: {payload}")
    return payload


def _receive(
    receiver: Connection, child: _Child, timeout_s: float, parent_calls: Mapping[str, ParentCall]
) -> tuple[str, Any] | None:
    deadline = time.monotonic() + timeout_s
    while True:
        if not receiver.poll(max(0.0, deadline - time.monotonic())):
            if child.is_alive():
                child.kill()
                raise DocumentRejected(f"timed out after {timeout_s:g} s")
            return None  # died without a word; the exit code says how
        try:
            message: tuple[str, Any] = receiver.recv()
        except (EOFError, OSError):
            return None
        if message[0] != "call":
            return message
        _answer(receiver, parent_calls, *message[1])


def _answer(channel: Connection, parent_calls: Mapping[str, ParentCall], name: str, args: tuple[Any, ...]) -> None:
    handler = parent_calls.get(name)
    try:
        if handler is None:
            raise LookupError(f"no parent call named {name!r}")
        reply: tuple[str, Any] = ("ok", handler(*args))
    except Exception as exc:  # reported to the child, which turns it into its own error
        reply = ("error", f"{type(exc).__name__}: {exc}")
    try:
        channel.send(reply)
    except (BrokenPipeError, OSError):
        log.debug("bounded child went away before its parent call returned")


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


def _child_main(
    sender: Connection, fn: Callable[..., Any], args: tuple[Any, ...], memory_mb: int, timeout_s: float
) -> None:
    global _parent
    faulthandler.disable()  # a native crash here is an expected outcome the parent reports, not noise
    # The parent kills the child at the deadline; should the parent itself die first, the alarm ends
    # the child a little later (SIGALRM's default action), so no orphan parses forever.
    with contextlib.suppress(ValueError):  # (signal.signal outside the main thread)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(math.ceil(timeout_s) + _ORPHAN_GRACE_S)
    _parent = sender
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


class _Child:
    """A forked child by pid: ``os.fork`` directly, not ``multiprocessing.Process``, whose start and join
    cost a few milliseconds a document that parses in ten."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exitcode: int | None = None

    def is_alive(self) -> bool:
        return not self._poll()

    def kill(self) -> None:
        if self.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.join()

    def join(self, timeout_s: float = 5.0) -> int | None:
        """Wait for the child to end (killing it past ``timeout_s``); its exit code, negative for a signal."""
        deadline = time.monotonic() + timeout_s
        while not self._poll():
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                _, status = os.waitpid(self.pid, 0)
                self.exitcode = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.001)
        return self.exitcode

    def reap_later(self) -> None:
        if not self._poll():
            with _zombies_lock:
                _zombies.append(self)

    def _poll(self) -> bool:
        """True once the child has ended (and is reaped)."""
        if self.exitcode is not None:
            return True
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere
            self.exitcode = 0
            return True
        if pid == 0:
            return False
        self.exitcode = os.waitstatus_to_exitcode(status)
        return True


_zombies: list[_Child] = []  # children that answered and are still exiting, reaped by the next call
_zombies_lock = threading.Lock()


def _reap_finished() -> None:
    with _zombies_lock:
        _zombies[:] = [child for child in _zombies if not child._poll()]


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
