"""Helpers shared by the CII and UBL readers: a safe parse, namespace-agnostic paths, and the
number/date formats of LABELS.md.

Paths are written with local names only ("A/B/C"), because the same element lives under different
namespace URIs across ZUGFeRD 1.0, CII D16B and UBL versions; that is also the provenance text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from shared.domain import DocumentType, ExtractedField, LineItem, Provenance, Source
from shared.domain.models import decimal_to_str

Element = ET.Element

# UNTDID 1001 codes for credit notes (EN 16931 allows these for BT-3); everything else is an invoice.
CREDIT_NOTE_TYPE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})

# Loose shapes only: an e-invoice's IBAN/BIC is reported as written (a typo included); the checks
# module validates checksums and flags it. These just keep non-account identifiers out.
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{8,32}$")
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2,5}$")


class EInvoiceError(ValueError):
    """The XML is not a readable e-invoice (not well-formed, unsafe, or an unknown root)."""


def parse_xml(xml: bytes) -> Element:
    """Parse untrusted XML: no DTDs, no entities, no external references."""
    try:
        root: Element = SafeET.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise EInvoiceError(f"unsafe XML: {type(exc).__name__}") from exc
    except ET.ParseError as exc:
        raise EInvoiceError(f"malformed XML: {exc}") from exc
    return root


def local_name(element: Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def find_all(element: Element, path: str) -> Iterator[Element]:
    """Every element reached by a '/'-separated path of local names, in document order."""
    head, _, rest = path.partition("/")
    for child in element:
        if local_name(child) == head:
            if rest:
                yield from find_all(child, rest)
            else:
                yield child


def find(element: Element | None, path: str) -> Element | None:
    if element is None:
        return None
    return next(find_all(element, path), None)


def text_of(element: Element | None) -> str | None:
    """The element's text with whitespace (line breaks included) collapsed; None when empty."""
    if element is None or element.text is None:
        return None
    text = " ".join(element.text.split())
    return text or None


def to_decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def format_amount(value: Decimal) -> str:
    """Keep the source's precision but drop trailing zeros beyond two places: 160.0000 -> 160.00."""
    text = decimal_to_str(value)
    if "." not in text:
        return text + ".00"
    whole, frac = text.split(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


def format_quantity(value: Decimal) -> str:
    """Quantities without trailing zeros: 5.0000 -> 5, 6.50 -> 6.5."""
    text = decimal_to_str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def parse_date(text: str | None, date_format: str | None = None) -> str | None:
    """CII DateTimeString (format 102 = YYYYMMDD) or an ISO date, as YYYY-MM-DD."""
    if not text:
        return None
    text = text.strip()
    digits = text.replace("-", "")
    if date_format in (None, "102") and len(digits) >= 8 and digits[:8].isdigit():
        try:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])).isoformat()
        except ValueError:
            return None
    return None


def normalize_iban(text: str | None) -> str | None:
    value = "".join((text or "").split()).upper()
    return value if _IBAN.match(value) else None


def normalize_bic(text: str | None) -> str | None:
    value = "".join((text or "").split()).upper()
    return value if _BIC.match(value) else None


def normalize_vat_id(text: str | None) -> str | None:
    value = "".join((text or "").split()).upper()
    return value or None


def document_type_for(type_code: str | None) -> DocumentType:
    return DocumentType.CREDIT_NOTE if (type_code or "").strip() in CREDIT_NOTE_TYPE_CODES else DocumentType.INVOICE


class ExtractionBuilder:
    """Collects fields (value + XML path as provenance) and line items for one document."""

    def __init__(self, root_name: str) -> None:
        self.root_name = root_name
        self.fields: dict[str, ExtractedField] = {}
        self.line_items: list[LineItem] = []

    def provenance(self, path: str) -> Provenance:
        return Provenance(source=Source.XML, text=f"/{self.root_name}/{path}")

    def set(self, name: str, value: str | None, path: str) -> None:
        """Record a field once: the first non-empty reading wins."""
        if value is None or name in self.fields:
            return
        self.fields[name] = ExtractedField(value=value, confidence=1.0, provenance=self.provenance(path))
