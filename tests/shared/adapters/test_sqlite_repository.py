"""SqliteRepository against a real SQLite file: every Repository method, the append-only audit
trail, schema versioning, and concurrent use from threads and from separate processes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from shared.adapters.local.sqlite import SCHEMA_VERSION, SqliteRepository
from shared.domain import (
    AuditEntry,
    DocumentRef,
    ExtractedField,
    Extraction,
    Finding,
    InvoiceRecord,
    InvoiceStatus,
    Provenance,
    Severity,
    Source,
    Vendor,
)
from shared.domain.keys import invoice_number_key, vendor_key
from shared.ports import Repository

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def _field(value: str) -> ExtractedField:
    return ExtractedField(value=value, confidence=0.9, provenance=Provenance(source=Source.TEXT, page=1))


def make_record(
    invoice_id: str,
    *,
    vendor: str | None = "ACME GmbH",
    number: str | None = "INV-001",
    status: InvoiceStatus = InvoiceStatus.RECEIVED,
    created_at: datetime = T0,
) -> InvoiceRecord:
    fields = {"total": _field("119.00"), "currency": _field("EUR")}
    if vendor is not None:
        fields["vendor_name"] = _field(vendor)
    if number is not None:
        fields["invoice_number"] = _field(number)
    return InvoiceRecord(
        id=invoice_id,
        document=DocumentRef(
            sha256=invoice_id,
            blob_name=f"documents/{invoice_id}.pdf",
            filename="invoice.pdf",
            content_type="application/pdf",
            size=1234,
        ),
        status=status,
        extraction=Extraction(fields=fields),
        created_at=created_at,
        updated_at=created_at,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SqliteRepository]:
    repository = SqliteRepository(tmp_path / "papyr.sqlite3")
    yield repository
    repository.close()


def test_satisfies_the_repository_protocol(repo: SqliteRepository) -> None:
    typed: Repository = repo  # mypy checks the structural match; here: every method exists
    for method in (
        "save_invoice",
        "get_invoice",
        "list_invoices",
        "find_by_business_key",
        "append_audit",
        "audit_trail",
        "claim_message",
        "upsert_vendor",
        "list_vendors",
        "claim_export",
    ):
        assert callable(getattr(typed, method))


# -- invoices ------------------------------------------------------------------------------------


def test_save_and_get_round_trips_the_whole_record(repo: SqliteRepository) -> None:
    record = make_record("a" * 64)
    record.findings.append(
        Finding(code="arithmetic.total_mismatch", severity=Severity.HIGH, message="off", evidence={"diff": "0.01"})
    )

    repo.save_invoice(record)
    loaded = repo.get_invoice("a" * 64)

    assert loaded == record
    assert loaded is not None and loaded.total is not None and loaded.total.amount == Decimal("119.00")
    assert repo.get_invoice("missing") is None


def test_save_again_updates_in_place(repo: SqliteRepository) -> None:
    record = make_record("a1")
    repo.save_invoice(record)
    updated = record.model_copy(
        update={"status": InvoiceStatus.APPROVED, "updated_at": T0 + timedelta(hours=1), "reason": "ok"}
    )
    repo.save_invoice(updated)

    assert repo.get_invoice("a1") == updated
    assert [r.id for r in repo.list_invoices()] == ["a1"]


def test_list_invoices_newest_first_with_status_filter_and_limit(repo: SqliteRepository) -> None:
    statuses = [InvoiceStatus.APPROVED, InvoiceStatus.AWAITING_APPROVAL, InvoiceStatus.APPROVED, InvoiceStatus.REJECTED]
    for i, status in enumerate(statuses):
        repo.save_invoice(make_record(f"id{i}", status=status, created_at=T0 + timedelta(minutes=i)))

    assert [r.id for r in repo.list_invoices()] == ["id3", "id2", "id1", "id0"]
    assert [r.id for r in repo.list_invoices(InvoiceStatus.APPROVED)] == ["id2", "id0"]
    assert [r.id for r in repo.list_invoices(limit=2)] == ["id3", "id2"]
    assert repo.list_invoices(InvoiceStatus.EXPORTED) == []


def test_list_orders_by_instant_across_time_zones(repo: SqliteRepository) -> None:
    # 10:30 at +02:00 is 08:30 UTC: earlier than 09:00 UTC although its wall-clock text is later.
    earlier = datetime(2024, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    repo.save_invoice(make_record("utc9", created_at=T0))
    repo.save_invoice(make_record("plus2", created_at=earlier))

    assert [r.id for r in repo.list_invoices()] == ["utc9", "plus2"]
    assert repo.get_invoice("plus2") == make_record("plus2", created_at=earlier)


def test_find_by_business_key_matches_spelling_variants(repo: SqliteRepository) -> None:
    repo.save_invoice(make_record("first", vendor="ACME GmbH", number="INV-001", created_at=T0))
    repo.save_invoice(make_record("resent", vendor="Acme GmbH.", number="inv 1", created_at=T0 + timedelta(days=1)))
    repo.save_invoice(make_record("other-number", vendor="ACME GmbH", number="INV-002"))
    repo.save_invoice(make_record("other-vendor", vendor="Globex Ltd", number="INV-001"))

    found = repo.find_by_business_key(vendor_key("acme"), invoice_number_key("INV001"))

    assert [r.id for r in found] == ["first", "resent"]


def test_find_by_business_key_never_matches_on_missing_keys(repo: SqliteRepository) -> None:
    repo.save_invoice(make_record("no-number-1", number=None))
    repo.save_invoice(make_record("no-number-2", number=None))
    repo.save_invoice(make_record("no-vendor", vendor=None))

    assert repo.find_by_business_key(vendor_key("ACME GmbH"), "") == []
    assert repo.find_by_business_key("", invoice_number_key("INV-001")) == []


def test_record_without_extraction_is_stored(repo: SqliteRepository) -> None:
    record = make_record("raw").model_copy(update={"extraction": None, "status": InvoiceStatus.FAILED})
    repo.save_invoice(record)

    assert repo.get_invoice("raw") == record


# -- audit trail ---------------------------------------------------------------------------------


def test_audit_trail_keeps_entries_in_append_order(repo: SqliteRepository) -> None:
    entries = [
        AuditEntry(at=T0, actor="papyr", action="received", detail={"blob": "documents/x.pdf"}),
        AuditEntry(at=T0 + timedelta(seconds=5), actor="papyr", action="extracted", detail={"fields": 12}),
        AuditEntry(
            at=T0 + timedelta(hours=2), actor="cfo@example.com", action="approved", detail={"comment": "fine, ok"}
        ),
    ]
    for entry in entries:
        repo.append_audit("inv-1", entry)
    repo.append_audit("inv-2", AuditEntry(actor="papyr", action="received"))

    assert repo.audit_trail("inv-1") == entries
    assert [e.action for e in repo.audit_trail("inv-2")] == ["received"]
    assert repo.audit_trail("none") == []


def test_audit_rows_cannot_be_updated_or_deleted_even_with_direct_sql(repo: SqliteRepository) -> None:
    repo.append_audit("inv-1", AuditEntry(at=T0, actor="cfo@example.com", action="approved"))
    with sqlite3.connect(repo.path) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit SET action = 'rejected' WHERE invoice_id = 'inv-1'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM audit")

    assert [e.action for e in repo.audit_trail("inv-1")] == ["approved"]
    assert not [name for name in dir(repo) if "audit" in name and name not in ("append_audit", "audit_trail")]


# -- claims --------------------------------------------------------------------------------------


def test_claim_message_is_true_exactly_once_per_mailbox_and_id(repo: SqliteRepository) -> None:
    assert repo.claim_message("ap@example.com", "<m1@mail.example>") is True
    assert repo.claim_message("ap@example.com", "<m1@mail.example>") is False
    assert repo.claim_message("other@example.com", "<m1@mail.example>") is True
    assert repo.claim_message("ap@example.com", "<m2@mail.example>") is True


def test_claim_export_is_true_exactly_once_per_invoice_and_target(repo: SqliteRepository) -> None:
    assert repo.claim_export("inv-1", "json") is True
    assert repo.claim_export("inv-1", "json") is False
    assert repo.claim_export("inv-1", "csv") is True
    assert repo.claim_export("inv-2", "json") is True


def test_claims_survive_reopening(tmp_path: Path) -> None:
    first = SqliteRepository(tmp_path / "db.sqlite3")
    assert first.claim_export("inv-1", "json")
    first.close()

    second = SqliteRepository(tmp_path / "db.sqlite3")
    assert not second.claim_export("inv-1", "json")
    second.close()


# -- vendors -------------------------------------------------------------------------------------


def test_upsert_vendor_replaces_by_normalised_name(repo: SqliteRepository) -> None:
    repo.upsert_vendor(Vendor(name="Acme GmbH", iban="DE89370400440532013000"))
    repo.upsert_vendor(Vendor(name="Globex Ltd", vat_id="GB123456789", email_domains=["globex.example"]))
    repo.upsert_vendor(Vendor(name="ACME GmbH.", iban="DE02120300000000202051", email_domains=["acme.example"]))

    vendors = repo.list_vendors()

    assert vendors == [
        Vendor(name="ACME GmbH.", iban="DE02120300000000202051", email_domains=["acme.example"]),
        Vendor(name="Globex Ltd", vat_id="GB123456789", email_domains=["globex.example"]),
    ]
    with pytest.raises(ValueError):
        repo.upsert_vendor(Vendor(name="  "))


# -- schema --------------------------------------------------------------------------------------


def test_schema_version_wal_and_idempotent_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first = SqliteRepository(path)
    first.save_invoice(make_record("kept"))
    first.close()

    second = SqliteRepository(path)  # runs the migrations again: must be a no-op
    assert second.schema_version() == SCHEMA_VERSION
    assert second.get_invoice("kept") is not None
    second.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    SqliteRepository(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    with pytest.raises(RuntimeError, match="schema version"):
        SqliteRepository(path)


# -- concurrency ---------------------------------------------------------------------------------


def test_many_threads_write_and_claim_concurrently(repo: SqliteRepository) -> None:
    def work(worker: int) -> list[bool]:
        claims = []
        for i in range(25):
            repo.save_invoice(make_record(f"w{worker}-{i}", created_at=T0 + timedelta(seconds=i)))
            repo.append_audit(f"w{worker}-{i}", AuditEntry(actor=f"worker-{worker}", action="saved"))
            claims.append(repo.claim_message("ap@example.com", f"<shared-{i}@x>"))
        return claims

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(8)))

    assert len(repo.list_invoices(limit=1000)) == 8 * 25
    assert all(len(repo.audit_trail(f"w{w}-{i}")) == 1 for w in range(8) for i in range(25))
    # Each shared message id was claimed by exactly one thread.
    assert [sum(result[i] for result in results) for i in range(25)] == [1] * 25


CLAIMING_PROCESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from shared.adapters.local.sqlite import SqliteRepository

    repo = SqliteRepository(Path(sys.argv[1]))
    won = [i for i in range(int(sys.argv[2])) if repo.claim_export(f"inv-{i}", "json")]
    print(",".join(map(str, won)))
    """
)


def test_two_processes_claim_each_export_exactly_once(tmp_path: Path, repo_root: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    count = 150
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMING_PROCESS, str(path), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    won: list[int] = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        won.extend(int(i) for i in stdout.strip().split(",") if i)

    assert sorted(won) == list(range(count))  # every claim won once, none twice
