"""The approval report's content as plain strings: everything the template shows, computed here so
the template stays dumb and the same inputs always give the same report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.checks.risk import risk_band
from shared.domain import HEADER_FIELDS, AuditEntry, Decision, ExtractedField, Finding, InvoiceRecord, Provenance
from shared.domain.models import decimal_to_str
from shared.reports.page_image import LOW_CONFIDENCE

FIELD_LABELS: dict[str, str] = {
    "document_type": "Document type",
    "vendor_name": "Vendor",
    "vendor_vat_id": "Vendor VAT id",
    "vendor_address": "Vendor address",
    "buyer_name": "Buyer",
    "invoice_number": "Invoice number",
    "invoice_date": "Invoice date",
    "due_date": "Due date",
    "currency": "Currency",
    "subtotal": "Net amount",
    "tax": "Tax",
    "total": "Total",
    "amount_due": "Amount due",
    "iban": "IBAN",
    "bic": "BIC",
    "po_number": "PO number",
}
MAX_DETAIL_CHARS = 300


@dataclass(frozen=True)
class FieldRow:
    label: str
    value: str
    confidence: str
    low_confidence: bool
    source: str


@dataclass(frozen=True)
class LineRow:
    number: int
    description: str
    quantity: str
    unit_price: str
    amount: str


@dataclass(frozen=True)
class FindingView:
    code: str
    severity: str
    message: str
    evidence: list[tuple[str, str]]


@dataclass(frozen=True)
class ReportView:
    title: str
    vendor: str
    invoice_number: str
    invoice_date: str
    due_date: str
    total: str
    amount_due: str
    status: str
    status_class: str
    reason: str
    risk_score: str
    risk_class: str
    route_kind: str
    route_approvers: str
    route_reasons: list[str]
    fields: list[FieldRow]
    lines: list[LineRow]
    findings: list[FindingView]
    decisions: list[dict[str, str]]
    audit: list[dict[str, str]]
    document: list[tuple[str, str]]
    sha256: str
    generated_at: str
    extraction_note: str = ""
    warnings: list[str] = field(default_factory=list)


def report_time(record: InvoiceRecord, audit: list[AuditEntry]) -> datetime:
    """When the report is "as of": the latest audit entry, else the record's last update."""
    return max((entry.at for entry in audit), default=record.updated_at)


def stamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def provenance_text(provenance: Provenance | None) -> str:
    if provenance is None:
        return ""
    parts = [provenance.source.value]
    if provenance.page is not None:
        parts.append(f"page {provenance.page}")
    if provenance.bbox is not None:
        x0, top, x1, bottom = provenance.bbox
        parts.append(f"at ({x0:.0f}, {top:.0f})–({x1:.0f}, {bottom:.0f})")
    return ", ".join(parts)


def _field_row(name: str, extracted: ExtractedField) -> FieldRow:
    return FieldRow(
        label=FIELD_LABELS.get(name, name.replace("_", " ").capitalize()),
        value=extracted.value,
        confidence=f"{extracted.confidence:.0%}",
        low_confidence=extracted.confidence < LOW_CONFIDENCE,
        source=provenance_text(extracted.provenance),
    )


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return decimal_to_str(value)
    if isinstance(value, str):
        return value
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


_FIELD_EVIDENCE_KEYS = frozenset({"value", "confidence", "source", "page", "bbox"})


def _is_field_evidence(value: Any) -> bool:
    return isinstance(value, dict) and "value" in value and set(value) <= _FIELD_EVIDENCE_KEYS


def _field_evidence_text(value: dict[str, Any]) -> str:
    """'119.00 (text, page 1, at (400, 700)–(480, 712), 95 %)' for a field_evidence() dict."""
    if value.get("value") is None:
        return "not found"
    where = []
    if value.get("source"):
        where.append(str(value["source"]))
    if value.get("page") is not None:
        where.append(f"page {value['page']}")
    if value.get("bbox"):
        x0, top, x1, bottom = value["bbox"]
        where.append(f"at ({x0:.0f}, {top:.0f})–({x1:.0f}, {bottom:.0f})")
    if value.get("confidence") is not None:
        where.append(f"{float(value['confidence']):.0%} confident")
    return f"{value['value']} ({', '.join(where)})" if where else str(value["value"])


