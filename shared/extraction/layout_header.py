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

# Legal forms (Malaysia, Singapore, UK/US, EU) and trade words that end a merchant's name.
_LEGAL_FORM = (
    r"sdn\.?\s?bhd|bhd|berhad|s/b|sb|plt|pte\.?\s?ltd|ltd|limited|inc|llc|corp(?:oration)?"
    r"|gmbh|ag|kg|bv|nv|sarl|sas|sa|srl|spa|sl"
)
_TRADE_WORD = (
    r"enterprise|enterprises|trading|store|stores|restaurant|restoran|bakeries|bakery|cafe|mart|pharmacy|hardware"
)
_NAME_END = re.compile(rf"(?<![a-z])(?:{_LEGAL_FORM}|{_TRADE_WORD})\.?(?![a-z])")
_LEGAL_END = re.compile(rf"(?<![a-z])(?:{_LEGAL_FORM})\.?(?![a-z])")
# The owner named under a shop's own name ("Owned By : SANYU SUPPLY SDN BHD") is not where the header starts.
_OWNER = re.compile(r"^\W*(?:owned|operated|managed|run)\s?by\b|^\W*(?:a\s)?(?:member|division|subsidiary)\sof\b")
# A company registration number printed on its own line or after the name: "(139386 X)", "002043319-W".
_REGISTRATION = re.compile(
    r"\(?\s*(?:co(?:mpany)?[.\-]?\s*(?:reg(?:istration)?\.?)?\s*(?:no)?\.?\s*:?\s*)?\d{5,}[\s-]*[a-z]\s*\)?(?![a-z0-9])",
    re.IGNORECASE,
)
# Lines that end the header block: contact details, tax ids, document titles, dates and numbers.
_STOP = re.compile(
    r"(?<![a-z])(?:tel|telephone|phone|ph|fax|hp|h/p|mobile|email|e-mail|website|www|http|gst|vat|tax|invoice|receipt"
    r"|taxinvoice|cash\s?bill|bill|date|cashier|counter|table|order|doc(?:ument)?|ref|slip|member|served|customer|sales"
    r"|bus\.?\s?hours|shopping\s?hours|operating\shours|opening|welcome)(?![a-z])"
)
# Lines that sit inside the header block without ending it: the merchant's tax id or registration,
# a phone number alone, a print time.
_SKIP = re.compile(
    r"^\W*(?:\(?\s*(?:gst|vat|sst|tax)\s?(?:reg(?:istration)?\.?\s?)?(?:id|no)?\.?\s*(?:no)?\.?\s*:?\s*[\d\s-]{6,}\W*"
    r"|[+\d][\d\s()+-]{7,}|.*(?<!\d)(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?!\d).*)$"
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
    # A merchant's legal name may follow a logo's OCR noise and a "TAX INVOICE" title: start there.
    formed = [
        i
        for i, line in enumerate(page_lines[:8])
        if _NAME_END.search(_without_registration(line.text).lower())
        and not _STOP.search(line.folded)
        and not any(_OWNER.search(owner.folded) for owner in page_lines[max(0, i - 1) : i + 1])
    ]
    if formed and formed[0] > 0:
        first = formed[0]
        before = page_lines[first - 1]
        joined = not _STOP.search(before.folded) and not any(ch.isdigit() for ch in before.text)
        page_lines = page_lines[first - 1 if joined and _name_like(before.text) else first :]
    block: list[TextLine] = []
    for line in page_lines[:12]:
        if _SKIP.search(line.folded):
            continue  # a tax-id, phone or print-time line between the name and the address
        if _STOP.search(line.folded) or _DATE_LIKE.search(line.text):
            if block:
                break
            continue  # a title or a logo caption above the name
        block.append(line)
    texts = [_without_registration(line.text) for line in block]
    kept = [(line, text) for line, text in zip(block, texts, strict=True) if text]
    if not kept:
        return None
    # The name: the first name-like lines up to one ending in a legal form (at most three lines); a
    # trade name above the legal one ("Win Soon Cafe" over "Pacific Asian Food Delights S/B") is the
    # shop, the legal name the vendor who bills.
    ends = [i for i, (_, text) in enumerate(kept[:3]) if _NAME_END.search(text.lower())]
    legal = [i for i in ends if _LEGAL_END.search(kept[i][1].lower())]
    name_end: int | None = (legal or ends)[0] if legal or ends else None
    start = next((i for i, (_, text) in enumerate(kept) if _name_like(text)), None)
    if start is None:
        return None
    if name_end is None or name_end < start:
        name_end = start
    start = max([start, *(i + 1 for i in ends if i < name_end)])
    name = " ".join(text for _, text in kept[start : name_end + 1])
    rest = kept[name_end + 1 : name_end + 7]
    address_lines = tuple(line for line, _ in rest)
    address = " ".join(text for _, text in rest) or None
    return HeaderBlock(
        name, kept[start][0], name_end != start or bool(_NAME_END.search(name.lower())), address, address_lines
    )


def _name_like(text: str) -> bool:
    """Looser than a letter's name check: shop names may start with a digit ("99 SPEED MART")."""
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 3 and letters >= 0.6 * len(text.replace(" ", "")) and "@" not in text


def _without_registration(text: str) -> str:
    cleaned = _REGISTRATION.sub(" ", text.replace("\t", " "))
    # OCR often drops the space inside a two-word legal form ("SDNBHD", "STATIONERYSDN.BHD").
    cleaned = _GLUED_FORM.sub(_unglue, cleaned)
    return re.sub(r"\s+", " ", cleaned).strip(" ,-")


def _unglue(match: re.Match[str]) -> str:
    if match["sdn2"]:
        return f"{match['head2']} {match['sdn2']}"
    head = f"{match['head']} " if match["head"] else ""
    return f"{head}{match['sdn']} {match['bhd']}"


_GLUED_FORM = re.compile(r"(?P<head>[A-Za-z])?(?P<sdn>SDN)(?P<bhd>BHD\.?)|(?P<head2>[A-Za-z])(?P<sdn2>SDN\.\s?BHD\.?)")
