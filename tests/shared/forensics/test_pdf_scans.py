"""Scans that arrive as image-only PDFs get the scan checks, through the page's own stored image."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pikepdf
from PIL import Image

from bench.fraud.tamper_generators import SCAN_DPI, TamperCase, generate_scan_edit
from bench.variants import images_to_pdf
from shared.adapters.local.sqlite import SqliteRepository
from shared.documents.content import ContentKind
from shared.domain import Finding, InvoiceRecord, Severity
from shared.forensics.check import OriginalDocument, check_tampering
from shared.forensics.pdf_scans import scanned_page_images
from shared.settings import Settings
from tests.factories import document
from tests.shared.forensics.scans import read_as_ocr

POINTS = 72.0 / SCAN_DPI  # page units per scan pixel


def _pdf_of(*jpegs: bytes, rotate: int = 0) -> bytes:
    """One page per JPEG, each drawn over its whole page from the stored stream (as scanners write),
    every page turned by ``rotate`` degrees when asked."""
    pdf = images_to_pdf([(jpeg, *Image.open(io.BytesIO(jpeg)).size) for jpeg in jpegs], dpi=SCAN_DPI)
    if not rotate:
        return pdf
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            page.Rotate = rotate
        buffer = io.BytesIO()
        document.save(buffer)
    return buffer.getvalue()


def test_the_stored_jpeg_of_each_scanned_page_is_taken_as_is(shared_data: Path) -> None:
    case = generate_scan_edit(shared_data / "invoice2data" / "FlipkartInvoice.pdf", random.Random(3))[0]
    images = scanned_page_images(_pdf_of(case.data, case.data), [1, 2, 3])
    assert images == {1: case.data, 2: case.data}  # byte for byte: its compression traces kept; no page 3
    assert scanned_page_images(_pdf_of(case.data, rotate=90), [1]) == {}  # a turned page is not guessed at


def _edited_scan_pdf_findings(
    repo: SqliteRepository, settings: Settings, shared_data: Path, rotate: int = 0
) -> tuple[list[Finding], TamperCase]:
    """A generated scan edit saved as a one-page PDF, read as OCR would, through the tampering checks."""
    source = shared_data / "invoice2data" / "FlipkartInvoice.pdf"
    case = generate_scan_edit(source, random.Random(3))[0]
    size = Image.open(io.BytesIO(case.data)).size
    pdf = _pdf_of(case.data, rotate=rotate)
    record = InvoiceRecord(id="p" * 64, document=document("p" * 64, filename="scan.pdf", size=len(pdf)))
    original = OriginalDocument(pdf, read_as_ocr(source, ContentKind.PDF, size, scale=POINTS), settings)
    return check_tampering(record, original, repo=repo), case


def test_an_edited_scan_inside_a_pdf_is_found_on_its_page(
    repo: SqliteRepository, settings: Settings, shared_data: Path
) -> None:
    findings, case = _edited_scan_pdf_findings(repo, settings, shared_data)
    (edited,) = [f for f in findings if f.code == "tamper.image.edited_region"]
    assert edited.severity is Severity.HIGH
    x0, top, x1, bottom = (v * POINTS for v in case.region)  # the painted patch, in PDF points
    assert any(
        location["page"] == 1 and location["bbox"][0] < x1 and location["bbox"][2] > x0
        and location["bbox"][1] < bottom and location["bbox"][3] > top
        for location in edited.evidence["locations"]
    )  # fmt: skip


def test_a_scanned_page_that_is_not_one_image_is_named(
    repo: SqliteRepository, settings: Settings, shared_data: Path
) -> None:
    findings, _ = _edited_scan_pdf_findings(repo, settings, shared_data, rotate=90)
    (partly,) = [f for f in findings if f.code.startswith("tamper.image")]
    assert partly.code == "tamper.image.partly_analysed" and partly.evidence == {"pages": [1]}
