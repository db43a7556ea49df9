"""odd_digit on printed numbers made like scans: drawn, blurred, noised and JPEG-compressed."""

from __future__ import annotations

import numpy as np
import pytest

from shared.forensics.glyphs import odd_digit
from shared.forensics.image import Box, load_grey
from tests.shared.forensics.scans import number_scan


def scanned(text: str, *, retyped: tuple[int, float, int] | None = None, ink: int = 30) -> tuple[np.ndarray, Box]:
    data, box = number_scan(text, retyped=retyped, ink=ink)
    return load_grey(data), box


@pytest.mark.parametrize("text", ["871,04", "1.234,50", "99.99", "4,23"])
def test_the_digits_of_an_untouched_number_line_up(text: str) -> None:
    grey, box = scanned(text)
    digit = odd_digit(grey, box, text)
    assert digit is not None
    assert digit.deviation < 0.08
    assert 17 < digit.others_height < 22


def test_a_retyped_first_digit_in_a_smaller_font_stands_out() -> None:
    grey, box = scanned("871,04", retyped=(0, 0.8, 3))
    digit = odd_digit(grey, box, "871,04")
    assert digit is not None
    assert digit.index == 0
    assert digit.deviation > 0.15
    assert digit.spread < 0.05
    assert digit.height < digit.others_height - 2
    assert digit.box[0] < box[0] + 15  # the box drawn on the page is the first digit's


def test_a_retyped_digit_in_the_middle_is_found_where_it_is() -> None:
    grey, box = scanned("1.234,50", retyped=(3, 0.78, 4))
    digit = odd_digit(grey, box, "1.234,50")
    assert digit is not None and digit.index == 2 and digit.deviation > 0.15


@pytest.mark.parametrize(
    ("text", "why"),
    [("12", "too few digits to compare"), ("8,5", "too few digits to compare")],
)
def test_numbers_with_fewer_than_three_digits_are_not_measured(text: str, why: str) -> None:
    grey, box = scanned(text)
    assert odd_digit(grey, box, text) is None, why


def test_faint_print_is_not_measured() -> None:
    grey, box = scanned("871,04", ink=205)
    assert odd_digit(grey, box, "871,04") is None


def test_a_box_that_does_not_hold_the_number_read_is_not_measured() -> None:
    """OCR read five digits; the box shows six shapes (or the reverse): no digit-by-digit comparison."""
    grey, box = scanned("871,04")
    assert odd_digit(grey, box, "871,045") is None


def test_tiny_print_is_not_measured() -> None:
    grey, box = scanned("871,04")
    x0, top, x1, _ = box
    assert odd_digit(grey[::3, ::3], (x0 / 3, top / 3, x1 / 3, top / 3 + 7), "871,04") is None


@pytest.mark.parametrize("text", ["$871.04", "(871,04)", "871,04 EUR", "€871"])
def test_numbers_with_signs_taller_than_digits_are_not_measured(text: str) -> None:
    """A '$' or '(' is taller than the digits: in the box it would look like an odd digit."""
    grey, box = scanned(text)
    assert odd_digit(grey, box, text) is None
