"""Locale-aware parsing of what invoices print: amounts, dates, IBANs, VAT ids, currencies.

Everything here is pure and total: a parser returns ``None`` for text it does not recognise rather
than raising, so the extractor can try many candidates cheaply.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation

from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat

from shared.domain.currencies import is_iso4217

# ---------------------------------------------------------------------------------------------- amounts

# Currency marks that may stick to an amount ("€12,00", "12.00 EUR", "Rs.1939", "US$ 5").
_CURRENCY_AFFIX = re.compile(r"(?i)(?:[A-Z]{3}\b|US\$|[A-Z]{1,2}\$|rs\.?|rm|kr\.?|fr\.|chf|zł|kč|ft|[€$£¥₹₽₩₺₪₫฿])")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
# Digits with optional grouping; validated strictly below so dates and ids are not read as money.
_NUMBER = re.compile(r"^\d{1,3}(?:[.,' ]\d{3})*(?:[.,]\d+)?$|^\d+(?:[.,]\d+)?$")
_MINUS = "-\u2212\u2013"


def parse_amount(text: str) -> Decimal | None:
    """A money amount as printed in any of the usual locales, or None.

    Handles "1.234,56", "1,234.56", "1 234,56", "1'234.56", "€ 12,00", "12.00-", "(12.00)",
    "USD 1,000", "-5,00 €". Percentages and dates are not amounts.
    """
    raw = text.strip()
    if not raw or "%" in raw or not any(ch.isdigit() for ch in raw):
        return None
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1].strip()
    raw = _strip_currency(raw)
    if raw and raw[0] in _MINUS:
        negative, raw = True, raw[1:].strip()
    elif raw and raw[-1] in _MINUS:
        negative, raw = True, raw[:-1].strip()
    elif raw.startswith("+"):
        raw = raw[1:].strip()
    raw = _strip_currency(raw)  # "- € 5,00" / "€ -5,00"
    if raw and raw[0] in _MINUS:
        negative, raw = True, raw[1:].strip()
    raw = _SPACES.sub(" ", raw)
    if not _NUMBER.match(raw):
        return None
    value = _to_decimal(raw)
    if value is None:
        return None
    return -value if negative else value


def _strip_currency(raw: str) -> str:
    prev = None
    while prev != raw:
        prev = raw
        match = _CURRENCY_AFFIX.match(raw)
        if match and not raw[: match.end()].isdigit():
            raw = raw[match.end() :].strip()
        match = re.search(_CURRENCY_AFFIX.pattern + r"$", raw)
        if match and match.start() > 0:
            raw = raw[: match.start()].strip()
    return raw


def _to_decimal(raw: str) -> Decimal | None:
    body = raw.replace(" ", "").replace("'", "")
    last_dot, last_comma = body.rfind("."), body.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_mark = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        head, _, tail = body.rpartition(mark)
        # One mark followed by exactly three digits is a thousands separator ("1.234", "12,000"),
        # unless the integer part is 0 ("0.125"); repeated marks are always grouping.
        grouping = body.count(mark) > 1 or (len(tail) == 3 and head.lstrip("0") != "")
        decimal_mark = "" if grouping else mark
    else:
        decimal_mark = ""
    thousands = {".", ","} - {decimal_mark}
    for sep in thousands:
        body = body.replace(sep, "")
    if decimal_mark:
        integer, _, fraction = body.rpartition(decimal_mark)
        if decimal_mark in integer:
            return None
        body = f"{integer or '0'}.{fraction}"
    try:
        return Decimal(body)
    except InvalidOperation:
        return None


# ------------------------------------------------------------------------------------------------ dates

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar janner janv janvier januari enero ene gennaio gen",
        "february feb februar fevrier fevr fev februari febrero febbraio",
        "march mar marz maerz mars maart mrt marzo",
        "april apr avril avr abril abr aprile",
        "may mai mei mayo maggio mag",
        "june jun juni juin junio giugno giu",
        "july jul juli juillet juil julio luglio lug",
        "august aug aout augustus agosto ago",
        "september sep sept septembre septiembre setiembre settembre set",
        "october oct oktober octobre okt octubre ottobre ott",
        "november nov novembre noviembre",
        "december dec dezember dez decembre diciembre dic dicembre",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_MONTH_WORD = r"(?P<month>[a-z]{3,10})\.?"
# A till prints its time right after the year; OCR may lose the space between ("05/Apr/201812:49:11").
_YEAR = r"(?P<year>\d{4}|\d{2})(?:(?=\d{1,2}:\d\d)|(?!\d))"
# "20. März 2023", "20 mars 2023", "20-mrt-2023", "1er juillet 2015", "3 de marzo de 2023"
_DAY_MONTH_YEAR = re.compile(
    r"(?<!\d)(?P<day>\d{1,2})(?:st|nd|rd|th|er|e|º|°)?\.?\s*[-/ ]?\s*(?:de\s+)?"
    + _MONTH_WORD
    + r"\s*[-/ ,]?\s*(?:de(?:l)?\s+)?"
    + _YEAR
)
# "March 20, 2023", "Jan 1, 2022", "August 3 , 2014"
_MONTH_DAY_YEAR = re.compile(_MONTH_WORD + r"\s*(?P<day>\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(?P<year>\d{4})(?!\d)")
# "2018 May 04", "2018-Mar-12": the year first, as some Asian tills print it
_YEAR_MONTH_DAY = re.compile(r"(?<!\d)(?P<year>\d{4})\s*[-/ ]\s*" + _MONTH_WORD + r"\s*[-/ ]\s*(?P<day>\d{1,2})(?!\d)")
_TWO_DIGITS = re.compile(r"\d\d")
_ISO_DATE = re.compile(r"(?<!\d)(?P<year>\d{4})(?P<sep>[-/.])(?P<a>\d{1,2})(?P=sep)(?P<b>\d{1,2})(?!\d)")
_NUMERIC_DATE = re.compile(
    r"(?<![\d.,])(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})(?:(?=\d{1,2}:\d\d)|(?!\d|[.,]\d))"
)


def _fold(text: str) -> str:
    """Lower case without accents, so "März", "février" and "août" match plain month names."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _year(text: str) -> int:
    value = int(text)
    if len(text) == 2:
        value += 2000 if value < 70 else 1900
    return value


