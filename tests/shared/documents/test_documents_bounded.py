"""run_bounded: results and rejections cross the process boundary; hangs, memory bombs and crashes
become DocumentRejected; bugs stay visible as BoundedRunError."""

from __future__ import annotations

import os
import signal
import time

import pytest

from shared.documents.bounded import BoundedRunError, run_bounded
from shared.documents.content import ContentKind, DocumentContent, DocumentRejected, Page


def _content(pages: int) -> DocumentContent:
    return DocumentContent(kind=ContentKind.PDF, pages=[Page(number=n, width=1, height=1) for n in range(1, pages + 1)])


def _reject(reason: str) -> None:
    raise DocumentRejected(reason)


def _hang() -> None:
    time.sleep(60)


def _allocate(megabytes: int) -> int:
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def _kill_self(signum: int) -> None:
    os.kill(os.getpid(), signum)


def _bug() -> None:
    raise KeyError("not a document problem")


def test_returns_the_childs_result() -> None:
    content = run_bounded(_content, 3, timeout_s=30, memory_mb=256)
    assert isinstance(content, DocumentContent)
    assert [p.number for p in content.pages] == [1, 2, 3]


def test_document_rejected_passes_through_with_its_reason() -> None:
    with pytest.raises(DocumentRejected) as caught:
        run_bounded(_reject, "encrypted PDF", timeout_s=30, memory_mb=256)
    assert caught.value.reason == "encrypted PDF"


def test_a_hang_is_killed_and_rejected() -> None:
    with pytest.raises(DocumentRejected) as caught:
        run_bounded(_hang, timeout_s=0.5, memory_mb=256)
    assert caught.value.reason == "timed out after 0.5 s"


def test_allocating_past_the_memory_limit_is_rejected() -> None:
    with pytest.raises(DocumentRejected) as caught:
        run_bounded(_allocate, 2048, timeout_s=30, memory_mb=128)
    assert caught.value.reason == "exceeded memory limit"
    # the same allocation within the limit succeeds: the limit is what stopped it
    assert run_bounded(_allocate, 16, timeout_s=30, memory_mb=128) == 16 * 1024 * 1024


def test_a_killed_child_is_rejected_as_over_memory() -> None:
    with pytest.raises(DocumentRejected) as caught:
        run_bounded(_kill_self, signal.SIGKILL, timeout_s=30, memory_mb=256)
    assert caught.value.reason == "exceeded memory limit"


def test_a_crashed_parser_is_rejected_with_the_signal() -> None:
    with pytest.raises(DocumentRejected) as caught:
        run_bounded(_kill_self, signal.SIGSEGV, timeout_s=30, memory_mb=256)
    assert caught.value.reason == "parser crashed (SIGSEGV)"


def test_other_exceptions_are_reported_as_bugs() -> None:
    with pytest.raises(BoundedRunError, match="KeyError"):
        run_bounded(_bug, timeout_s=30, memory_mb=256)


def _alarm_left() -> int:
    return signal.alarm(0)


def _zombie_children() -> list[int]:
    """Pids of this process's children that have exited and not been reaped."""
    found = []
    for stat in os.listdir("/proc"):
        if not stat.isdigit():
            continue
        try:
            with open(f"/proc/{stat}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            found.append(int(stat))
    return found


def test_the_child_carries_its_own_deadline_in_case_the_parent_dies() -> None:
    # the parent kills the child at timeout_s; the child's alarm is the backstop if the parent is gone
    assert 2 < run_bounded(_alarm_left, timeout_s=2, memory_mb=256) <= 2 + 30


def test_children_that_answered_are_reaped_by_later_calls() -> None:
    for _ in range(5):
        run_bounded(_content, 1, timeout_s=30, memory_mb=256)
    time.sleep(0.3)  # every child has exited by now
    run_bounded(_content, 1, timeout_s=30, memory_mb=256)  # reaps the five
    time.sleep(0.3)
    assert len(_zombie_children()) <= 1  # at most the last one, reaped by the next call
