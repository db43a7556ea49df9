"""odd_digit on printed numbers made like scans: drawn, blurred, noised and JPEG-compressed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

from shared.forensics.glyphs import INK_MARGIN, measure_number, moved_to_glyphs, odd_digit, widened_to_glyphs
from shared.forensics.image import Box, load_grey
from tests.shared.forensics.scans import SIZE, comma_tail_scan, number_scan


def scanned(
    text: str, *, retyped: tuple[int, float, int] | None = None, ink: int = 30, retyped_ink: int | None = None
) -> tuple[np.ndarray, Box]:
    data, box = number_scan(text, retyped=retyped, ink=ink, retyped_ink=retyped_ink)
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


def test_a_retyped_digit_fainter_than_its_neighbours_is_still_measured() -> None:
    """Typed in a lighter grey (or a thinner font that the scan's blur greys out), the new digit is
    under half the number's contrast: it is looked for again at a lower level instead of the number
    going unmeasured."""
    grey, box = scanned("871,04", retyped=(0, 0.75, 3), retyped_ink=150)
    digit = odd_digit(grey, box, "871,04")
    assert digit is not None
    assert digit.index == 0 and digit.deviation > 0.15 and digit.spread < 0.05


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


@pytest.mark.parametrize("text", ["(871,04)", "871,04 EUR", "$871.04$"])
def test_numbers_with_other_marks_are_not_measured(text: str) -> None:
    """A '(' is taller than the digits, and OCR's box may hold one its text does not: not measured."""
    grey, box = scanned(text)
    assert odd_digit(grey, box, text) is None


@pytest.mark.parametrize("text", ["$871.04", "€871", "871,04€", "EUR871,04", "871,04EUR"])
def test_a_currency_sign_read_with_the_number_is_left_out(text: str) -> None:
    """OCR reads "€117,97" or "EUR929,87" as one word: the sign's or code's shapes are not digits."""
    grey, box = scanned(text)
    digit = odd_digit(grey, box, text)
    assert digit is not None and digit.deviation < 0.05


@pytest.mark.parametrize(("text", "retyped"), [("€871,04", 1), ("EUR871,04", 3)])
def test_a_retyped_digit_after_a_currency_sign_is_found(text: str, retyped: int) -> None:
    data, box = number_scan(text, retyped=(retyped, 0.8, 3))
    digit = odd_digit(load_grey(data), box, text)
    assert digit is not None and digit.index == 0 and digit.deviation > 0.15


@pytest.mark.parametrize(
    ("printed", "read", "retyped"),
    [("EUR 871,04 wird", "EUR871,04wird", 4), ("USt: 871,04", "USt:871,04", 5), ("871,04 wird", "871,04wird", 0)],
)
def test_a_number_read_as_one_word_with_a_label_or_the_next_word_is_measured_without_them(
    printed: str, read: str, retyped: int
) -> None:
    """OCR reads "EUR 629,87 wird" as the one word "EUR629,87wird": the number is measured between the spaces."""
    grey, box = scanned(printed)
    untouched = odd_digit(grey, box, read)
    assert untouched is not None and untouched.deviation < 0.05
    grey, box = scanned(printed, retyped=(retyped, 0.8, 3))
    digit = odd_digit(grey, box, read)
    assert digit is not None and digit.index == 0 and digit.deviation > 0.15


def test_a_word_glued_to_a_number_without_a_space_is_not_measured() -> None:
    """No space to cut at: the letters' shapes cannot be told from the digits'."""
    grey, box = scanned("871,04wird")
    assert odd_digit(grey, box, "871,04wird") is None


def test_a_digit_retyped_a_third_smaller_beside_a_tall_sign_is_measured() -> None:
    """The "$" outgrows the digits: a digit two thirds their height is still a digit, not a comma."""
    data, box = number_scan("$579.84", retyped=(1, 0.68, 4))
    digit = odd_digit(load_grey(data), box, "$579.84")
    assert digit is not None and digit.index == 0 and digit.deviation > 0.25


def test_digits_the_blur_joined_are_split_and_measured() -> None:
    """Tight type and a soft scan join neighbouring digits into one ink shape; each is still measured."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    from shared.forensics.glyphs import _digit_shapes, measure_number

    page = Image.new("L", (300, 80), 235)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=26)
    x = 40.0
    for char in "904,94":
        draw.text((x, 25), char, fill=30, font=font)
        x += draw.textlength(char, font=font) - 1.5  # tighter than the font's own spacing
    grey = np.asarray(page.filter(ImageFilter.GaussianBlur(0.6)))
    box = (38.0, 25.0, x + 4, 52.0)
    ink = np.clip((235 - grey[19:59, 36:].astype(np.float32)) / 205, 0, 1)
    assert len(_digit_shapes(ink)) < 5  # joined
    number = measure_number(grey, box, "904,94")
    assert number is not None and len(number.heights) == 5
    assert float(np.ptp(number.heights)) < 0.5 and float(np.ptp(number.bottoms)) < 0.5


def test_a_wide_shape_among_specks_is_left_whole() -> None:
    """When the other shapes are specks a pixel wide (a comma, noise), a digit's width cannot be told:
    the cuts would fall on one another, so nothing is split (and the page is still checked)."""
    from shared.forensics.glyphs import _split_touching

    ink = np.zeros((20, 40), dtype=np.float32)
    ink[5:15, 10:20] = 1.0
    shapes = [(0, 1, 5, 15), (3, 4, 5, 15), (10, 20, 5, 15)]
    assert _split_touching(ink, shapes, 12) == shapes


def _first_digit_cut_off(text: str) -> tuple[np.ndarray, Box, Box]:
    """The scan, the number's whole box, and a box that starts right after its first digit, as OCR's
    character-position split can put it."""
    grey, box = scanned(text)
    x0, top, x1, bottom = box
    columns = np.flatnonzero((grey[int(top) : int(bottom), int(x0) : int(x1)] < 120).any(axis=0)) + int(x0)
    first_right = int(columns[np.flatnonzero(np.diff(columns) > 1)[0]])  # the first gap between glyphs
    return grey, box, (first_right + 3.0, top, x1, bottom)


def test_a_glyph_ocr_left_outside_the_box_is_taken_back_in() -> None:
    grey, box, cut = _first_digit_cut_off("871,04")
    left, _, right, _ = widened_to_glyphs(grey, cut, 0.0, float(grey.shape[1]))
    assert box[0] - 2 <= left <= box[0] + 2  # the "8" is in again
    assert right == pytest.approx(box[2], abs=2)  # nothing past the number on the right
    assert odd_digit(grey, (left, box[1], right, box[3]), "871,04") is not None


def test_a_box_is_not_widened_past_its_neighbour() -> None:
    grey, box, cut = _first_digit_cut_off("871,04")
    assert widened_to_glyphs(grey, cut, box[0] + 4, float(grey.shape[1])) == cut  # the "8" is a neighbour's


def test_a_rule_beside_a_number_does_not_widen_its_box() -> None:
    scan, box = scanned("871,04")
    grey = scan.copy()
    x0, top, _, bottom = box
    rule = int(x0) - 5
    grey[int(top) - 15 : int(bottom) + 15, rule - 1 : rule + 1] = 30  # a table's column rule, taller than the row
    assert widened_to_glyphs(grey, box, 0.0, float(grey.shape[1]))[0] >= x0 - 2


def test_a_wide_blot_beside_a_number_does_not_widen_its_box() -> None:
    """A shaded cell's noise or a filled bar is wider than any glyph of the row: not part of the word."""
    scan, box = scanned("871,04")
    grey = scan.copy()
    x0, top, _, bottom = box
    middle = int((top + bottom) / 2)
    grey[middle - 7 : middle + 7, int(x0) - 24 : int(x0) - 4] = 30  # 20 px wide, 14 tall
    assert widened_to_glyphs(grey, box, 0.0, float(grey.shape[1]))[0] >= x0 - 2


def _under_a_rule(text: str) -> tuple[np.ndarray, Box, Box]:
    """The scan of ``text`` with a rule printed over it (a total under its sum line), the number's box,
    and the box OCR can give it: on the rule and the gap under it, the glyphs below."""
    scan, box = scanned(text)
    grey = scan.copy()
    x0, top, x1, _ = box
    grey[int(top) - 9 : int(top) - 5, int(x0) - 6 : int(x1) + 6] = 30
    return grey, box, (x0, top - 12, x1, top - 1)


def test_a_box_on_the_rule_above_its_number_is_moved_onto_the_glyphs() -> None:
    grey, box, on_rule = _under_a_rule("117,97")
    _, top, _, bottom = moved_to_glyphs(grey, on_rule, box[3] - box[1])
    assert abs(top - box[1]) <= 3 and abs(bottom - box[3]) <= 3


def test_a_box_holding_its_glyphs_is_not_moved() -> None:
    grey, box, _ = _under_a_rule("117,97")
    assert moved_to_glyphs(grey, box, box[3] - box[1]) == box


def test_a_box_is_not_moved_to_glyphs_beyond_a_word_height() -> None:
    grey, _, on_rule = _under_a_rule("117,97")
    far = (on_rule[0], on_rule[1] - 20, on_rule[2], on_rule[3] - 20)  # blank paper, the number 30 px below
    assert moved_to_glyphs(grey, far, 10.0) == far


def test_a_box_on_a_rule_wider_than_its_number_moves_onto_the_glyphs_columns_too() -> None:
    """OCR's box on the rule takes the rule's columns, reaching past the number onto blank paper: a
    tile there, past the last glyph, measures paper and stray ink, not print."""
    grey, box, on_rule = _under_a_rule("117,97")
    x0, top, x1, _ = box
    grey[int(top) - 9 : int(top) - 5, int(x0) - 30 : int(x1) + 30] = 30  # a rule well past the number
    wide = (x0 - 30, on_rule[1], x1 + 30, on_rule[3])  # the rule's columns
    left, _, right, _ = moved_to_glyphs(grey, wide, box[3] - box[1])
    margin = INK_MARGIN * (box[3] - box[1]) + 3  # the glyphs' ink starts within a side bearing of the box
    assert x0 - margin <= left < x0 and x1 < right <= x1 + margin


def test_digits_broken_across_a_row_are_moved_onto_whole() -> None:
    """Grey print under a bold black label breaks across a row at half of the black's contrast (thin
    strokes fade first): the box must take the digits' full height, not the half nearest the rule."""
    grey, box, on_rule = _under_a_rule("117,97")
    x0, top, x1, bottom = box
    middle = int((top + bottom) / 2)
    grey[middle, int(x0) - 2 : int(x1) + 2] = int(np.percentile(grey, 90))  # the row where the strokes fade
    _, moved_top, _, moved_bottom = moved_to_glyphs(grey, on_rule, bottom - top)
    assert abs(moved_top - top) <= 3 and abs(moved_bottom - bottom) <= 3


def test_the_next_words_glyph_inside_the_box_is_left_out_where_a_space_sets_it_apart() -> None:
    """OCR's box can reach the side of the next word's first glyph ("39.99 €"): a space sets it apart
    from the digits, so the number is measured without it; a digit too many is not left out."""
    grey, box = scanned("39.99 E")
    reaching = (box[0], box[1], 40 + ImageFont.load_default(size=SIZE).getlength("39.99 ") + 4, box[3])
    digit = odd_digit(grey, reaching, "39.99")
    assert digit is not None and digit.deviation < 0.08
    grey, box = scanned("39.991")
    assert odd_digit(grey, box, "39.99") is None


def test_a_comma_curling_under_a_digit_does_not_make_it_faint() -> None:
    """The comma's tail under the 5 joins it at the lower edge level: the 5's edges then disagree
    between the two levels, as broken ink's do. Measured without the comma's columns, it lines up."""
    data, box = comma_tail_scan()
    number = measure_number(load_grey(data), box, "235,62")
    assert number is not None
    assert float(np.ptp(number.heights)) < 1.0 and float(np.ptp(number.bottoms)) < 1.0


def test_grey_digits_between_black_rules_are_measured_at_their_own_contrast() -> None:
    """A total printed in grey in a cell ruled in black: against the rules' black the digits are under
    half contrast and break apart; the rules are not the word's ink."""
    grey, box = scanned("29.99", ink=140)
    grey = grey.copy()
    x0, top, x1, bottom = (int(v) for v in box)
    grey[top - 8 : top - 4, x0 - 10 : x1 + 10] = 0
    grey[bottom + 4 : bottom + 8, x0 - 10 : x1 + 10] = 0
    cell = (box[0], box[1] - 8, box[2], box[3] + 8)  # OCR's box over the cell's height
    digit = odd_digit(grey, cell, "29.99")
    assert digit is not None and digit.deviation < 0.08


def test_a_worn_digits_broken_stroke_is_not_taken_for_a_mark(shared_data: Path) -> None:
    """SROIE receipt 219: the 4 of "34.80" is printed in broken dots, its stem's foot a piece of its own
    under it. That piece lies within the 4's columns, so it is the 4's ink, not a comma beside it: the
    4's edges still disagree between the levels and the number is not measured (measured without the
    foot's columns, the 4 read 20.5 px tall against 28.9 and a clean receipt was flagged)."""
    grey = load_grey((shared_data / "sroie" / "219.jpg").read_bytes())
    box = (599.4, 1292.2, 682.7, 1343.1)  # the product's OCR box for "34.80", as the check widens it
    assert measure_number(grey, box, "34.80") is None
