"""RapidOCR on real scanned receipts (slow-ish: two images)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from shared.documents.content import ContentKind, DocumentContent, Page
from shared.domain.models import DocumentType
from shared.extraction.classify import classify
from shared.ocr import OcrEngine
from shared.ocr.rapid import default_ocr_engine, estimate_skew


def test_words_with_boxes_from_a_receipt(shared_data: Path) -> None:
    image = Image.open(shared_data / "sroie" / "007.jpg")
    engine: OcrEngine = default_ocr_engine()
    words = engine.recognize(image)
    texts = [w.text for w in words]
    for expected in ("RESTORAN", "WAN", "SHENG", "Cashier:"):
        assert expected in texts
    assert any("7.20" in t for t in texts)  # the labelled total
    restoran = next(w for w in words if w.text == "RESTORAN")
    assert 0 <= restoran.x0 < restoran.x1 <= image.width and 0 <= restoran.top < restoran.bottom <= image.height
    assert restoran.top < image.height / 4  # the shop name heads the slip
    assert 0.5 <= restoran.confidence <= 1.0
    # Runs are split into words: "RESTORAN WAN SHENG" gives three boxes side by side.
    wan = next(w for w in words if w.text == "WAN")
    assert restoran.x1 <= wan.x0 + 2


def test_receipt_scan_classifies_as_receipt(shared_data: Path) -> None:
    image = Image.open(shared_data / "sroie" / "009.jpg")
    words = default_ocr_engine().recognize(image)
    page = Page(number=1, width=image.width, height=image.height, words=words, ocr=True)
    kind, reason = classify(DocumentContent(kind=ContentKind.IMAGE, pages=[page]))
    assert kind == DocumentType.RECEIPT, reason


def test_skew_is_estimated_and_boxes_map_back(shared_data: Path) -> None:
    image = Image.open(shared_data / "sroie" / "007.jpg").convert("L")
    assert abs(estimate_skew(image)) < 0.5
    tilted = image.rotate(-2.0, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    assert 1.25 <= estimate_skew(tilted) <= 2.75  # rotating back by about +2 degrees straightens it
    words = default_ocr_engine().recognize(tilted)
    assert "RESTORAN" in [w.text for w in words]
    assert all(0 <= w.x0 <= w.x1 <= tilted.width and 0 <= w.top <= w.bottom <= tilted.height for w in words)
