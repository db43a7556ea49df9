"""Every malformed and unusual PDF ends as DocumentContent or DocumentRejected, within its bound:
never another exception, never a hang (qpdf's fuzz crashers and damaged files, py-pdf edge cases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.documents.bounded import run_bounded
from shared.documents.content import DocumentContent, DocumentRejected, Word
from shared.documents.loader import load_content

TIMEOUT_S = 20.0
MEMORY_MB = 1024
# pypdf counts 4 pages; qpdf and pdfium refuse its page tree and pdfminer recovers only 1.
PAGE_COUNT_UNKNOWN = {"017-unreadable-meta-data/unreadablemetadata.pdf"}


class NoWordsOcr:
    def recognize(self, image: object) -> list[Word]:
        return []


def _load(data: bytes, filename: str) -> DocumentContent:
    return load_content(data, filename, None, ocr=NoWordsOcr(), max_pages=50, max_ocr_pages=2)


def _outcome(path: Path) -> DocumentContent | DocumentRejected:
    try:
        return run_bounded(_load, path.read_bytes(), path.name, timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB)
    except DocumentRejected as rejected:
        return rejected


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".md", ".json"))


def test_malformed_pdfs_end_cleanly(shared_data: Path) -> None:
    files = _files(shared_data / "robustness" / "pdf_malformed")
    assert len(files) == 164
    outcomes = {path.name: _outcome(path) for path in files}  # anything else raised fails the test
    rejected = {name: o.reason for name, o in outcomes.items() if isinstance(o, DocumentRejected)}
    assert all(reason and not reason.startswith("timed out") for reason in rejected.values()), rejected
    read = [o for o in outcomes.values() if isinstance(o, DocumentContent)]
    assert len(read) >= 100  # qpdf's repair recovers most damaged files
    assert all(content.page_count >= len(content.pages) for content in read)


def test_edge_case_pdfs_match_their_facts(shared_data: Path) -> None:
    folder = shared_data / "robustness" / "pdf_edgecases"
    facts = {entry["path"]: entry for entry in json.loads((folder / "files.json").read_text())["data"]}
    present = [path for path in facts if (folder / path).is_file()]
    assert len(present) >= 30
    for relative in present:
        fact = facts[relative]
        outcome = _outcome(folder / relative)
        if fact["encrypted"]:
            assert isinstance(outcome, DocumentRejected) and outcome.reason == "encrypted PDF", relative
            continue
        assert isinstance(outcome, DocumentContent), f"{relative}: {outcome}"
        if relative not in PAGE_COUNT_UNKNOWN:
            assert outcome.page_count == fact["pages"], relative
            assert len(outcome.pages) == min(fact["pages"], 50), relative


@pytest.mark.parametrize("name", ["with-attachment.pdf"])
def test_a_non_invoice_attachment_is_not_taken_for_an_einvoice(shared_data: Path, name: str) -> None:
    path = shared_data / "robustness" / "pdf_edgecases" / "025-attachment" / name
    outcome = _outcome(path)
    assert isinstance(outcome, DocumentContent) and outcome.xml is None
