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