def _make_date(year: int, month: int, day: int) -> date | None:
    if not 1900 <= year <= 2100:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def find_dates(text: str, *, day_first: bool | None = None) -> list[tuple[date, int, int]]:
    """Every date in ``text`` as (date, start, end), in text order; overlapping readings dropped."""
    if not _TWO_DIGITS.search(text):
        return []  # every date form has a year of two or four digits
    folded = _fold(text)
    found: list[tuple[date, int, int]] = []
    for match in _ISO_DATE.finditer(folded):
        value = _make_date(int(match["year"]), int(match["a"]), int(match["b"]))
        if value:
            found.append((value, match.start(), match.end()))
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR, _YEAR_MONTH_DAY):
        for match in pattern.finditer(folded):
            month = _MONTHS.get(match["month"])
            if month is None:
                continue
            value = _make_date(_year(match["year"]), month, int(match["day"]))
            if value:
                found.append((value, match.start(), match.end()))
    for match in _NUMERIC_DATE.finditer(folded):
        value = _numeric_date(int(match["a"]), int(match["b"]), _year(match["year"]), day_first)
        if value:
            found.append((value, match.start(), match.end()))
    found.sort(key=lambda item: (item[1], -(item[2] - item[1])))
    kept: list[tuple[date, int, int]] = []
    for item in found:
        if not kept or item[1] >= kept[-1][2]:
            kept.append(item)
    return kept


def _numeric_date(a: int, b: int, year: int, day_first: bool | None) -> date | None:
    if a > 12 and b <= 12:
        return _make_date(year, b, a)
    if b > 12 and a <= 12:
        return _make_date(year, a, b)
    # Ambiguous (both <= 12): the document's own convention, else day-first like most of the world.
    if day_first is False:
        return _make_date(year, a, b)
    return _make_date(year, b, a)


def parse_date(text: str, *, day_first: bool | None = None) -> date | None:
    """The first date in ``text``: numeric ("20/03/2023", "03/20/2023", "2023-03-20", "8-9-22") or
    with a month name in EN/DE/FR/NL/ES/IT ("20. März 2023", "March 20, 2023", "20-mrt-2023")."""
    dates = find_dates(text, day_first=day_first)
    return dates[0][0] if dates else None


def detect_day_first(texts: Iterable[str]) -> bool | None:
    """Day-first (True) or month-first (False) from the unambiguous numeric dates in ``texts``
    ("20/03/2023" votes day-first, "03/20/2023" month-first); None when nothing decides."""
    votes: Counter[bool] = Counter()
    for text in texts:
        for match in _NUMERIC_DATE.finditer(_fold(text)):
            a, b = int(match["a"]), int(match["b"])
            if a > 12 and b <= 12:
                votes[True] += 1
            elif b > 12 and a <= 12:
                votes[False] += 1
    if votes[True] == votes[False]:
        return None
    return votes[True] > votes[False]


# --------------------------------------------------------------------------------------- IBAN, VAT id

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def compact(text: str) -> str:
    """Upper case without spaces, dots, dashes and similar separators."""
    return re.sub(r"[\s.\-/\u00a0]", "", text).upper()


def normalize_iban(text: str) -> str | None:
    """The IBAN without spaces, upper case, when it has an IBAN's shape (checksum not required:
    see ``iban_is_valid``; a wrong check digit is a finding, not a reason to drop the value)."""
    value = compact(text.removeprefix("IBAN").removeprefix("iban").strip(" :"))
    return value if _IBAN_SHAPE.match(value) else None


