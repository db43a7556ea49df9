"""Photos and multi-page scans: the scan checks look at the pixels the reader OCR'd, on every page."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
from PIL import Image

from bench.fraud.tamper_generators import TamperCase, generate_scan_clean, generate_scan_edit
from shared.adapters.local.sqlite import SqliteRepository
from shared.documents.content import ContentKind
from shared.domain import Finding, InvoiceRecord
from shared.forensics.check import OriginalDocument, check_tampering
from shared.forensics.image import frame_images, load_grey
from shared.settings import Settings
from tests.factories import document
from tests.shared.forensics.scans import read_as_ocr

EXIF_ORIENTATION = 0x0112
ROTATE_90_CLOCKWISE_TO_VIEW = 6  # a phone held upright: stored turned, shown turned back


def _edited(shared_data: Path) -> tuple[Path, TamperCase]:
    source = shared_data / "invoice2data" / "FlipkartInvoice.pdf"
    return source, generate_scan_edit(source, random.Random(3))[0]


def _findings(
    data: bytes, source: Path, pages: int, size: tuple[int, int], repo: SqliteRepository, settings: Settings
) -> list[Finding]:
    """The tampering findings of ``data`` read as OCR would: ``source``'s words on each of ``pages``."""
    content = read_as_ocr(source, ContentKind.IMAGE, size, pages)
    record = InvoiceRecord(id="i" * 64, document=document("i" * 64, filename="scan", size=len(data)))
    return check_tampering(record, OriginalDocument(data, content, settings), repo=repo)


def _flagged_at(findings: list[Finding], page: int, region: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = region
    return any(
        location["page"] == page and location["bbox"][0] < x1 and location["bbox"][2] > x0
        and location["bbox"][1] < bottom and location["bbox"][3] > top
        for finding in findings if finding.severity.value in ("medium", "high")
        for location in finding.evidence.get("locations", [])
    )  # fmt: skip


def test_a_photo_stored_turned_is_checked_upright(
    repo: SqliteRepository, settings: Settings, shared_data: Path
) -> None:
    source, case = _edited(shared_data)
    upright = Image.open(io.BytesIO(case.data))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = ROTATE_90_CLOCKWISE_TO_VIEW
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    photo = buffer.getvalue()
    grey = load_grey(photo)
    assert grey.shape == (upright.height, upright.width)
    assert np.abs(grey.astype(int) - np.asarray(upright, dtype=int)).mean() < 2  # the same pixels, upright
    assert case.region is not None
    assert _flagged_at(_findings(photo, source, 1, upright.size, repo, settings), 1, case.region)


def test_every_page_of_a_multi_page_tiff_is_checked(
    repo: SqliteRepository, settings: Settings, shared_data: Path
) -> None:
    source, edited = _edited(shared_data)
    (clean,) = generate_scan_clean(source, random.Random(3))
    first, second = (Image.open(io.BytesIO(case.data)) for case in (clean, edited))
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", compression="tiff_lzw", save_all=True, append_images=[second])
    tiff = buffer.getvalue()
    frames = frame_images(tiff, 2)
    for frame, image in zip(frames, (first, second), strict=True):  # each page's pixels exactly
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(frame))), np.asarray(image))
    findings = _findings(tiff, source, 2, first.size, repo, settings)
    assert edited.region is not None and _flagged_at(findings, 2, edited.region)
    assert not any(location["page"] == 1 for f in findings for location in f.evidence.get("locations", []))


def test_pages_whose_frames_are_missing_are_named(
    repo: SqliteRepository, settings: Settings, shared_data: Path
) -> None:
    source, edited = _edited(shared_data)
    buffer = io.BytesIO()
    Image.open(io.BytesIO(edited.data)).save(buffer, format="TIFF", compression="tiff_lzw")
    one_frame = buffer.getvalue()  # the reader said two pages; the second cannot be cut out
    findings = _findings(one_frame, source, 2, Image.open(buffer).size, repo, settings)
    (partly,) = [f for f in findings if f.code == "tamper.image.partly_analysed"]
    assert partly.evidence == {"pages": [2]}
