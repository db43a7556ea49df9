"""One behavioural suite for both Repository adapters: SqliteRepository on a real file and
CosmosRepository through the real azure-cosmos SDK, served by the Cosmos-shaped HTTP responder
(recorded/cosmos). What SQLite does, Cosmos must do the same."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from azure.cosmos import CosmosClient

from shared.adapters.azure.cosmos import CosmosRepository
from shared.adapters.azure.cosmos_layout import CONTAINERS
from shared.adapters.local.sqlite import SqliteRepository
from shared.domain import AuditEntry, Finding, InvoiceStatus, Severity, Vendor
from shared.domain.keys import invoice_number_key, vendor_key
from shared.ports import Repository
from tests.factories import T0, make_record
from tests.shared.adapters.recorded.cosmos.responder import ENDPOINT, CosmosShapedTransport

# The emulator's published development key (not a secret); the responder does not check signatures.
EMULATOR_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="


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


def test_satisfies_the_repository_protocol(repo: Repository) -> None:
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
    for name in Repository.__dict__:
        if not name.startswith("_"):
            assert callable(getattr(typed, name)), name


def test_save_and_get_round_trips_the_whole_record(repo: Repository) -> None:
    record = make_record("a" * 64)
    record.findings.append(
        Finding(code="arithmetic.total_mismatch", severity=Severity.HIGH, message="off", evidence={"diff": "0.01"})
    )
    repo.save_invoice(record)
    loaded = repo.get_invoice("a" * 64)

    assert loaded == record
    assert loaded is not None and loaded.total is not None and loaded.total.amount == Decimal("119.00")
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

    assert [r.id for r in repo.list_invoices()] == ["id3", "id2", "id1", "id0"]
    assert [r.id for r in repo.list_invoices(InvoiceStatus.APPROVED)] == ["id2", "id0"]
    assert [r.id for r in repo.list_invoices(limit=2)] == ["id3", "id2"]
    assert repo.list_invoices(InvoiceStatus.EXPORTED) == []

    repo.save_invoice(make_record("id9", created_at=T0 + timedelta(minutes=3)))  # ties on time: id breaks it

    assert [r.id for r in repo.list_invoices()] == ["id9", "id3", "id2", "id1", "id0"]
    assert [r.id for r in repo.list_invoices(InvoiceStatus.APPROVED)] == ["id2", "id0"]
    assert [r.id for r in repo.list_invoices(limit=2)] == ["id9", "id3"]
    assert repo.list_invoices(InvoiceStatus.EXPORTED) == []


def test_list_orders_by_instant_across_time_zones(repo: Repository) -> None:
    # 10:30 at +02:00 is 08:30 UTC: earlier than 09:00 UTC although its wall-clock text is later.
    earlier = datetime(2024, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    repo.save_invoice(make_record("utc9", created_at=T0))
    repo.save_invoice(make_record("plus2", created_at=earlier))

    assert [r.id for r in repo.list_invoices()] == ["utc9", "plus2"]
    assert repo.get_invoice("plus2") == make_record("plus2", created_at=earlier)


@pytest.mark.parametrize("oldest_saved_first", [True, False], ids=["saved-in-time-order", "saved-newest-first"])
def test_find_by_business_key_matches_spelling_variants_oldest_first(
    repo: Repository, oldest_saved_first: bool
) -> None:
    first = make_record("first", vendor="ACME GmbH", number="INV-001", created_at=T0)
    resent = make_record("resent", vendor="Acme GmbH.", number="inv 1", created_at=T0 + timedelta(days=1))
    for record in (first, resent) if oldest_saved_first else (resent, first):
        repo.save_invoice(record)
    repo.save_invoice(make_record("other-number", vendor="ACME GmbH", number="INV-002"))
    repo.save_invoice(make_record("other-vendor", vendor="Globex Ltd", number="INV-001"))

    found = repo.find_by_business_key(vendor_key("acme"), invoice_number_key("INV001"))

    assert [r.id for r in found] == ["first", "resent"]


def test_find_by_business_key_never_matches_on_missing_keys(repo: Repository) -> None:
    repo.save_invoice(make_record("no-number-1", number=None))
    repo.save_invoice(make_record("no-number-2", number=None))
    repo.save_invoice(make_record("no-vendor", vendor=None))

    assert repo.find_by_business_key(vendor_key("ACME GmbH"), "") == []
    assert repo.find_by_business_key("", invoice_number_key("INV-001")) == []


def test_record_without_extraction_is_stored(repo: Repository) -> None:
    record = make_record("raw").model_copy(update={"extraction": None, "status": InvoiceStatus.FAILED})
    repo.save_invoice(record)

    assert repo.get_invoice("raw") == record
    assert repo.find_by_business_key(vendor_key("ACME GmbH"), invoice_number_key("INV-001")) == []


IN_TIME_ORDER = [
    AuditEntry(at=T0, actor="papyr", action="received", detail={"blob": "documents/x.pdf"}),
    AuditEntry(at=T0 + timedelta(seconds=5), actor="papyr", action="extracted", detail={"fields": 12}),
    AuditEntry(at=T0 + timedelta(hours=2), actor="cfo@example.com", action="approved", detail={"comment": "fine, ok"}),
]
OUT_OF_TIME_ORDER = [
    AuditEntry(at=T0 + timedelta(hours=2), actor="papyr", action="received", detail={"blob": "documents/x.pdf"}),
    AuditEntry(at=T0, actor="papyr", action="extracted", detail={"fields": 12, "nested": {"a": [1, 2]}}),
    AuditEntry(at=T0 + timedelta(hours=1), actor="cfo@example.com", action="approved", detail={"comment": "ok"}),
]


@pytest.mark.parametrize("entries", [IN_TIME_ORDER, OUT_OF_TIME_ORDER], ids=["in-time-order", "out-of-time-order"])
def test_audit_trail_keeps_entries_in_append_order(repo: Repository, entries: list[AuditEntry]) -> None:
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


def test_items_upsert_read_and_list_by_kind_in_key_order(repo: Repository) -> None:
    repo.put_item("user", "zoe@example.com", {"name": "Zoe", "roles": ["clerk"]})
    repo.put_item("user", "ann@example.com", {"name": "Ann", "roles": ["approver"]})
    repo.put_item("vendor_profile", "ann@example.com", {"other": "kind, same key"})
    repo.put_item("user", "ann@example.com", {"name": "Ann B.", "roles": ["approver", "admin"]})

    assert repo.get_item("user", "ann@example.com") == {"name": "Ann B.", "roles": ["approver", "admin"]}
    assert repo.get_item("user", "nobody@example.com") is None
    assert repo.list_items("user") == [
        {"name": "Ann B.", "roles": ["approver", "admin"]},
        {"name": "Zoe", "roles": ["clerk"]},
    ]
    assert repo.list_items("vendor_profile") == [{"other": "kind, same key"}]
    assert repo.list_items("purchase_order") == []


def test_create_item_is_true_exactly_once_per_kind_and_key(repo: Repository) -> None:
    assert repo.create_item("action_token", "tok/1?#", {"used_by": "ann"}) is True
    assert repo.create_item("action_token", "tok/1?#", {"used_by": "eve"}) is False
    assert repo.get_item("action_token", "tok/1?#") == {"used_by": "ann"}
    assert repo.create_item("other", "tok/1?#", {}) is True


def test_update_item_creates_then_changes_what_is_stored(repo: Repository) -> None:
    seen: list[dict[str, object] | None] = []

    def append(value: int) -> Callable[[dict[str, Any] | None], dict[str, Any]]:
        def change(data: dict[str, Any] | None) -> dict[str, Any]:
            seen.append(data)
            return {"values": [*(data or {"values": []})["values"], value]}

        return change

    assert repo.update_item("vendor_history", "acme", append(1)) == {"values": [1]}
    assert repo.update_item("vendor_history", "acme", append(2)) == {"values": [1, 2]}
    assert seen == [None, {"values": [1]}]
    assert repo.get_item("vendor_history", "acme") == {"values": [1, 2]}


def test_concurrent_update_item_loses_no_update(repo: Repository) -> None:
    def work(worker: int) -> None:
        for i in range(10):
            repo.update_item(
                "vendor_history", "acme", lambda data, v=f"{worker}-{i}": {"seen": [*(data or {}).get("seen", []), v]}
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(work, range(4)))

    stored = repo.get_item("vendor_history", "acme")
    assert stored is not None and sorted(stored["seen"]) == sorted(f"{w}-{i}" for w in range(4) for i in range(10))


@pytest.mark.parametrize(("workers", "per_worker"), [(4, 10), (8, 25)])
def test_threads_write_and_claim_concurrently(repo: Repository, workers: int, per_worker: int) -> None:
    def work(worker: int) -> list[bool]:
        claims = []
        for i in range(per_worker):
            repo.save_invoice(make_record(f"w{worker}-{i}", created_at=T0 + timedelta(seconds=i)))
            repo.append_audit(f"w{worker}-{i}", AuditEntry(actor=f"worker-{worker}", action="saved"))
            claims.append(repo.claim_message("ap@example.com", f"<shared-{i}@x>"))
        return claims

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(work, range(workers)))

    assert len(repo.list_invoices(limit=1000)) == workers * per_worker
    assert all(len(repo.audit_trail(f"w{w}-{i}")) == 1 for w in range(workers) for i in range(per_worker))
    # Each shared message id was claimed by exactly one thread.
    assert [sum(result[i] for result in results) for i in range(per_worker)] == [1] * per_worker
