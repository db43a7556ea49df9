"""Evidence helpers: what a finding shows the approver — the values compared and where they were read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.domain import Extraction
from shared.domain.models import decimal_to_str


def field_evidence(extraction: Extraction, name: str) -> dict[str, Any]:
    """The value of one field with its confidence and provenance (page, box, source), JSON-ready."""
    field = extraction.fields.get(name)
    if field is None:
        return {"value": None}
    provenance = field.provenance
    return {
        "value": field.value,
        "confidence": round(field.confidence, 3),
        "source": provenance.source.value,
        "page": provenance.page,
        "bbox": list(provenance.bbox) if provenance.bbox else None,
    }


def money_text(value: Decimal) -> str:
    """A decimal as a plain string for evidence (JSON keeps it exact)."""
    return decimal_to_str(value)


# Labels drawn beside the boxes on the page image: the field names an approver recognises.
_FIELD_LABELS = {
    "iban": "IBAN",
    "bic": "BIC",
    "vendor_name": "Vendor",
    "vendor_vat_id": "VAT id",
    "invoice_number": "Invoice number",
    "invoice_date": "Invoice date",
    "po_number": "PO number",
    "subtotal": "Net amount",
    "tax": "Tax",
    "total": "Total",
    "amount_due": "Amount due",
}


def field_locations(extraction: Extraction, *names: str) -> list[dict[str, Any]]:
    """``evidence["locations"]``: page and box of each named field that was read from the page
    (fields from an e-invoice's XML or the mail have no box and are left out)."""
    found: list[dict[str, Any]] = []
    for name in names:
        field = extraction.fields.get(name)
        if field is None or field.provenance.page is None or field.provenance.bbox is None:
            continue
        found.append(
            {"page": field.provenance.page, "bbox": list(field.provenance.bbox), "label": _FIELD_LABELS.get(name, name)}
        )
    return found
