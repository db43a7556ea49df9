from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from shared.adapters.local.blobs import LocalBlobStore
from shared.adapters.local.sqlite import SqliteRepository
from shared.domain import (
    Decision,
    DecisionKind,
    Extraction,
    Finding,
    InvoiceRecord,
    InvoiceStatus,
    LineItem,
    Severity,
    Source,
)
from shared.export import CSV_COLUMNS, ExportRefused, export_invoice, export_json, export_names
from tests.factories import document, fields

SHA = hashlib.sha256(b"invoice 471102").hexdigest()
APPROVED_AT = datetime(2024, 5, 6, 11, 0, tzinfo=UTC)


def approved_record(lines: bool = True) -> InvoiceRecord:
    values = {
        "vendor_name": "Lieferant GmbH",
        "invoice_number": "471102",
        "invoice_date": "2018-06-05",
        "currency": "EUR",
        "subtotal": "177.49",
        "tax": "20.16",
        "total": "197.65",
        "iban": "DE89370400440532013000",
    }
    items = [
        LineItem(
            description="Kunstrasen grün, 3m breit",
            quantity=Decimal(3),
            unit_price=Decimal("3.3333"),
            amount=Decimal("10.00"),
        ),
        LineItem(
            description='Schweißen "Spezial"',
            quantity=Decimal(1),
            unit_price=Decimal("167.49"),
            amount=Decimal("167.49"),
        ),
    ]
    return InvoiceRecord(
        id=SHA,
        document=document(SHA, filename="471102.pdf", size=100),
        status=InvoiceStatus.APPROVED,
        extraction=Extraction(
            fields=fields(values, confidence=1.0, source=Source.XML, page=None),
            line_items=items if lines else [],
            method=Source.XML,
        ),
        findings=[
            Finding(code="vendor.unknown", severity=Severity.LOW, message="The vendor is not in the vendor master.")
        ],
        risk_score=0.1,
        decisions=[Decision(kind=DecisionKind.APPROVED, by="clerk@example.com", at=APPROVED_AT, comment="ok")],
    )


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    return SqliteRepository(tmp_path / "papyr.sqlite3")


def export_claims(repo: SqliteRepository) -> list[tuple[str, str]]:
    with sqlite3.connect(repo.path) as db:
        return db.execute("SELECT invoice_id, target FROM exports").fetchall()


def test_export_twice_writes_the_same_files_and_claims_once(blobs: LocalBlobStore, repo: SqliteRepository) -> None:
    record = approved_record()
    first = export_invoice(record, blobs=blobs, repo=repo)
    contents = {name: blobs.get(name) for name in first}
    record.status = InvoiceStatus.EXPORTED  # what the activity does after the first run
    second = export_invoice(record, blobs=blobs, repo=repo)

    assert first == second == [f"exports/{SHA}.json", f"exports/{SHA}.csv"]
    assert blobs.list("exports/") == sorted(first)
    assert {name: blobs.get(name) for name in second} == contents
    assert export_claims(repo) == [(SHA, "outbox")]
    assert repo.claim_export(SHA, "outbox") is False


def test_json_export_carries_contract_decisions_and_findings(blobs: LocalBlobStore, repo: SqliteRepository) -> None:
    [json_name, _] = export_invoice(approved_record(), blobs=blobs, repo=repo)
    exported = json.loads(blobs.get(json_name))
    assert exported["format"] == "papyr.export/1"
    assert exported["invoice_id"] == SHA
    assert exported["document"]["sha256"] == SHA
    contract = exported["extraction"]
    assert contract["fields"]["total"] == "197.65"
    assert contract["fields"]["document_type"] == "invoice"
    assert contract["line_items"][0] == {
        "description": "Kunstrasen grün, 3m breit",
        "quantity": "3",
        "unit_price": "3.3333",
        "amount": "10.00",
    }
    assert exported["approval"]["decisions"] == [
        {"kind": "approved", "by": "clerk@example.com", "at": "2024-05-06T11:00:00Z", "comment": "ok", "level": 1}
    ]
    assert exported["findings"] == [
        {"code": "vendor.unknown", "severity": "low", "message": "The vendor is not in the vendor master."}
    ]


