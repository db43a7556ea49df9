"""Printed text vs the record's normalised values, per kind of field: does this text show that value,
what value does this text show, and what does such a value look like (its shape, a regex)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from shared.domain import DATE_FIELDS, MONEY_FIELDS
from shared.domain.models import decimal_to_str, parse_decimal
from shared.extraction.normalize import compact, currency_from_token, find_dates, parse_amount

REFERENCE_FIELDS = frozenset({"invoice_number", "po_number"})
CODE_FIELDS = frozenset({"vendor_vat_id", "iban", "bic"})
NAME_FIELDS = frozenset({"vendor_name", "buyer_name", "vendor_address"})

_LABEL_PREFIX = re.compile(r"^.*[:#]\s*")  # "Nr.:471102" -> "471102"
_SHAPE_TOKEN = re.compile(r"\d+|[^\W\d_]+|\s+|.")
_AMOUNT_CORE = re.compile(r"\d(?:[\d.,' \u00a0\u202f]*\d)?")
_PUNCT = re.compile(r"[^\w]+|_")


@dataclass(frozen=True)
class Reading:
    """How a printed text shows a value: the date convention or sign that reading needed."""

    day_first: bool | None = None
    negate: bool = False


def value_part(name: str, text: str) -> str:
    """The part of a printed run that is the value: references drop a glued label ("Nr.:4711")."""
    text = " ".join(text.split())
    if name in REFERENCE_FIELDS:
        text = _LABEL_PREFIX.sub("", text).strip(" ,;()")
    return text


def _name_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace(".", ""))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(_PUNCT.sub(" ", plain).split())


def _reference_key(text: str) -> str:
    return "".join(text.split()).lstrip("#").casefold()


def _date_in(text: str, day_first: bool | None) -> date | None:
    """A date that is (nearly) the whole text, not one inside a longer phrase."""
    found = find_dates(text, day_first=day_first)
    if len(found) != 1:
        return None
    value, start, end = found[0]
    rest = (text[:start] + text[end:]).strip(" ,.;:()")
    return value if not rest else None


def read_value(name: str, text: str, reading: Reading = Reading()) -> str | None:
    """The normalised value (LABELS.md form) this printed text shows for field ``name``, or None."""
    text = value_part(name, text)
    if not text:
        return None
    if name in DATE_FIELDS:
        found = _date_in(text, reading.day_first)
        return found.isoformat() if found else None
    if name in MONEY_FIELDS:
        amount = parse_amount(text)
        if amount is None:
            return None
        return decimal_to_str(-amount if reading.negate else amount)
    if name in REFERENCE_FIELDS:
        token = text.lstrip("#").strip()
        return token if any(ch.isdigit() for ch in token) else None
    if name in CODE_FIELDS:
        return compact(text)
    if name == "currency":
        return currency_from_token(text)
    return text


def shows(name: str, text: str, value: str) -> Reading | None:
    """How ``text`` shows ``value`` for field ``name``, or None when it does not."""
    text = value_part(name, text)
    if not text:
        return None
    if name in DATE_FIELDS:
        for day_first in (True, False):
            found = _date_in(text, day_first)
            if found is not None and found.isoformat() == value:
                return Reading(day_first=day_first)
        return None
    if name in MONEY_FIELDS:
        amount, wanted = parse_amount(text), parse_decimal(value)
        if amount is None or wanted is None:
            return None
        if amount == wanted:
            return Reading()
        return Reading(negate=True) if amount == -wanted and wanted else None
    if name in REFERENCE_FIELDS:
        return Reading() if _reference_key(text) == _reference_key(value) else None
    if name in CODE_FIELDS:
        return Reading() if compact(text) == compact(value) else None
    if name == "currency":
        return Reading() if currency_from_token(text) == value.upper() else None
    return Reading() if _name_key(text) == _name_key(value) else None


def shape_of(name: str, text: str) -> str | None:
    """A regex for values printed like ``text``: digit runs keep their length (dates: 1-2 digits for
    day/month; references: +-1), letters their case, punctuation itself; amounts keep the decimal
    mark and decimals but not the size. Names have no shape."""
    text = value_part(name, text)
    if name in NAME_FIELDS or name == "currency" or not text:
        return None
    if name in MONEY_FIELDS:
        return _amount_shape(text)
    parts: list[str] = []
    for token in _SHAPE_TOKEN.findall(text):
        if token.isdigit():
            parts.append(_digits(name, len(token)))
        elif token.isalpha():
            parts.append(_letters(name, token))
        elif token.isspace():
            parts.append(r"\s*")
        else:
            parts.append(re.escape(token))
    return "".join(parts)


def _digits(name: str, count: int) -> str:
    if name in DATE_FIELDS:
        return r"\d{1,2}" if count <= 2 else rf"\d{{{count}}}"
    if name in REFERENCE_FIELDS:
        return rf"\d{{{max(1, count - 1)},{count + 1}}}"
    return rf"\d{{{count}}}"


def _letters(name: str, token: str) -> str:
    if name in DATE_FIELDS:
        return r"[^\W\d_]+"  # a month name
    if token.isupper():
        return rf"[A-Z]{{{len(token)}}}"
    if token.islower():
        return rf"[a-z]{{{len(token)}}}"
    return rf"[A-Za-z]{{{len(token)}}}"


def _amount_shape(text: str) -> str:
    core = _AMOUNT_CORE.search(text)
    if core is None:
        return re.escape(text)
    number = core.group()
    tail = re.search(r"([.,])(\d{1,3})$", number)
    decimals = rf"\{tail.group(1)}\d{{{len(tail.group(2))}}}" if tail and len(tail.group(2)) != 3 else ""
    body = r"\d{1,3}(?:[.,'\s]?\d{3})*" + decimals
    affix = r"[^\d\s]{0,4}\s*"
    return rf"[(\-−+]?\s*{affix}[\-−]?{body}\s*{affix}[)\-−]?"


def matches_shape(shape: str | None, name: str, text: str) -> bool:
    return shape is None or re.fullmatch(shape, value_part(name, text)) is not None


def same_value(name: str, a: str, b: str) -> bool:
    """Two normalised values of field ``name`` are the same."""
    if name in MONEY_FIELDS:
        left, right = parse_decimal(a), parse_decimal(b)
        return left is not None and left == right
    if name in CODE_FIELDS or name == "currency":
        return compact(a) == compact(b)
    if name in REFERENCE_FIELDS:
        return _reference_key(a) == _reference_key(b)
    if name in NAME_FIELDS:
        return _name_key(a) == _name_key(b)
    return a.strip() == b.strip()
