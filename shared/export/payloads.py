"""The export files' content: a pure function of the approved record, so every retry produces the
same bytes. Nothing volatile goes in (no status, no "exported at" wall-clock time)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from shared.domain import HEADER_FIELDS, InvoiceRecord
from shared.domain.models import decimal_to_str

EXPORT_FORMAT = "papyr.export/1"
LINE_COLUMNS: tuple[str, ...] = ("line_number", "description", "quantity", "unit_price", "amount")
CSV_COLUMNS: tuple[str, ...] = ("invoice_id", *HEADER_FIELDS, *LINE_COLUMNS)


def export_document(record: InvoiceRecord) -> dict[str, Any]:
    """The JSON export: the extraction contract, the approval trail and a findings summary."""
    if record.extraction is None:
        raise ValueError(f"invoice {record.id} has no extraction to export")
    document = record.document
    return {
        "format": EXPORT_FORMAT,
        "invoice_id": record.id,
        "document": {
            "sha256": document.sha256,
            "filename": document.filename,
            "content_type": document.content_type,
            "received_at": document.mail.received_at.isoformat() if document.mail.received_at else None,
            "sender": document.mail.sender,
        },
        "extraction": record.extraction.to_contract(document.filename),
        "approval": {
            "route": record.route.model_dump(mode="json") if record.route else None,
            "decisions": [decision.model_dump(mode="json") for decision in record.decisions],
        },
        "risk_score": record.risk_score,
        "findings": [
            {"code": finding.code, "severity": finding.severity.value, "message": finding.message}
            for finding in record.findings
        ],
    }


def export_json(record: InvoiceRecord) -> bytes:
    return (json.dumps(export_document(record), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def export_csv(record: InvoiceRecord) -> bytes:
    """One row per line item with the header fields repeated; a single row with empty line columns
    when the invoice has no lines. UTF-8, comma-separated, RFC 4180 quoting."""
    extraction = record.extraction
    if extraction is None:
        raise ValueError(f"invoice {record.id} has no extraction to export")
    header: dict[str, str] = {"invoice_id": record.id}
    for name in HEADER_FIELDS:
        header[name] = extraction.value(name) or ""
    header["document_type"] = header["document_type"] or extraction.document_type.value
    rows = [
        {
            **header,
            "line_number": str(number),
            "description": line.description or "",
            "quantity": decimal_to_str(line.quantity) if line.quantity is not None else "",
            "unit_price": decimal_to_str(line.unit_price) if line.unit_price is not None else "",
            "amount": decimal_to_str(line.amount) if line.amount is not None else "",
        }
        for number, line in enumerate(extraction.line_items, start=1)
    ] or [{**header, **dict.fromkeys(LINE_COLUMNS, "")}]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