def test_csv_export_has_one_row_per_line_with_header_fields(blobs: LocalBlobStore, repo: SqliteRepository) -> None:
    [_, csv_name] = export_invoice(approved_record(), blobs=blobs, repo=repo)
    rows = list(csv.DictReader(io.StringIO(blobs.get(csv_name).decode("utf-8"))))
    assert len(rows) == 2
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row["invoice_number"] for row in rows] == ["471102", "471102"]
    assert [row["total"] for row in rows] == ["197.65", "197.65"]
    assert rows[0]["description"] == "Kunstrasen grün, 3m breit"  # quoted comma survives
    assert rows[1]["description"] == 'Schweißen "Spezial"'
    assert (rows[1]["line_number"], rows[1]["amount"]) == ("2", "167.49")


def test_csv_without_lines_has_a_single_header_row(blobs: LocalBlobStore, repo: SqliteRepository) -> None:
    [_, csv_name] = export_invoice(approved_record(lines=False), blobs=blobs, repo=repo)
    [row] = list(csv.DictReader(io.StringIO(blobs.get(csv_name).decode("utf-8"))))
    assert row["vendor_name"] == "Lieferant GmbH"
    assert row["line_number"] == row["description"] == row["amount"] == ""


def test_crash_after_writing_before_claiming(blobs: LocalBlobStore, repo: SqliteRepository) -> None:
    record = approved_record()
    json_name, _ = export_names(record.id)
    blobs.put(json_name, export_json(record), "application/json")  # the first run died here
    assert export_invoice(record, blobs=blobs, repo=repo) == export_names(record.id)
    assert blobs.get(json_name) == export_json(record)
    assert export_claims(repo) == [(SHA, "outbox")]


def test_claim_without_files_rewrites_the_same_export(blobs: LocalBlobStore, repo: SqliteRepository) -> None:
    record = approved_record()
    assert repo.claim_export(record.id, "outbox")  # a ledger entry whose files are gone
    names = export_invoice(record, blobs=blobs, repo=repo)
    assert all(blobs.exists(name) for name in names)
    assert export_claims(repo) == [(SHA, "outbox")]


def test_a_written_export_is_never_changed(blobs: LocalBlobStore, repo: SqliteRepository) -> None:
    record = approved_record()
    names = export_invoice(record, blobs=blobs, repo=repo)
    before = [blobs.get(name) for name in names]
    record.decisions.append(Decision(kind=DecisionKind.APPROVED, by="cfo@example.com", at=APPROVED_AT, level=2))
    export_invoice(record, blobs=blobs, repo=repo)
    assert [blobs.get(name) for name in names] == before


@pytest.mark.parametrize("status", [InvoiceStatus.AWAITING_APPROVAL, InvoiceStatus.DECLINED, InvoiceStatus.REJECTED])
def test_unapproved_invoices_are_not_exported(
    blobs: LocalBlobStore, repo: SqliteRepository, status: InvoiceStatus
) -> None:
    record = approved_record()
    record.status = status
    record.decisions = []
    with pytest.raises(ExportRefused):
        export_invoice(record, blobs=blobs, repo=repo)
    assert blobs.list("exports/") == []
    assert export_claims(repo) == []


def test_approval_decision_counts_before_the_status_is_updated(blobs: LocalBlobStore, repo: SqliteRepository) -> None:
    record = approved_record()
    record.status = InvoiceStatus.AWAITING_APPROVAL
    record.decisions = [Decision(kind=DecisionKind.AUTO_APPROVED, by="papyr", at=APPROVED_AT)]
    assert len(export_invoice(record, blobs=blobs, repo=repo)) == 2
