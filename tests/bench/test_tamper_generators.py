"""The fraud suite's edited scan inside a PDF is the edited scan itself, stored as a scanner would."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.fraud.tamper_generators import (
    SCAN_DPI,
    generate,
    generate_scan_copy_move,
    generate_scan_edit,
    generate_scan_edit_in_pdf,
)
from shared.forensics.glyphs import odd_digit
from shared.forensics.image import load_grey
from shared.forensics.pdf_scans import scanned_page_images


def test_an_edited_scan_in_a_pdf_stores_the_edited_jpeg_byte_for_byte(shared_data: Path) -> None:
    source = shared_data / "invoice2data" / "FlipkartInvoice.pdf"
    (scan,) = generate_scan_edit(source, random.Random(3))
    (in_pdf,) = generate_scan_edit_in_pdf(source, random.Random(3))
    assert (in_pdf.fraud_type, in_pdf.variant, in_pdf.filename) == (
        "scan_edit",
        "in_pdf",
        "FlipkartInvoice.scan_edit_in_pdf.pdf",
    )
    assert in_pdf.data.startswith(b"%PDF") and scanned_page_images(in_pdf.data, [1]) == {1: scan.data}
    assert scan.region is not None and in_pdf.region == pytest.approx([v * 72 / SCAN_DPI for v in scan.region])


def test_the_fraud_suite_gets_the_scan_in_a_pdf_last(shared_data: Path) -> None:
    """Drawn after the others, so their cases for a seed are what they were before it existed."""
    cases = generate(shared_data / "invoice2data" / "FlipkartInvoice.pdf", random.Random(5))
    assert [(c.fraud_type, c.variant) for c in cases] == [
        ("pdf_incremental_edit", None),
        ("pdf_overlay_edit", None),
        ("scan_edit", None),
        ("scan_edit", "in_pdf"),
    ]


def test_a_copy_moved_digit_is_cloned_from_the_page_in_line_with_the_others(shared_data: Path) -> None:
    """The probe's edit leaves no retyped glyph: the cloned digit is as tall as the ones beside it."""
    (case,) = generate_scan_copy_move(shared_data / "invoice2data" / "NetpresseInvoice.pdf", random.Random(1))
    old, new = str(case.detail["old"]), str(case.detail["new"])
    assert case.fraud_type == "scan_copy_move" and len(new) == len(old) and new[1:] == old[1:]
    assert new[0] not in (old[0], "0")
    assert case.region is not None
    x0, top, x1, bottom = case.region
    grey = load_grey(case.data)
    digit = odd_digit(grey, (x0 + 1, top, x1 + 3 * (x1 - x0), bottom), new)
    assert digit is not None and digit.deviation < 0.1
