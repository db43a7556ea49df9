"""Where a label's value is, and how to read it: to the right on the same line, or in the same
column on the next lines; parsed as an identifier, a date, an amount, a VAT id, an IBAN or a name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.extraction.layout_labels import LabelMatch
from shared.extraction.layout_lines import TextLine
from shared.extraction.normalize import (
    find_dates,
    iban_is_valid,
    normalize_bic,
    normalize_iban,
    normalize_vat_id,
    parse_amount,
)

# Placement weights: a value right of its label is the common case; below is the table-header case.
SAME_SEGMENT = 1.0
NEXT_SEGMENT = 0.95
BELOW = 0.85

MONEY_FIELDS = frozenset({"subtotal", "tax", "total", "amount_due"})

_LEADING_NOISE = re.compile(r"^[\s:#.\-–=>|]*(?:(?:n°|nº|no\.|nr\.|#)\s*)?[\s:#.\-–=>]*", re.IGNORECASE)


@dataclass(frozen=True)
class Region:
    """A stretch of one line that may hold a label's value."""

    line: TextLine
    start: int
    end: int
    placement: float

    @property
    def text(self) -> str:
        return self.line.text[self.start : self.end]


def value_regions(match: LabelMatch, same_line_labels: list[LabelMatch], below_lines: list[TextLine]) -> list[Region]:
    """Regions where ``match``'s value may be: the rest of its segment, the next segment (both cut
    at the next strong label), then the words under the label on the next two lines."""
    line = match.line
    stop = len(line.text)
    for other in same_line_labels:
        if other.start >= match.end and other.label.weight >= 0.6:
            stop = min(stop, other.start)
    regions: list[Region] = []
    seg_end = min(line.segment_end(match.end), stop)
    if line.text[match.end : seg_end].strip(" :#.-–"):
        regions.append(Region(line, match.end, seg_end, SAME_SEGMENT))
    if seg_end < stop:
        # The rest of the line up to the next label: ids and dates take its first token, money
        # fields see every amount in it ("Tax 19% | 198,00 | 37,62").
        next_start = seg_end + 1
        if stop > next_start:
            regions.append(Region(line, next_start, stop, NEXT_SEGMENT))
    if _label_fills_segment(match, same_line_labels):
        regions.extend(_below_regions(match, same_line_labels, below_lines))
    return regions


def _label_fills_segment(match: LabelMatch, same_line_labels: list[LabelMatch]) -> bool:
    """True when the label stands alone in its segment, or among other labels only (a row of
    column headers, a form caption): then its value is under it rather than beside it."""
    line = match.line
    seg_start = line.text.rfind("\t", 0, match.start) + 1
    seg_end = line.segment_end(match.start)
    chars = list(line.text[seg_start:seg_end])
    for other in same_line_labels:
        for i in range(max(other.start, seg_start), min(other.end, seg_end)):
            chars[i - seg_start] = " "
    leftover = re.sub(r"[\W_]", "", "".join(chars))
    segment = re.sub(r"[\W_]", "", line.text[seg_start:seg_end])
    return bool(segment) and len(leftover) <= 0.4 * len(segment)


def _below_regions(match: LabelMatch, same_line_labels: list[LabelMatch], below_lines: list[TextLine]) -> list[Region]:
    line = match.line
    x0 = line.x_at(match.start)
    x1 = line.x_at(max(match.start, match.end - 1)) + 4
    # The column reaches to the next label on the line (table headers), but at least the label.
    right_limit = line.page_width or 10_000.0
    for other in same_line_labels:
        if other.start > match.end:
            right_limit = min(right_limit, line.x_at(other.start))
    regions: list[Region] = []
    # Money columns of a totals table may hold a row per tax rate and then the sum row: read deeper.
    depth = 5 if match.fields & MONEY_FIELDS else 2
    previous = line
    for below in below_lines[:depth]:
        if below.top - previous.bottom > 3.0 * line.height:
            break
        previous = below
        indexes = [
            i
            for i, w in enumerate(below.words)
            if w.x1 > x0 - 6 and w.x0 < max(x1, min(right_limit - 2, x1 + 40)) and (w.x0 + w.x1) / 2 < right_limit
        ]
        if indexes:
            start, end = below.spans[indexes[0]][0], below.spans[indexes[-1]][1]
            regions.append(Region(below, start, end, BELOW))
    return regions


# ------------------------------------------------------------------------------------------- parsers


