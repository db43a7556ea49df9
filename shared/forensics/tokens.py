"""The tokens forgers change: amounts and bank account numbers, as printed."""

from __future__ import annotations

import re

CURRENCY_SIGNS = "€$£¥₹"  # printed before or after an amount, often read as one word with it
MONEY = re.compile(
    rf"^[-(]?[{CURRENCY_SIGNS}]?\d{{1,3}}(?:[.,' \u202f]?\d{{3}})*[.,]\d{{2}}[)]?$"
    rf"|^[-(]?[{CURRENCY_SIGNS}]?\d+[.,]\d{{2}}[)]?$"
)
IBAN_PART = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{2,}$")
# An ISO code or a local abbreviation (ringgit, rupees) joined to the amount: "EUR129,87", "129,87EUR", "RM16.20".
CURRENCY_CODE = re.compile(r"^(?:[A-Z]{3}|RM|Rs\.?)(?=[-(\d])|(?<=[\d)])[A-Z]{3}$")
# A label OCR read as one word with its amount: "USt:971,04", "Total:RM12.00" (letters, then a colon).
GLUED_LABEL = re.compile(r"^[^\W\d_][^\W\d]*(?:[ .\-][^\W\d]+)*\.?:")
# The next word OCR read as one with the amount, no space between: "729,87wird" (letters after the cents).
GLUED_WORD = re.compile(r"(?<=\d\d)[^\W\d_]{2,}$")
DIGIT = re.compile(r"\d")
# Letters OCR reads for digits printed in an unexpected font (a retyped "9" read as "g"): a word with
# one of them reads as an amount once it is taken for its digit, "€g17,97" -> "€917,97".
LOOKALIKE_LETTERS = "gqOoDlI|SBZ"
DIGIT_LOOKALIKES = str.maketrans(LOOKALIKE_LETTERS, "99000111582")
NOT_DIGIT = re.compile(r"\D")
NUMBER_PUNCTUATION = re.compile(rf"[{CURRENCY_SIGNS}.,'()\-+\s]")


def digits(text: str) -> str:
    """The digits of ``text`` in order: what a number reads as whatever its separators and signs."""
    return NOT_DIGIT.sub("", text)


def is_amount(text: str) -> bool:
    bare = CURRENCY_CODE.sub("", GLUED_LABEL.sub("", text.strip()))
    return MONEY.match(bare.strip(CURRENCY_SIGNS).rstrip(",;:")) is not None


def glued_words_dropped(text: str) -> str:
    """``text`` without the label before it (``GLUED_LABEL``) or the word after it (``GLUED_WORD``) that
    OCR read as one word with a number: "USt:971,04" -> "971,04", "EUR629,87wird" -> "EUR629,87"."""
    return GLUED_WORD.sub("", GLUED_LABEL.sub("", text.strip()))


def is_key_token(text: str) -> bool:
    """An amount, one OCR read with the next word (``GLUED_WORD``) or misread by a single digit
    (``DIGIT_LOOKALIKES``), or the start of an IBAN (OCR and text layers split IBANs in groups of four)."""
    text = text.strip()
    return (
        is_amount(glued_words_dropped(text))
        or _misread_amount(text)
        or IBAN_PART.match(text) is not None
    )


def is_number_piece(text: str) -> bool:
    """Digits OCR read apart from the rest of their number ("6" beside "127.50", "7" beside ".904,94"):
    digits, or a digit's look-alike letter, with a number's punctuation and currency signs and nothing else.
    A label with its percentage ("MwSt.-%19,0,") or a line of vertical print is not one."""
    core = NUMBER_PUNCTUATION.sub("", text).translate(DIGIT_LOOKALIKES)
    return bool(core) and NOT_DIGIT.search(core) is None


def as_digits(text: str) -> str:
    """``text`` with its look-alike letter taken for its digit when it is a misread amount
    (``_misread_amount``): the digits a forger may have retyped are measured as digits ("€g17,97" is
    measured as "€917,97"); any other text unchanged."""
    return text.translate(DIGIT_LOOKALIKES) if _misread_amount(text.strip()) else text


def _misread_amount(text: str) -> bool:
    """An amount with one of its digits read as a look-alike letter; the other digits are read as digits
    (at least two), so words and codes do not become amounts."""
    lookalikes = sum(char in LOOKALIKE_LETTERS for char in text)
    return lookalikes == 1 and len(digits(text)) >= 2 and is_amount(text.translate(DIGIT_LOOKALIKES))


def scan_targets(texts: list[str], limit: int) -> list[int]:
    """Indexes of the words of a scanned page to score for edits, at most ``limit``: amounts and IBAN
    parts first, then every other word with a digit. OCR often misreads a retyped amount (another
    font, a digit set apart from the rest), so what it reads there need not look like an amount."""
    keys = [i for i, text in enumerate(texts) if is_key_token(text)]
    chosen = set(keys)
    others = [i for i, text in enumerate(texts) if i not in chosen and DIGIT.search(text)]
    return (keys + others)[:limit]
