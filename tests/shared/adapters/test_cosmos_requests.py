"""The requests CosmosRepository makes the SDK send (paths, partition key headers, If-Match, create
vs upsert), ETag concurrency between two hosts, and the request charges of one invoice's life."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from azure.cosmos import CosmosClient
from pydantic import SecretStr

from shared.adapters.azure.cosmos import ConcurrentUpdateError, CosmosRepository, cosmos_client
from shared.adapters.azure.cosmos_layout import AUDIT, CONTAINERS, INVOICES, document_id
from shared.domain import AuditEntry, InvoiceStatus, Vendor
from shared.domain.keys import invoice_number_key, vendor_key
from shared.services import Services
from shared.settings import Settings
from tests.shared.adapters.recorded.cosmos.responder import (
    ENDPOINT,
    CosmosShapedTransport,
    RecordedRequest,
    serve_over_http,
)
from tests.shared.adapters.test_cosmos_repository import EMULATOR_KEY, T0, make_record

DOCS = "/dbs/papyr/colls/{}/docs"


def _transport() -> CosmosShapedTransport:
    return CosmosShapedTransport("papyr", {name: spec.partition_key_path for name, spec in CONTAINERS.items()})


def _repository(transport: CosmosShapedTransport) -> CosmosRepository:
    return CosmosRepository(CosmosClient(ENDPOINT, credential=EMULATOR_KEY, transport=transport), "papyr")


def _since(transport: CosmosShapedTransport, mark: int) -> list[RecordedRequest]:
    return [r for r in transport.requests[mark:] if "/docs" in r.path]


def _shape(request: RecordedRequest) -> tuple[str, str, str | None, str | None, bool]:
    return (
        request.method,
        request.path.rstrip("/"),
        request.header("x-ms-documentdb-partitionkey"),
        request.header("If-Match"),
        (request.header("x-ms-documentdb-is-upsert") or "").lower() == "true",
    )


def test_invoice_writes_upsert_first_then_replace_with_if_match() -> None:
    transport = _transport()
    repo = _repository(transport)
    mark = len(transport.requests)

    repo.save_invoice(make_record("inv1"))  # no ETag known: a plain upsert, as SQLite's INSERT OR UPDATE
    etag = transport.stored(INVOICES)[0]["_etag"]
    repo.save_invoice(make_record("inv1", status=InvoiceStatus.APPROVED))
    loaded = repo.get_invoice("inv1")

    assert [_shape(r) for r in _since(transport, mark)] == [
        ("POST", DOCS.format("invoices"), '["inv1"]', None, True),
        ("PUT", DOCS.format("invoices") + "/inv1", '["inv1"]', etag, False),
        ("GET", DOCS.format("invoices") + "/inv1", '["inv1"]', None, False),
    ]
    assert loaded is not None and loaded.status is InvoiceStatus.APPROVED
    document = transport.stored(INVOICES)[0]
    assert {k: document[k] for k in ("id", "status", "vendor_key", "invoice_number_key", "created_at")} == {
        "id": "inv1",
        "status": "approved",
        "vendor_key": vendor_key("ACME GmbH"),
        "invoice_number_key": invoice_number_key("INV-001"),
        "created_at": "2024-03-01T09:00:00.000000+00:00",
    }


def test_a_stale_copy_cannot_overwrite_a_newer_write_from_another_host() -> None:
    transport = _transport()
    host_a, host_b = _repository(transport), _repository(transport)
    host_a.save_invoice(make_record("inv1"))
    copy_a = host_a.get_invoice("inv1")
    copy_b = host_b.get_invoice("inv1")
    assert copy_a is not None and copy_b is not None

    approved = copy_b.model_copy(update={"status": InvoiceStatus.APPROVED, "updated_at": T0 + timedelta(hours=1)})
    host_b.save_invoice(approved)
    mark = len(transport.requests)
    with pytest.raises(ConcurrentUpdateError, match="re-read"):
        host_a.save_invoice(copy_a.model_copy(update={"reason": "stale"}))

    requests = _since(transport, mark)
    assert [(r.method, r.status) for r in requests] == [("PUT", 412), ("GET", 200)]
    assert host_a.get_invoice("inv1") == approved  # B's approval survived
    host_a.save_invoice(approved.model_copy(update={"reason": "after re-read"}))  # a fresh read may write
    assert (host_b.get_invoice("inv1") or approved).reason == "after re-read"


def test_a_retried_identical_write_after_a_412_is_accepted() -> None:
    transport = _transport()
    host_a, host_b = _repository(transport), _repository(transport)
    host_a.save_invoice(make_record("inv1"))
    assert host_b.get_invoice("inv1") is not None
    final = make_record("inv1", status=InvoiceStatus.EXPORTED)
    host_a.save_invoice(final)  # B's ETag is now stale, but B writes the very same record

    host_b.save_invoice(final)

    assert host_b.get_invoice("inv1") == final


def test_update_invoice_re_reads_and_reapplies_after_a_concurrent_write() -> None:
    transport = _transport()
    host_a, host_b = _repository(transport), _repository(transport)
    host_a.save_invoice(make_record("inv1"))
    interleaved = []

    def add_finding_reason(record):  # type: ignore[no-untyped-def]
        if not interleaved:  # the first attempt races another host's write
            interleaved.append(True)
            host_b.update_invoice("inv1", lambda r: r.model_copy(update={"risk_score": 0.7}))
        return record.model_copy(update={"reason": "checked"})

    result = host_a.update_invoice("inv1", add_finding_reason)

    stored = host_a.get_invoice("inv1")
    assert stored == result
    assert stored is not None and stored.reason == "checked" and stored.risk_score == 0.7
    assert [r.status for r in transport.document_requests() if r.method == "PUT"].count(412) == 1


def test_audit_is_create_only_with_sortable_ids_in_the_invoice_partition() -> None:
    transport = _transport()
    repo = _repository(transport)
    mark = len(transport.requests)
    for action in ("received", "extracted", "approved"):
        repo.append_audit("inv-1", AuditEntry(at=T0, actor="papyr", action=action))
    repo.audit_trail("inv-1")

    requests = _since(transport, mark)
    writes, query = requests[:3], requests[3]
    assert {(r.method, r.path.rstrip("/"), r.header("x-ms-documentdb-partitionkey")) for r in writes} == {
        ("POST", DOCS.format("audit"), '["inv-1"]')
    }
    assert not any(_shape(r)[4] for r in writes)  # never an upsert
    ids = [r.body["id"] for r in writes]
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert query.header("x-ms-documentdb-partitionkey") == '["inv-1"]'  # one partition, no fan-out
    assert query.body["query"] == "SELECT * FROM c WHERE c.invoice_id = @invoice_id ORDER BY c.id"
    assert all(r.method in ("POST",) for r in transport.requests if AUDIT in r.path and "/docs" in r.path)


def test_claims_are_creates_and_a_409_means_already_claimed() -> None:
    transport = _transport()
    repo = _repository(transport)
    mark = len(transport.requests)

    assert repo.claim_message("ap@example.com", "<m/1@x>") is True
    assert repo.claim_message("ap@example.com", "<m/1@x>") is False
    assert repo.claim_export("inv-1", "json") is True
    assert repo.claim_export("inv-1", "json") is False

    requests = _since(transport, mark)
    assert [(r.method, r.path.rstrip("/"), r.header("x-ms-documentdb-partitionkey"), r.status) for r in requests] == [
        ("POST", DOCS.format("messages"), '["ap@example.com"]', 201),
        ("POST", DOCS.format("messages"), '["ap@example.com"]', 409),
        ("POST", DOCS.format("exports"), '["inv-1"]', 201),
        ("POST", DOCS.format("exports"), '["inv-1"]', 409),
    ]
    assert requests[0].body["id"] == document_id("<m/1@x>") == "<m%2F1@x>"
    assert requests[0].body["message_id"] == "<m/1@x>"
    assert not any(_shape(r)[4] for r in requests)


def test_list_invoices_is_a_cross_partition_order_by_through_the_query_plan() -> None:
    transport = _transport()
    repo = _repository(transport)
    for i in range(3):
        repo.save_invoice(make_record(f"id{i}", created_at=T0 + timedelta(minutes=i)))
    mark = len(transport.requests)

    assert [r.id for r in repo.list_invoices(InvoiceStatus.RECEIVED, limit=2)] == ["id2", "id1"]

    queries = [r for r in _since(transport, mark) if r.method == "POST"]
    first = queries[0]
    assert first.body == {
        "query": "SELECT TOP @limit * FROM c WHERE c.status = @status ORDER BY c.created_at DESC, c.id DESC",
        "parameters": [{"name": "@limit", "value": 2}, {"name": "@status", "value": "received"}],
    }
    assert (first.header("x-ms-documentdb-query-enablecrosspartition") or "").lower() == "true"
    assert first.status == 400  # 1004: not servable by the gateway, so the SDK asks for the plan
    assert any((r.header("x-ms-cosmos-is-query-plan-request") or "").lower() == "true" for r in queries)
    assert queries[-1].header("x-ms-documentdb-partitionkeyrangeid") is not None


def test_find_by_business_key_is_one_filtered_query() -> None:
    transport = _transport()
    repo = _repository(transport)
    repo.save_invoice(make_record("first"))
    mark = len(transport.requests)

    assert [r.id for r in repo.find_by_business_key("acme", "INV1")] == ["first"]

    [query] = _since(transport, mark)
    assert query.status == 200 and query.header("x-ms-documentdb-partitionkey") is None
    assert query.body["parameters"] == [
        {"name": "@vendor_key", "value": "acme"},
        {"name": "@invoice_number_key", "value": "INV1"},
    ]


def test_request_charges_of_one_invoice_life() -> None:
    """The RU estimate docs/cosmos.md quotes: one invoice from intake to export, summed from the
    x-ms-request-charge headers (sizes priced by recorded/cosmos/request_charges.json)."""
    transport = _transport()
    repo = _repository(transport)
    repo.upsert_vendor(Vendor(name="ACME GmbH", iban="DE89370400440532013000"))
    repo.save_invoice(make_record("older", created_at=T0 - timedelta(days=30)))
    mark = len(transport.requests)

    record = make_record("inv", created_at=T0)
    assert repo.claim_message("ap@example.com", "<m1@x>")
    repo.save_invoice(record)
    repo.append_audit("inv", AuditEntry(actor="papyr", action="received"))
    for status in (InvoiceStatus.PROCESSING, InvoiceStatus.AWAITING_APPROVAL, InvoiceStatus.APPROVED):
        current = repo.get_invoice("inv")
        assert current is not None
        repo.save_invoice(current.model_copy(update={"status": status}))
        repo.append_audit("inv", AuditEntry(actor="papyr", action=status.value))
    repo.find_by_business_key("acme", "INV1")
    repo.list_vendors()
    assert repo.claim_export("inv", "json")
    final = repo.get_invoice("inv")
    assert final is not None
    repo.save_invoice(final.model_copy(update={"status": InvoiceStatus.EXPORTED}))
    repo.append_audit("inv", AuditEntry(actor="papyr", action="exported"))

    requests = _since(transport, mark)
    total = sum(r.request_charge for r in requests)
    by_kind: dict[str, float] = {}
    for r in requests:
        kind = "query" if r.body and "query" in r.body else r.method
        by_kind[kind] = by_kind.get(kind, 0.0) + r.request_charge
    print(json.dumps({"ru_per_invoice": round(total, 2), "by_kind": {k: round(v, 2) for k, v in by_kind.items()}}))
    assert all(r.status < 400 for r in requests)
    assert len([r for r in requests if r.method in ("POST", "PUT") and not (r.body and "query" in r.body)]) == 12
    assert 40 < total < 120  # 12 writes of ~5 RU, 4 reads of ~1 RU, 2 queries of ~3 RU


def test_services_choose_cosmos_when_an_endpoint_is_set(tmp_path: Path) -> None:
    transport = _transport()
    with serve_over_http(transport) as endpoint:
        settings = Settings(
            data_dir=tmp_path, cosmos_endpoint=endpoint, cosmos_database="papyr", cosmos_key=SecretStr(EMULATOR_KEY)
        )
        repo = Services.from_settings(settings).repo
        assert isinstance(repo, CosmosRepository)
        assert repo.claim_export("inv", "json") and not repo.claim_export("inv", "json")
    assert [r.status for r in transport.document_requests()] == [201, 409]
    assert not isinstance(Services.from_settings(Settings(data_dir=tmp_path)).repo, CosmosRepository)


def test_cosmos_client_with_a_key_signs_requests_with_it() -> None:
    transport = _transport()
    repo = CosmosRepository(cosmos_client(ENDPOINT, SecretStr(EMULATOR_KEY), transport=transport), "papyr")
    repo.claim_export("inv", "json")

    authorization = transport.document_requests()[0].header("authorization") or ""
    assert "type%3Dmaster" in authorization and "sig%3D" in authorization


def test_update_item_re_reads_after_a_412_and_after_a_409_on_create() -> None:
    transport = _transport()
    host_a, host_b = _repository(transport), _repository(transport)
    raced: list[str] = []

    def add(value: str):  # type: ignore[no-untyped-def]
        def change(data):  # type: ignore[no-untyped-def]
            if len(raced) < 2 and value == "a":  # each of A's first two attempts races a write by B
                raced.append("b")
                host_b.update_item("vendor_history", "acme", lambda d: {"seen": [*(d or {}).get("seen", []), "b"]})
            return {"seen": [*(data or {}).get("seen", []), value]}

        return change

    mark = len(transport.requests)
    written = host_a.update_item("vendor_history", "acme", add("a"))

    assert written == {"seen": ["b", "b", "a"]}
    assert host_b.get_item("vendor_history", "acme") == written
    statuses = [(r.method, r.status) for r in _since(transport, mark)]
    assert ("POST", 409) in statuses  # A's create lost to B's
    assert ("PUT", 412) in statuses  # A's replace lost to B's second write
