"""An e-invoice's XML against the page it travels with.

A ZUGFeRD / Factur-X PDF is two documents in one file: Papyr pays what the XML says, a person reads
the page. Edit the page and leave the XML (a new amount shown to the approver), or edit the XML and
leave the page (a new IBAN only the payment run sees), and the two disagree, however cleanly the file
was rewritten. Faulty billing software does the same (one public ZUGFeRD sample bills 571.04 in its XML
and prints 406.82), so the findings are their own family, ``einvoice.``, not ``tamper.``: the approver
is told the two disagree, not that someone forged them. Only pages with a text layer are compared:
OCR misreads would make false alarms.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

from shared.checks.evidence import field_locations, money_text
from shared.documents.content import DocumentContent, Page
from shared.domain import Extraction, Finding, Severity, Source
from shared.extraction.layout_lines import page_lines
from shared.extraction.normalize import compact, iban_is_valid, parse_amount

# An IBAN as printed: country, check digits, then groups (spaces or none); validated by checksum.
_PRINTED_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_LABEL = {"total": "total", "amount_due": "amount due"}
# The page's own reading counts when read this surely: on the dev sets such fields are all correct.
CONFIDENT = 0.9


def check_einvoice_against_page(extraction: Extraction, content: DocumentContent | None) -> list[Finding]:
    if content is None or content.xml is None or extraction.method is not Source.XML:
        return []
    pages = [page for page in content.pages if page.words and not page.ocr]
    if not pages:
        return []
    return [*_amount_finding(extraction, content, pages), *_iban_finding(extraction, pages)]


def _amount_finding(extraction: Extraction, content: DocumentContent, pages: list[Page]) -> list[Finding]:
    """The XML's total or amount due must be printed, and what the page itself reads as its total
    (when read with confidence) must be the XML's."""
    billed = {name: value for name in ("total", "amount_due") if (value := extraction.decimal(name)) is not None}
    if not billed:
        return []
    printed = _printed_amounts(pages)
    if not printed:
        return []
    shown = _read_from_page(content)
    differing = {
        name: value
        for name in billed
        if (value := shown.decimal(name)) is not None
        and shown.fields[name].confidence >= CONFIDENT
        and abs(value) != abs(billed[name])
    }
    missing = [name for name, value in billed.items() if abs(value) not in printed]
    if not differing and not missing:
        return []
    if differing:
        what = ", ".join(
            f"{_LABEL[n]} {money_text(billed[n])} where the page reads {shown.value(n)}" for n in differing
        )
    else:
        what = ", ".join(f"{_LABEL[n]} {money_text(billed[n])}, which is printed nowhere on the page" for n in missing)
    return [
        Finding(
            code="einvoice.amount_not_on_page",
            severity=Severity.HIGH,
            message=(
                f"The embedded e-invoice, which Papyr pays from, says {what}: the page and the e-invoice "
                "disagree (one was edited, or the billing software is faulty)."
            ),
            evidence={
                "einvoice": {name: money_text(value) for name, value in billed.items()},
                "page": {name: shown.value(name) for name in ("total", "amount_due") if shown.value(name)},
                "locations": field_locations(shown, *(differing or ("total", "amount_due"))),
            },
        )
    ]


def _iban_finding(extraction: Extraction, pages: list[Page]) -> list[Finding]:
    iban = extraction.value("iban")
    if not iban:
        return []
    printed = _printed_ibans(pages)
    if not printed or compact(iban) in printed:
        return []
    return [
        Finding(
            code="einvoice.iban_not_on_page",
            severity=Severity.HIGH,
            message=(
                f"The embedded e-invoice pays to {compact(iban)}, but the page shows "
                f"{', '.join(sorted(printed))}: the approver would see one account and the payment go to another."
            ),
            evidence={"einvoice_iban": compact(iban), "page_ibans": sorted(printed)},
        )
    ]


def _printed_amounts(pages: list[Page]) -> set[Decimal]:
    """Every amount printed, as absolute values: single words and two neighbours together
    ("1 163,40", "EUR 12,00")."""
    found: set[Decimal] = set()
    for page in pages:
        for line in page_lines(page):
            texts = [w.text for w in line.words]
            for text in [*texts, *(f"{a} {b}" for a, b in itertools.pairwise(texts))]:
                value = parse_amount(text)
                if value is not None:
                    found.add(abs(value))
    return found


def _printed_ibans(pages: list[Page]) -> set[str]:
    found: set[str] = set()
    for page in pages:
        for line in page_lines(page):
            text = " ".join(w.text for w in line.words).upper()
            for match in _PRINTED_IBAN.finditer(text):
                candidate = compact(match.group(0))
                # The greedy match may run into the next word: the longest valid prefix is the IBAN.
                for end in range(len(candidate), 14, -1):
                    if iban_is_valid(candidate[:end]):
                        found.add(candidate[:end])
                        break
    return found


def _read_from_page(content: DocumentContent) -> Extraction:
    """What the page itself says (the layout reader, XML ignored), for the evidence boxes."""
    from shared.extraction.layout import extract_layout

    return extract_layout(content.model_copy(update={"xml": None, "xml_name": None}))