def iban_is_valid(value: str) -> bool:
    return bool(stdnum_iban.is_valid(value))


_BIC_SHAPE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")


def normalize_bic(text: str) -> str | None:
    value = compact(text)
    return value if _BIC_SHAPE.match(value) else None


# EU-style "CC" + 2..13 characters with at least two digits; India's 15-character GSTIN.
_VAT_SHAPE = re.compile(r"^(?:[A-Z]{2}[0-9A-Z+*]{2,13}|\d{2}[A-Z]{5}\d{4}[A-Z][A-Z0-9]Z[A-Z0-9])$")
_VAT_COUNTRIES = frozenset(
    "AT BE BG CY CZ DE DK EE EL ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI GB CH NO AU IN".split()
)


def normalize_vat_id(text: str) -> str | None:
    """A VAT/GST registration id without spaces or dots, upper case ("DE 123 456 789" ->
    "DE123456789"), or None when it does not look like one."""
    value = compact(text)
    if not _VAT_SHAPE.match(value) or sum(ch.isdigit() for ch in value) < 6:
        return None
    if value[:2].isalpha() and value[:2] not in _VAT_COUNTRIES:
        return None
    return value


def vat_id_is_valid(value: str) -> bool:
    """Checksum-valid EU VAT number (others: shape only)."""
    if value[:2] in {"GB", "CH", "NO", "AU", "IN"} or not value[:2].isalpha():
        return True
    try:
        return bool(eu_vat.is_valid(value))
    except Exception:  # stdnum raises on country codes it lacks
        return False


# ------------------------------------------------------------------------------------------ currency

_SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "£": "GBP",
    "₹": "INR",
    "¥": "JPY",
    "₽": "RUB",
    "₩": "KRW",
    "₺": "TRY",
    "₪": "ILS",
    "₫": "VND",
    "฿": "THB",
    "zł": "PLN",
    "kč": "CZK",
    "us$": "USD",
    "a$": "AUD",
    "au$": "AUD",
    "c$": "CAD",
    "ca$": "CAD",
    "hk$": "HKD",
    "s$": "SGD",
    "nz$": "NZD",
    "r$": "BRL",
    "$": "USD",
    "rs": "INR",
    "rs.": "INR",
    "rm": "MYR",
    "fr.": "CHF",
}
# ISO codes that are also ordinary upper-case words; they count only right beside a number.
_WORDLIKE_CODES = frozenset({"ALL", "TOP", "CUP", "MAD", "BAM", "BOB", "SOS", "GEL", "PEN", "TRY", "MOP", "LAK"})
_CODE = re.compile(r"(?<![A-Za-z0-9])([A-Z]{3})(?![A-Za-z])")
_SYMBOL = re.compile(
    r"(?i)(?:us\$|a\$|au\$|c\$|ca\$|hk\$|s\$|nz\$|r\$|[€£₹¥₽₩₺₪₫฿$]|zł|kč)|(?<![a-z])(?:rs\.?|rm)(?=\s?-?\d)"
)


def currency_from_token(token: str) -> str | None:
    """The ISO 4217 code that one printed token stands for ("€", "EUR", "Rs.", "US$"), or None."""
    stripped = token.strip().strip(":;,()")
    if len(stripped) == 3 and stripped.isalpha() and stripped.isupper() and is_iso4217(stripped):
        return stripped
    return _SYMBOLS.get(stripped.casefold())


# A whole amount, printed without cents ("1939", "12,500"): an amount only beside its currency.
_WHOLE_NUMBER = re.compile(r"^\(?(?:\d{1,3}(?:[.,' \u202f]\d{3})+|\d{2,7})\)?$")


def is_whole_amount(text: str, beside: str) -> bool:
    """A whole number printed beside a currency mark on its line ("Rs" "1939", "12.500" "EUR"): an
    amount without cents. Alone, such a number may as well be a quantity, a year or a phone number."""
    return _WHOLE_NUMBER.match(text.strip()) is not None and currency_from_token(beside) is not None


def currency_votes(text: str) -> Counter[str]:
    """How often each currency is evidenced in ``text`` by ISO codes and symbols."""
    votes: Counter[str] = Counter()
    for match in _CODE.finditer(text):
        code = match.group(1)
        if not is_iso4217(code):
            continue
        if code in _WORDLIKE_CODES:
            after, before = text[match.end() : match.end() + 2], text[max(0, match.start() - 2) : match.start()]
            if not (re.match(r"\s?\d", after) or re.search(r"\d\s?$", before)):
                continue
        votes[code] += 2  # an explicit code outweighs an ambiguous "$"
    for match in _SYMBOL.finditer(text):
        code = _SYMBOLS.get(match.group(0).casefold())
        if code:
            votes[code] += 1
    return votes


def detect_currency(text: str) -> str | None:
    """The currency a document is written in (ISO 4217), from codes and symbols; None if none."""
    votes = currency_votes(text)
    if not votes:
        return None
    return votes.most_common(1)[0][0]
