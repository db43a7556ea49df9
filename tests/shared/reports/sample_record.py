"""A realistic invoice record (real checks, real findings) shared by the report tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from shared.adapters.local.sqlite import SqliteRepository
from shared.checks import risk_score, run_checks
from shared.domain import (
    AuditEntry,
    Decision,
    DecisionKind,
    ExtractedField,
    Extraction,
    InvoiceRecord,
    InvoiceStatus,
    LineItem,
    MailContext,
    Source,
    Vendor,
)
from shared.routing import default_policy, route
from shared.settings import Settings
from tests import factories

START = datetime(2024, 5, 6, 8, 30, tzinfo=UTC)
PDF_BYTES = b"%PDF-1.7 sample invoice bytes"
SHA = hashlib.sha256(PDF_BYTES).hexdigest()


def field(
    value: str, page: int = 1, box: tuple[float, float, float, float] | None = None, conf: float = 0.97
) -> ExtractedField:
    return factories.field(value, confidence=conf, page=page, bbox=box or (380.0, 600.0, 520.0, 612.0))


def sample_record(tmp_path: Path) -> tuple[InvoiceRecord, list[AuditEntry]]:
    repo = SqliteRepository(tmp_path / "records.sqlite3")
    repo.upsert_vendor(Vendor(name="Lieferant GmbH", vat_id="DE136695976", iban="DE89370400440532013000"))
    extraction = Extraction(
        method=Source.TEXT,
        pages=1,
        fields={
            "vendor_name": field("Lieferant GmbH", box=(56.0, 80.0, 160.0, 94.0)),
            "vendor_vat_id": field("DE136695976"),
            "invoice_number": field("RE-2024-0815"),
            "invoice_date": field("2024-05-02"),
            "due_date": field("2024-06-01"),
            "currency": field("EUR"),
            "subtotal": field("12100.00"),
            "tax": field("2299.00"),
            "total": field("14399.00", box=(450.0, 640.0, 520.0, 652.0)),
            "iban": field("GB82WEST12345698765432", conf=0.72),
            "bic": field("COBADEFFXXX"),
        },
        line_items=[
            LineItem(
                description="Kunstrasen grün 3m breit",
                quantity=Decimal("300"),
                unit_price=Decimal("33.00"),
                amount=Decimal("9900.00"),
            ),
            LineItem(
                description="Verlegung <inkl. Material> & Anfahrt",
                quantity=Decimal("1"),
                unit_price=Decimal("2200.00"),
                amount=Decimal("2200.00"),
            ),
        ],
    )
    record = InvoiceRecord(
        id=SHA,
        document=factories.document(
            SHA,
            filename="Rechnung RE-2024-0815.pdf",
            size=len(PDF_BYTES),
            mail=MailContext(
                mailbox="ap@example.com",
                sender="billing@lieferant.example",
                subject="Ihre Rechnung RE-2024-0815",
                received_at=START,
            ),
        ),
        extraction=extraction,
        created_at=START,
        updated_at=START,
    )
    record.findings = run_checks(record, repo=repo)
    record.risk_score = risk_score(record.findings)
    policy = default_policy(Settings(
        auto_approve_below=Decimal(1000),
        second_approver_above=Decimal(10000),
        approvers=["clerk@example.com", "cfo@example.com"],
    ))
    record.route = route(record, record.findings, policy=policy)
    record.decisions = [
        Decision(
            kind=DecisionKind.APPROVED,
            by="clerk@example.com",
            at=START + timedelta(hours=3),
            comment="Called vendor: new bank account confirmed",
            level=1,
        ),
        Decision(kind=DecisionKind.APPROVED, by="cfo@example.com", at=START + timedelta(hours=5), level=2),
    ]
    record.status = InvoiceStatus.APPROVED
    audit = [
        AuditEntry(at=START, actor="papyr", action="received", detail={"mailbox": "ap@example.com"}),
        AuditEntry(
            at=START + timedelta(minutes=1), actor="papyr", action="extracted", detail={"method": "text", "fields": 11}
        ),
        AuditEntry(
            at=START + timedelta(minutes=1),
            actor="papyr",
            action="checked",
            detail={"findings": [f.code for f in record.findings]},
        ),
        AuditEntry(
            at=START + timedelta(minutes=2),
            actor="papyr",
            action="routed",
            detail={"approvers": record.route.approvers},
        ),
        AuditEntry(
            at=START + timedelta(hours=3),
            actor="clerk@example.com",
            action="decision_recorded",
            detail={"kind": "approved", "level": 1},
        ),
        AuditEntry(
            at=START + timedelta(hours=5),
            actor="cfo@example.com",
            action="decision_recorded",
            detail={"kind": "approved", "level": 2},
        ),
    ]
    return record, audit
