"""One behavioural suite for both Repository adapters: SqliteRepository on a real file and
CosmosRepository through the real azure-cosmos SDK, served by the Cosmos-shaped HTTP responder
(recorded/cosmos). What SQLite does, Cosmos must do the same."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient

from shared.adapters.azure.cosmos import CosmosRepository
from shared.adapters.azure.cosmos_layout import CONTAINERS
from shared.adapters.local.sqlite import SqliteRepository
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
from tests.shared.adapters.recorded.cosmos.responder import ENDPOINT, CosmosShapedTransport

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
# The emulator's published development key (not a secret); the responder does not check signatures.
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="


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


def cosmos_repository() -> tuple[CosmosRepository, CosmosShapedTransport]:
    transport = CosmosShapedTransport("papyr", {name: spec.partition_key_path for name, spec in CONTAINERS.items()})
    client = CosmosClient(ENDPOINT, credential=EMULATOR_KEY, transport=transport)
    return CosmosRepository(client, "papyr"), transport


@pytest.fixture(params=["sqlite", "cosmos"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Repository]:
    if request.param == "sqlite":
        sqlite = SqliteRepository(tmp_path / "papyr.sqlite3")
        yield sqlite
        sqlite.close()
    else:
        yield cosmos_repository()[0]


def test_cosmos_repository_satisfies_the_protocol() -> None:
    typed: Repository = cosmos_repository()[0]
    for name in Repository.__dict__:
        if not name.startswith("_"):
            assert callable(getattr(typed, name)), name


def test_save_and_get_round_trips_the_whole_record(repo: Repository) -> None:
    record = make_record("a" * 64)
    record.findings.append(
        Finding(code="arithmetic.total_mismatch", severity=Severity.HIGH, message="off", evidence={"diff": "0.01"})
    )
    repo.save_invoice(record)

    assert repo.get_invoice("a" * 64) == record
    assert repo.get_invoice("missing") is None


def test_save_again_updates_in_place(repo: Repository) -> None:
    record = make_record("a1")
    repo.save_invoice(record)
    updated = record.model_copy(
        update={"status": InvoiceStatus.APPROVED, "updated_at": T0 + timedelta(hours=1), "reason": "ok"}
    )
    repo.save_invoice(updated)

    assert repo.get_invoice("a1") == updated
    assert [r.id for r in repo.list_invoices()] == ["a1"]


def test_list_invoices_newest_first_with_status_filter_and_limit(repo: Repository) -> None:
    statuses = [InvoiceStatus.APPROVED, InvoiceStatus.AWAITING_APPROVAL, InvoiceStatus.APPROVED, InvoiceStatus.REJECTED]
    for i, status in enumerate(statuses):
        repo.save_invoice(make_record(f"id{i}", status=status, created_at=T0 + timedelta(minutes=i)))
    repo.save_invoice(make_record("id9", created_at=T0 + timedelta(minutes=3)))  # ties on time: id breaks it

    assert [r.id for r in repo.list_invoices()] == ["id9", "id3", "id2", "id1", "id0"]
    assert [r.id for r in repo.list_invoices(InvoiceStatus.APPROVED)] == ["id2", "id0"]
    assert [r.id for r in repo.list_invoices(limit=2)] == ["id9", "id3"]
    assert repo.list_invoices(InvoiceStatus.EXPORTED) == []


def test_list_orders_by_instant_across_time_zones(repo: Repository) -> None:
    earlier = datetime(2024, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=2)))  # 08:30 UTC
    repo.save_invoice(make_record("utc9", created_at=T0))
    repo.save_invoice(make_record("plus2", created_at=earlier))

    assert [r.id for r in repo.list_invoices()] == ["utc9", "plus2"]
    assert repo.get_invoice("plus2") == make_record("plus2", created_at=earlier)


def test_find_by_business_key_matches_spelling_variants_oldest_first(repo: Repository) -> None:
    repo.save_invoice(make_record("resent", vendor="Acme GmbH.", number="inv 1", created_at=T0 + timedelta(days=1)))
    repo.save_invoice(make_record("first", vendor="ACME GmbH", number="INV-001", created_at=T0))
    repo.save_invoice(make_record("other-number", vendor="ACME GmbH", number="INV-002"))
    repo.save_invoice(make_record("other-vendor", vendor="Globex Ltd", number="INV-001"))

    found = repo.find_by_business_key(vendor_key("acme"), invoice_number_key("INV001"))

    assert [r.id for r in found] == ["first", "resent"]


def test_find_by_business_key_never_matches_on_missing_keys(repo: Repository) -> None:
    repo.save_invoice(make_record("no-number-1", number=None))
    repo.save_invoice(make_record("no-vendor", vendor=None))

    assert repo.find_by_business_key(vendor_key("ACME GmbH"), "") == []
    assert repo.find_by_business_key("", invoice_number_key("INV-001")) == []


def test_record_without_extraction_is_stored(repo: Repository) -> None:
    record = make_record("raw").model_copy(update={"extraction": None, "status": InvoiceStatus.FAILED})
    repo.save_invoice(record)

    assert repo.get_invoice("raw") == record
    assert repo.find_by_business_key(vendor_key("ACME GmbH"), invoice_number_key("INV-001")) == []


def test_audit_trail_keeps_entries_in_append_order(repo: Repository) -> None:
    entries = [
        AuditEntry(at=T0 + timedelta(hours=2), actor="papyr", action="received", detail={"blob": "documents/x.pdf"}),
        AuditEntry(at=T0, actor="papyr", action="extracted", detail={"fields": 12, "nested": {"a": [1, 2]}}),
        AuditEntry(at=T0 + timedelta(hours=1), actor="cfo@example.com", action="approved", detail={"comment": "ok"}),
    ]
    for entry in entries:  # append order, not the entries' own timestamps, is the trail's order
        repo.append_audit("inv-1", entry)
    repo.append_audit("inv-2", AuditEntry(actor="papyr", action="received"))

    assert repo.audit_trail("inv-1") == entries
    assert [e.action for e in repo.audit_trail("inv-2")] == ["received"]
    assert repo.audit_trail("none") == []


def test_claim_message_is_true_exactly_once_per_mailbox_and_id(repo: Repository) -> None:
    assert repo.claim_message("ap@example.com", "<m1@mail.example>") is True
    assert repo.claim_message("ap@example.com", "<m1@mail.example>") is False
    assert repo.claim_message("other@example.com", "<m1@mail.example>") is True
    assert repo.claim_message("ap@example.com", "<m2@mail.example>") is True
    assert repo.message_claimed("ap@example.com", "<m1@mail.example>")
    assert not repo.message_claimed("ap@example.com", "<m3@mail.example>")


def test_message_ids_with_characters_cosmos_refuses_in_ids(repo: Repository) -> None:
    # Graph ids are base64 ('/', '+', '='); Message-IDs may hold '/', '?', '#', '%' and be long.
    awkward = [
        "AAMkAD/x+y==",
        "<a/b?c#d%2F@x>",
        "<a%2Fb?c#d/@x>",
        "<" + "x" * 400 + "@long>",
        "<" + "x" * 401 + "@long>",
    ]
    assert [repo.claim_message("ap@example.com", m) for m in awkward] == [True] * len(awkward)
    assert [repo.claim_message("ap@example.com", m) for m in awkward] == [False] * len(awkward)
    assert all(repo.message_claimed("ap@example.com", m) for m in awkward)


def test_claim_export_is_true_exactly_once_per_invoice_and_target(repo: Repository) -> None:
    assert repo.claim_export("inv-1", "json") is True
    assert repo.claim_export("inv-1", "json") is False
    assert repo.claim_export("inv-1", "csv") is True
    assert repo.claim_export("inv-2", "json") is True


def test_upsert_vendor_replaces_by_normalised_name(repo: Repository) -> None:
    repo.upsert_vendor(Vendor(name="Acme GmbH", iban="DE89370400440532013000"))
    repo.upsert_vendor(Vendor(name="Globex Ltd", vat_id="GB123456789", email_domains=["globex.example"]))
    repo.upsert_vendor(Vendor(name="ACME GmbH.", iban="DE02120300000000202051", email_domains=["acme.example"]))

    assert repo.list_vendors() == [
        Vendor(name="ACME GmbH.", iban="DE02120300000000202051", email_domains=["acme.example"]),
        Vendor(name="Globex Ltd", vat_id="GB123456789", email_domains=["globex.example"]),
    ]
    with pytest.raises(ValueError):
        repo.upsert_vendor(Vendor(name="  "))


def test_threads_write_and_claim_concurrently(repo: Repository) -> None:
    def work(worker: int) -> list[bool]:
        claims = []
        for i in range(10):
            repo.save_invoice(make_record(f"w{worker}-{i}", created_at=T0 + timedelta(seconds=i)))
            repo.append_audit(f"w{worker}-{i}", AuditEntry(actor=f"worker-{worker}", action="saved"))
            claims.append(repo.claim_message("ap@example.com", f"<shared-{i}@x>"))
        return claims

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(4)))

    assert len(repo.list_invoices(limit=1000)) == 4 * 10
    assert all(len(repo.audit_trail(f"w{w}-{i}")) == 1 for w in range(4) for i in range(10))
    assert [sum(result[i] for result in results) for i in range(10)] == [1] * 10
