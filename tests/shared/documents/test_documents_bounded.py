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
