"""The tokens forgers change, as OCR and text layers print them."""

from __future__ import annotations

import pytest

from shared.forensics.tokens import (
    as_digits,
    glued_words_dropped,
    is_amount,
    is_key_token,
    is_number_piece,
    scan_targets,
)


@pytest.mark.parametrize(
    "text",
    [
        *("1.234,56", "1,234.56", "€117,97", "(12.00)", "EUR129,87", "129,87EUR", "USD-12.00", "99,99;"),
        *("₹619.00", "¥1,200.00", "-€5,00", "RM16.20", "Rs.619.00"),  # signs and abbreviations joined by OCR
        *("USt:971,04", "Total:RM12.00", "Amount Due:1,481.12"),  # a label joined by OCR
    ],
)
def test_amounts_as_printed(text: str) -> None:
    assert is_amount(text)


@pytest.mark.parametrize(
    "text",
    ["2022", "7,0", "EUR", "ABCD12,00", "X129,87", "01.10.2018", "+49", "10:19", "12:30.50", "A1:12.00", "Total:"],
)
def test_not_amounts(text: str) -> None:
    assert not is_amount(text)


@pytest.mark.parametrize(
    ("read", "number"),
    [
        ("EUR629,87wird", "EUR629,87"),
        ("USt:971,04", "971,04"),
        ("Total:12,00EUR", "12,00"),
        ("871,04", "871,04"),
        ("Rechnung", "Rechnung"),
        ("A1wird", "A1wird"),  # one digit before the letters: a code, not a number with a word
    ],
)
def test_words_ocr_read_with_a_number_are_dropped(read: str, number: str) -> None:
    assert glued_words_dropped(read) == number


def test_iban_parts_are_key_tokens_and_scored_first() -> None:
    texts = ["Page", "2", "DE89370400440532013000", "3704", "0044", "1,481.12", "2022"]
    assert is_key_token("DE89370400440532013000") and not is_key_token("3704")
    assert scan_targets(texts, 3) == [2, 5, 1]


@pytest.mark.parametrize("text", ["€g17,97", "1O2,50", "4S,00", "l29.99"])
def test_an_amount_ocr_misread_by_one_digit_is_a_key_token(text: str) -> None:
    """A digit retyped in another font is often read as its look-alike letter."""
    assert is_key_token(text) and not is_amount(text)


@pytest.mark.parametrize(("text", "measured"), [("€g17,97", "€917,97"), ("1O2,50", "102,50"), ("l29.99", "129.99")])
def test_a_misread_amount_is_measured_as_its_digits(text: str, measured: str) -> None:
    """The retyped digit OCR read as a letter is the one to measure, so it is measured as a digit."""
    assert as_digits(text) == measured and is_amount(as_digits(text))


@pytest.mark.parametrize("text", ["Bio", "SO,OO", "g1,OO", "Total:", "lg.12", "2022", "1,481.12"])
def test_other_words_are_measured_as_read(text: str) -> None:
    assert as_digits(text) == text


@pytest.mark.parametrize("text", ["Bio", "SO,OO", "g1,OO", "Total:", "lg.12", "o.5O"])
def test_words_with_lookalike_letters_are_not_key_tokens(text: str) -> None:
    assert not is_key_token(text)


@pytest.mark.parametrize("text", ["729,87wird", "4.60SR", "1.15KG"])
def test_an_amount_ocr_read_with_the_next_word_is_a_key_token(text: str) -> None:
    """OCR missed the space after the cents; not an amount for measuring (the box holds the word too)."""
    assert is_key_token(text) and not is_amount(text)


@pytest.mark.parametrize("text", ["2020ab", "12,5kg", "Nr.12wird", "3RD"])
def test_numbers_glued_to_words_without_cents_are_not_key_tokens(text: str) -> None:
    assert not is_key_token(text)


@pytest.mark.parametrize(
    ("text", "piece"),
    [
        ("6", True),
        ("€6", True),
        ("7.", True),
        ("(12", True),
        ("S", True),
        ("MwSt.-%19,0,", False),
        ("Z2G  - s 014", False),
        ("x2", False),
        ("", False),
    ],
)
def test_pieces_of_a_number(text: str, piece: bool) -> None:
    """What may be a retyped digit OCR read apart from its amount: digits (or their look-alike letters) with a
    number's punctuation and signs only."""
    assert is_number_piece(text) is piece
