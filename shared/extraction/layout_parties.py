"""Who sells and who buys: vendor from seller labels, legal-form names and the letterhead; buyer
from "Bill to"-style labels. The buyer's block is excluded from vendor candidates."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

from shared.extraction.layout_labels import BUYER, SHIP_TO, VENDOR, LabelMatch
from shared.extraction.layout_lines import TextLine
from shared.extraction.layout_values import clean_name, looks_like_name

# Legal forms, case-sensitive where the short form is also a word ("AG", "SA", "AS").
_LEGAL_FORM = re.compile(
    r"(?<![\w-])(?:(?i:gmbh)(?:\s?&\s?(?i:co)\.?\s?KG)?|AG|KG|OHG|GbR|UG|e\.\s?K\.|B\.\s?V\.|BV|N\.\s?V\.|NV|BVBA|SPRL"
    r"|SAS|S\.A\.S\.?|SARL|Sarl|S\.A\.|SA|EURL|S\.L\.U?\.?|SL|S\.r\.l\.|Srl|SRL|S\.p\.A\.|SpA|S\.A\.U\."
    r"|(?:Pvt\.?|Private)\s(?:Ltd\.?|Limited)|Ltd\.?|LTD\.?|Limited|LIMITED|Inc\.?|INC\.?|LLC|LLP|PLC|plc|Corp\.?"
    r"|Oy|AB|A/S|ApS|AS|Sagl)(?![\w])"
)
_TITLE = re.compile(
    r"^(?:(?:tax|retail|proforma|pro-forma|commercial|copy|kopie|original)?\s?(?:invoices?|bill|receipt|rechnung|gutschrift"
    r"|facture|avoir|factuur|factura|fattura|credit\snote|creditnota|nota\sdi\scredito|payment\sreceipt)[\s./:]*)+",
    re.IGNORECASE,
)
_NAME_WORD_JOINERS = {
    "&",
    "und",
    "and",
    "et",
    "en",
    "y",
    "e",
    "-",
    "–",
    "de",
    "van",
    "der",
    "den",
    "von",
    "la",
    "le",
    "du",
}


@dataclass(frozen=True)
class PartyCandidate:
    name: str
    score: float
    line: TextLine
    start: int
    end: int


def buyer_zones(
    labels: list[LabelMatch], lines_by_page: dict[int, list[TextLine]]
) -> list[tuple[int, float, float, float, float]]:
    """Areas (page, x0, top, x1, bottom) holding the buyer's block or the delivery address: under or
    beside their labels."""
    zones = []
    for match in labels:
        if not match.fields & {BUYER, SHIP_TO}:
            continue
        line = match.line
        x0 = line.x_at(match.start) - 15
        page_lines = lines_by_page[line.page]
        bottom = line.bottom
        for below in page_lines[line.index + 1 : line.index + 7]:
            if below.top - bottom > 3 * line.height:
                break
            bottom = below.bottom
        zones.append((line.page, x0, line.top - 1, x0 + 230, bottom + 1))
    return zones


def in_zones(line: TextLine, x: float, zones: list[tuple[int, float, float, float, float]]) -> bool:
    mid = (line.top + line.bottom) / 2
    return any(page == line.page and x0 <= x <= x1 and top <= mid <= bottom for page, x0, top, x1, bottom in zones)


def name_after_label(match: LabelMatch, lines_by_page: dict[int, list[TextLine]]) -> tuple[TextLine, int, int] | None:
    """The name a party label introduces: the rest of its line if name-like, else the first
    name-like line below it in the same column (skipping "GLN ...", "Nummer: ..." lines)."""
    line = match.line
    seg_end = line.segment_end(match.end)
    rest = line.text[match.end : seg_end]
    if looks_like_name(rest):
        offset = len(rest) - len(rest.lstrip(" :-–"))
        # "Der Verkäufer bleibt Eigentümer ...": a label inside a sentence does not introduce a name;
        # after a caption ("Seller: acme") or at the start of a segment, a name begins upper case.
        if ":" in rest[:offset] or rest[offset:offset + 1].isupper() or rest[offset:offset + 1].isdigit():
            return line, match.end + offset, seg_end
        return None
    if rest.strip(" :-–"):
        return None  # something that is not a name follows the label (an id, a date)
    x0 = line.x_at(match.start)
    for below in lines_by_page[line.page][line.index + 1 : line.index + 5]:
        if below.top - line.bottom > 4 * line.height:
            break
        for start, end in below.segments():
            if end <= start or abs(below.x_at(start) - x0) > 25:
                continue
            text = below.text[start:end]
            prefix = re.match(r"^\s*(?:name|firma|company|nom|naam|nombre|ragione sociale)\s*:\s*", text, re.I)
            if prefix:
                if text[prefix.end() :].strip():
                    return below, start + prefix.end(), end
                following = [(a, b) for a, b in below.segments() if a > end]
                return (below, following[0][0], following[0][1]) if following else None
            if ":" in text or not looks_like_name(text) or below.text[end:].lstrip(" \t").startswith(":"):
                continue  # a "Nummer : 549910" line is a keyed value, not the name
            return below, start, end
    return None


def vendor_candidates(
    lines: list[TextLine], labels: list[LabelMatch], lines_by_page: dict[int, list[TextLine]]
) -> list[PartyCandidate]:
    zones = buyer_zones(labels, lines_by_page)
    candidates: list[PartyCandidate] = []
    for match in labels:
        if VENDOR in match.fields:
            found = name_after_label(match, lines_by_page)
            if found:
                line, start, end = found
                name = _trim_legal_name(line.text[start:end])
                candidates.append(PartyCandidate(name, 0.8 * match.label.weight + 0.05, line, start, end))
    candidates.extend(_legal_form_candidates(lines, zones))
    candidates.extend(_letterhead_candidates(lines_by_page.get(1, []), labels, zones))
    return [c for c in candidates if c.name and looks_like_name(c.name)]


def _legal_form_candidates(
    lines: list[TextLine], zones: list[tuple[int, float, float, float, float]]
) -> list[PartyCandidate]:
    found: list[PartyCandidate] = []
    for line in lines:
        for form in _LEGAL_FORM.finditer(line.text):
            start = _name_start(line, form.start())
            if start is None or in_zones(line, line.x_at(start), zones):
                continue
            name = line.text[start : form.end()].strip(" ,")
            if len(name) <= len(form.group(0)) + 1:
                continue
            score = 0.6
            if line.page == 1 and line.rel_top < 0.3:
                score += 0.15
            elif line.rel_top > 0.8:
                score += 0.05
            found.append(PartyCandidate(name, score, line, start, form.end()))
    # The same name printed several times (letterhead and footer) is more likely the issuer.
    counts: dict[str, int] = {}
    for cand in found:
        counts[cand.name.casefold()] = counts.get(cand.name.casefold(), 0) + 1
    return [
        PartyCandidate(c.name, min(0.9, c.score + 0.05 * (counts[c.name.casefold()] - 1)), c.line, c.start, c.end)
        for c in found
    ]


def _name_start(line: TextLine, form_start: int) -> int | None:
    """Walk left from a legal form over capitalised words (and joiners) to where the name begins."""
    seg_start = line.text.rfind("\t", 0, form_start) + 1
    head = line.text[seg_start:form_start]
    start = form_start
    words = list(re.finditer(r"\S+", head))
    taken = 0
    for word in reversed(words):
        token = word.group(0)
        if token.endswith(":") or token in {"-", "–", "|", "·"}:
            break
        if not (any(ch.isupper() for ch in token) or token.lower() in _NAME_WORD_JOINERS or token[0].isdigit()):
            break
        start = seg_start + word.start()
        taken += 1
        if taken >= 6:
            break
    while start < form_start and line.text[start].lower() in _NAME_WORD_JOINERS:
        start += 1
    return start if taken else None


def _letterhead_candidates(
    page_lines: list[TextLine], labels: list[LabelMatch], zones: list[tuple[int, float, float, float, float]]
) -> list[PartyCandidate]:
    """The first name-like texts at the top of page 1 (a letterhead), titles and labels skipped."""
    if not page_lines:
        return []
    heights = [line.height for line in page_lines]
    typical = statistics.median(heights)
    labelled = {(m.line.index, m.start) for m in labels if m.label.weight >= 0.7}
    found: list[PartyCandidate] = []
    for line in page_lines:
        if line.rel_top > 0.3 or len(found) >= 3:
            break
        if any(index == line.index for index, _ in labelled):
            continue  # a line of labelled values ("Währung: EUR") is not a letterhead
        for start, end in line.segments():
            text = line.text[start:end]
            title = _TITLE.match(text)
            if title:
                start += title.end()
                text = line.text[start:end]
            if not text.strip():
                continue
            if ":" in text or sum(ch.isalpha() for ch in text) < 4 or not looks_like_name(text):
                continue
            if in_zones(line, line.x_at(start), zones):
                continue
            score = 0.5 - 0.05 * len(found)
            if line.height > 1.3 * typical:
                score += 0.1
            if _address_follows(page_lines, line, line.x_at(start)):
                score += 0.15
            found.append(PartyCandidate(_trim_legal_name(text), score, line, start, end))
    return found


def _address_follows(page_lines: list[TextLine], line: TextLine, x0: float) -> bool:
    """A postal line (house number or postcode) within the next three lines of the same column."""
    for below in page_lines[line.index + 1 : line.index + 4]:
        if below.top - line.bottom > 4 * line.height:
            return False
        for start, end in below.segments():
            if abs(below.x_at(start) - x0) < 15 and re.search(r"\d", below.text[start:end]):
                return True
    return False


def _trim_legal_name(text: str) -> str:
    """Keep a company name up to its legal form and before any address after a dash or comma."""
    text = clean_name(text)
    form = _LEGAL_FORM.search(text)
    if form:
        text = text[: form.end()]
    return re.split(r"\s[-–|·]\s", text)[0].strip(" ,")


def buyer_candidates(labels: list[LabelMatch], lines_by_page: dict[int, list[TextLine]]) -> list[PartyCandidate]:
    found: list[PartyCandidate] = []
    for match in labels:
        if BUYER not in match.fields:
            continue
        hit = name_after_label(match, lines_by_page)
        if hit:
            line, start, end = hit
            name = _trim_legal_name(line.text[start:end])
            found.append(PartyCandidate(name, 0.75 * match.label.weight, line, start, end))
    return [c for c in found if looks_like_name(c.name)]