def parse_identifier(text: str, *, strict: bool = False) -> str | None:
    """A document/order number: the first token after designators like "n°", "#", ":"; needs a digit.
    ``strict`` (for weak labels) also wants at least four characters."""
    rest = _LEADING_NOISE.sub("", text.strip())
    token = rest.split()[0] if rest.split() else ""
    token = token.strip(",;:()[]").rstrip(".")
    token = token.lstrip("#")
    if len(token) < (4 if strict else 2) or len(token) > 40 or not any(ch.isdigit() for ch in token):
        return None
    if find_dates(token) or "%" in token or "@" in token:
        return None
    if re.fullmatch(r"[-+]?\d{1,3}(?:[.,]\d{3})*[.,]\d{2}", token):
        return None  # an amount
    return token


def parse_date_value(text: str, day_first: bool | None) -> tuple[date, int, int] | None:
    dates = find_dates(text, day_first=day_first)
    return dates[0] if dates else None


@dataclass(frozen=True)
class AmountHit:
    value: Decimal
    start: int  # character offsets in the line
    end: int
    has_decimals: bool


_AMOUNT_WORD = re.compile(r"^[(\-−+]?[^\s\d]{0,3}\s?[-−]?\d[\d.,' ]*[)\-−]?[^\s\d]{0,3}$")


def amounts_in(line: TextLine, start: int, end: int) -> list[AmountHit]:
    """Money amounts printed between characters start and end of ``line``, left to right; dates,
    percentages and "x 1 Night"-style counts are skipped; a currency sign in its own word joins the
    number beside it."""
    date_spans = [(a, b) for _, a, b in find_dates(line.text)]
    hits: list[AmountHit] = []
    indexes = line.word_indexes(start, end)
    for position, i in enumerate(indexes):
        a, b = line.spans[i]
        if any(a < db and da < b for da, db in date_spans):
            continue
        word = line.words[i].text
        if "%" in word or not any(ch.isdigit() for ch in word):
            continue
        next_word = line.words[indexes[position + 1]].text if position + 1 < len(indexes) else ""
        if next_word.startswith("%"):
            continue
        value = parse_amount(word)
        if value is None:
            continue
        digits = re.sub(r"[^\d.,]", "", word)
        has_decimals = bool(re.search(r"[.,]\d{1,2}$", digits.rstrip(".,")))
        hits.append(AmountHit(value, max(a, start), min(b, end), has_decimals))
    return hits


def parse_vat_id(text: str) -> str | None:
    """The longest run of the first few tokens that reads as a VAT id ("DE 232 446 240")."""
    tokens = _LEADING_NOISE.sub("", text.strip()).split()[:6]
    best = None
    for count in range(1, len(tokens) + 1):
        value = normalize_vat_id("".join(tokens[:count]).strip(",;:()"))
        if value:
            best = value
    return best


def parse_iban(text: str) -> str | None:
    """The IBAN in the first tokens (printed in groups of four); a checksum-valid reading wins over
    a longer one that swallowed the next word ("... 90 BIC")."""
    tokens = _LEADING_NOISE.sub("", text.strip()).split()[:9]
    shaped: str | None = None
    for count in range(1, len(tokens) + 1):
        if count > 1 and tokens[count - 1].isalpha() and len(tokens[count - 1]) >= 3:
            break
        value = normalize_iban("".join(tokens[:count]).strip(",;:()"))
        if value and iban_is_valid(value):
            return value
        shaped = value or shaped
    return shaped


def parse_bic(text: str) -> str | None:
    tokens = _LEADING_NOISE.sub("", text.strip()).split()
    return normalize_bic(tokens[0].strip(",;:()")) if tokens else None


_NAME_PREFIX = re.compile(
    r"^(?:name|firma|company|nom|raison\ssociale|naam|nombre|razon\ssocial|ragione\ssociale)\s*:\s*", re.I
)


def looks_like_name(text: str) -> bool:
    """Plausible as a person or company name: mostly letters, not a number, address line, mail or URL."""
    stripped = text.strip(" :,-–")
    letters = sum(ch.isalpha() for ch in stripped)
    if letters < 2 or letters < 0.5 * len(stripped.replace(" ", "")):
        return False
    if "@" in stripped or "www." in stripped.lower() or "http" in stripped.lower():
        return False
    return not stripped[0].isdigit() and not text.lstrip().startswith(("(", "[", "/"))


def clean_name(text: str) -> str:
    text = _NAME_PREFIX.sub("", text.strip())
    return text.strip(" :,;-–|").strip()
