"""Test data for the API and dashboard tests: invoice records built from a few keyword arguments
(paperless-style factory), real local adapters in a temp folder, and a recording orchestration
client (the one double: it stands at the edge, where the engine or Durable Functions would be).

Tests outside this folder load it by path (see ``load_factory`` in tests/papyr/test_server.py).
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from shared.adapters.local.blobs import LocalBlobStore
from shared.adapters.local.sqlite import SqliteRepository
from shared.api.http import ApiContext, ApiRequest, ApiResponse, Handler
from shared.domain import (
    AuditEntry,
    Decision,
    DecisionKind,
    DocumentType,
    ExtractedField,
    Extraction,
    Finding,
    InvoiceRecord,
    InvoiceStatus,
    LineItem,
    MailContext,
    Route,
    RouteKind,
    Severity,
    Source,
)
from shared.ports import OrchestrationStatus
from shared.services import Services
from shared.settings import Settings
from tests import factories

SAMPLE_PDF = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "zugferd" / (
    "XML-Rechnung__FX__EN16931_Einfach.pdf"
)


def make_services(root: Path, **settings: Any) -> Services:
    config = Settings(data_dir=root, **settings)
    root.mkdir(parents=True, exist_ok=True)
    return Services(settings=config, blobs=LocalBlobStore(root / "blobs"),
                    repo=SqliteRepository(config.database_path))


def field(value: str, confidence: float = 0.97, page: int | None = 1, source: Source = Source.TEXT,
          text: str | None = None) -> ExtractedField:
    return factories.field(value, confidence=confidence, source=source, page=page, bbox=(10, 20, 110, 32), text=text)


def make_record(
    services: Services,
    *,
    content: bytes | None = None,
    filename: str = "invoice.pdf",
    status: InvoiceStatus = InvoiceStatus.AWAITING_APPROVAL,
    reason: str | None = None,
    vendor: str | None = "Lieferant GmbH",
    number: str | None = "INV-2024-001",
    total: str = "1190.00",
    currency: str = "EUR",
    confidences: dict[str, float] | None = None,
    findings: list[Finding] | None = None,
    approvers: list[str] | None = None,
    decisions: list[Decision] | None = None,
    sender: str | None = "billing@lieferant.example",
    created_at: datetime | None = None,
    report: bytes | None = None,
    audit: list[AuditEntry] | None = None,
) -> InvoiceRecord:
    """Store the document's bytes, save its record and its audit trail; return the record."""
    data = content if content is not None else f"%PDF-1.4 test {filename} {number} {vendor}".encode()
    digest = hashlib.sha256(data).hexdigest()
    blob_name = f"documents/{digest}.pdf"
    services.blobs.put(blob_name, data, "application/pdf")
    values = {"vendor_name": vendor, "invoice_number": number, "invoice_date": "2024-03-01",
              "currency": currency, "subtotal": str(Decimal(total) / Decimal("1.19")), "tax": "190.00",
              "total": total, "iban": "DE89370400440532013000"}
    confidences = confidences or {}
    fields = {name: field(value, confidences.get(name, 0.97)) for name, value in values.items() if value}
    extraction = Extraction(
        document_type=DocumentType.INVOICE,
        fields=fields,
        line_items=[LineItem(description="Consulting, March", quantity=Decimal("10"),
                             unit_price=Decimal("100.00"), amount=Decimal("1000.00"))],
        method=Source.TEXT,
        pages=1,
    )
    now = created_at or datetime(2024, 3, 2, 9, 30, tzinfo=UTC)
    record = InvoiceRecord(
        id=digest,
        document=factories.document(digest, blob_name=blob_name, filename=filename, size=len(data),
                                    mail=MailContext(mailbox="ap@example.com", sender=sender,
                                                     subject=f"Invoice {number}")),
        status=status,
        reason=reason,
        extraction=extraction,
        findings=findings or [],
        risk_score=0.4 if findings else 0.05,
        route=Route(kind=RouteKind.APPROVAL, approvers=approvers or ["ap.clerk@example.com"],
                    reasons=["amount above the auto-approval limit"]),
        decisions=decisions or [],
        created_at=now,
        updated_at=now,
    )
    if report is not None:
        record.report_blob = f"reports/{digest}.pdf"
        services.blobs.put(record.report_blob, report, "application/pdf")
    services.repo.save_invoice(record)
    for entry in audit or [AuditEntry(at=now, actor="papyr", action="received", detail={"filename": filename})]:
        services.repo.append_audit(digest, entry)
    return record


def bank_change_finding() -> Finding:
    return Finding(code="bank.iban_changed", severity=Severity.HIGH,
                   message="The IBAN differs from the vendor master.",
                   evidence={"invoice_iban": "DE89370400440532013000", "master_iban": "DE02120300000000202051"})


def approved_at_level(level: int, by: str = "ap.clerk@example.com") -> Decision:
    return Decision(kind=DecisionKind.APPROVED, by=by, level=level,
                    at=datetime(2024, 3, 3, tzinfo=UTC) + timedelta(hours=level))


class RecordingOrchestration:
    """An OrchestrationClient that records what the API asked of it; instances it started (or
    was told about via ``running``) report as Running."""

    def __init__(self, running: list[str] | None = None) -> None:
        self.started: list[tuple[str, str, Any]] = []
        self.events: list[tuple[str, str, Any]] = []
        self.states: dict[str, str] = dict.fromkeys(running or [], "Running")

    async def start(self, orchestrator: str, instance_id: str, payload: Any) -> str:
        self.started.append((orchestrator, instance_id, payload))
        self.states.setdefault(instance_id, "Running")
        return instance_id

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None:
        self.events.append((instance_id, event, data))

    async def status(self, instance_id: str) -> OrchestrationStatus | None:
        state = self.states.get(instance_id)
        return OrchestrationStatus(instance_id=instance_id, runtime_status=state) if state else None


def call(handler: Handler, orchestration: RecordingOrchestration, method: str = "GET", *,
         path: dict[str, str] | None = None, query: dict[str, str] | None = None,
         body: bytes = b"", headers: dict[str, str] | None = None) -> ApiResponse:
    request = ApiRequest(method=method, path_params=path or {}, query=query or {}, body=body,
                         headers=headers or {})
    return asyncio.run(handler(request, ApiContext(orchestration=orchestration)))