def evidence_rows(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in evidence.items():
        label = key.replace("_", " ")
        if _is_field_evidence(value):
            rows.append((label, _field_evidence_text(value)))
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for index, item in enumerate(value, start=1):
                rows.append((f"{label} {index}", ", ".join(f"{k}: {_plain(v)}" for k, v in item.items())))
        else:
            rows.append((label, _plain(value)))
    return rows


def _finding_view(finding: Finding) -> FindingView:
    return FindingView(
        code=finding.code,
        severity=finding.severity.value,
        message=finding.message,
        evidence=evidence_rows(finding.evidence),
    )


def _decision_row(decision: Decision) -> dict[str, str]:
    return {
        "level": str(decision.level),
        "kind": decision.kind.value.replace("_", " "),
        "by": decision.by,
        "at": stamp(decision.at),
        "comment": decision.comment or "",
    }


def _audit_row(entry: AuditEntry) -> dict[str, str]:
    detail = "; ".join(f"{key}: {_plain(value)}" for key, value in entry.detail.items())
    return {"at": stamp(entry.at), "actor": entry.actor, "action": entry.action.replace("_", " "), "detail": detail}


def build_view(record: InvoiceRecord, audit: list[AuditEntry], generated_at: datetime) -> ReportView:
    extraction = record.extraction
    fields = extraction.fields if extraction else {}
    ordered = [name for name in HEADER_FIELDS if name in fields] + sorted(set(fields) - set(HEADER_FIELDS))
    total, amount_due = record.total, extraction.money("amount_due") if extraction else None
    value = extraction.value if extraction else (lambda _name: None)
    mail = record.document.mail
    document = [
        ("File name", record.document.filename),
        ("Content type", record.document.content_type),
        ("Size", f"{record.document.size:,} bytes"),
        ("Stored as", record.document.blob_name),
    ]
    document += [
        (label, text)
        for label, text in (
            ("From", mail.sender or ""),
            ("Subject", mail.subject or ""),
            ("Received", stamp(mail.received_at) if mail.received_at else ""),
            ("Mailbox", mail.mailbox or ""),
            ("Message id", mail.message_id or ""),
        )
        if text
    ]
    route = record.route
    return ReportView(
        title="Papyr approval report",
        vendor=value("vendor_name") or "Unknown vendor",
        invoice_number=value("invoice_number") or "—",
        invoice_date=value("invoice_date") or "—",
        due_date=value("due_date") or "—",
        total=str(total) if total else (value("total") or "—"),
        amount_due=str(amount_due) if amount_due else "",
        status=record.status.value.replace("_", " "),
        status_class=record.status.value,
        reason=record.reason or "",
        risk_score=f"{record.risk_score:.2f}",
        risk_class=risk_band(record.risk_score),
        route_kind=route.kind.value.replace("_", " ") if route else "not routed yet",
        route_approvers=", ".join(route.approvers) if route and route.approvers else "",
        route_reasons=list(route.reasons) if route else [],
        fields=[_field_row(name, fields[name]) for name in ordered],
        lines=[
            LineRow(
                number=index,
                description=line.description or "",
                quantity=decimal_to_str(line.quantity) if line.quantity is not None else "",
                unit_price=decimal_to_str(line.unit_price) if line.unit_price is not None else "",
                amount=decimal_to_str(line.amount) if line.amount is not None else "",
            )
            for index, line in enumerate(extraction.line_items if extraction else [], start=1)
        ],
        findings=[_finding_view(finding) for finding in record.findings],
        decisions=[_decision_row(decision) for decision in record.decisions],
        audit=[_audit_row(entry) for entry in audit],
        document=document,
        sha256=record.document.sha256,
        generated_at=stamp(generated_at),
        extraction_note=(
            f"Read from {extraction.method.value} · {extraction.pages} page(s)"
            if extraction and extraction.method
            else ""
        ),
        warnings=list(extraction.warnings) if extraction else [],
    )
