"""The issuer's header block of a till receipt or a letter-style bill: the lines at the top of the
first page before the first line that carries document data (a date, a number, a phone, a tax id).

A receipt prints its merchant's legal name first, then the shop's postal address, then contact and
registration lines; so the name is the first lines up to the one with a legal form, and the address
is what follows until the contact lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.extraction.layout_lines import TextLine

# Legal forms and trade words that end a merchant's name (Malaysia, Singapore, UK/US, EU).
_NAME_END = re.compile(
    r"(?<![a-z])(?:sdn\.?\s?bhd|bhd|berhad|s/b|sb|plt|pte\.?\s?ltd|ltd|limited|inc|llc|corp(?:oration)?|co\.?|company"
    r"|enterprise|enterprises|trading|store|stores|restaurant|restoran|bakeries|bakery|cafe|mart|pharmacy|hardware"
    r"|gmbh|ag|kg|bv|nv|sarl|sas|sa|srl|spa|sl)\.?(?![a-z])"
)
# A company registration number printed on its own line or after the name: "(139386 X)", "002043319-W".
_REGISTRATION = re.compile(
    r"\(?\s*(?:co(?:mpany)?\.?\s*(?:reg(?:istration)?\.?)?\s*(?:no)?\.?\s*:?\s*)?\d{4,}[\s-]*[a-z]\s*\)?(?![a-z0-9])",
    re.IGNORECASE,
)
# Lines that end the header block: contact details, tax ids, document titles, dates and numbers.
_STOP = re.compile(
    r"(?<![a-z])(?:tel|telephone|phone|ph|fax|hp|h/p|mobile|email|e-mail|website|www|http|gst|vat|tax|invoice|receipt"
    r"|cash\s?bill|bill|date|cashier|counter|table|order|doc(?:ument)?|ref|slip|member|served|customer|sales"
    r"|bus\.?\s?hours|shopping\s?hours|operating\shours|opening|welcome)(?![a-z])"
)
_DATE_LIKE = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}")


@dataclass(frozen=True)
class HeaderBlock:
    name: str
    name_line: TextLine
    name_has_form: bool
    address: str | None
    address_lines: tuple[TextLine, ...]


def header_block(page_lines: list[TextLine]) -> HeaderBlock | None:
    """Name and address of the issuer from the first lines of the page, or None."""
    block: list[TextLine] = []
    for line in page_lines[:12]:
        if _STOP.search(line.folded) or _DATE_LIKE.search(line.text):
            if block:
                break
            continue  # a title or a logo caption above the name
        block.append(line)
    texts = [_without_registration(line.text) for line in block]
    kept = [(line, text) for line, text in zip(block, texts, strict=True) if text]
    if not kept:
        return None
    # The name: the first name-like lines up to one ending in a legal form (at most three lines).
    name_end = None
    for index, (_, text) in enumerate(kept[:3]):
        if _NAME_END.search(text.lower()):
            name_end = index
            break
    start = next((i for i, (_, text) in enumerate(kept) if _name_like(text)), None)
    if start is None:
        return None
    if name_end is None or name_end < start:
        name_end = start
    name = " ".join(text for _, text in kept[start : name_end + 1])
    rest = kept[name_end + 1 : name_end + 7]
    address_lines = tuple(line for line, _ in rest)
    address = " ".join(text for _, text in rest) or None
    return HeaderBlock(name, kept[start][0], name_end != start or bool(_NAME_END.search(name.lower())), address,
                       address_lines)


def _name_like(text: str) -> bool:
    """Looser than a letter's name check: shop names may start with a digit ("99 SPEED MART")."""
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 3 and letters >= 0.5 * len(text.replace(" ", "")) and "@" not in text


def _without_registration(text: str) -> str:
    cleaned = _REGISTRATION.sub(" ", text.replace("\t", " "))
    # OCR often drops the space inside a two-word legal form ("SDNBHD", "STATIONERYSDN.BHD").
    cleaned = _GLUED_FORM.sub(lambda m: f"{m['head'] or ''}{' ' if m['head'] else ''}{m['sdn']} {m['bhd']}", cleaned)
    return re.sub(r"\s+", " ", cleaned).strip(" ,-")


_GLUED_FORM = re.compile(r"(?P<head>[A-Za-z])?(?P<sdn>SDN)(?P<bhd>BHD\.?)", re.IGNORECASE)
