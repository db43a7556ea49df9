"""CosmosRepository against a real Cosmos DB emulator, when COSMOS_EMULATOR_ENDPOINT names one
(for example https://localhost:8081/); COSMOS_EMULATOR_KEY overrides the emulator's published key."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from azure.cosmos import CosmosClient

from shared.adapters.azure.cosmos import ConcurrentUpdateError, CosmosRepository, ensure_containers
from shared.domain import AuditEntry, InvoiceStatus, Vendor
from tests.shared.adapters.test_cosmos_repository import EMULATOR_KEY, T0, make_record

ENDPOINT = os.environ.get("COSMOS_EMULATOR_ENDPOINT", "")

pytestmark = pytest.mark.skipif(
    not ENDPOINT, reason="COSMOS_EMULATOR_ENDPOINT is not set (no Cosmos DB emulator to run against)"
)


@pytest.fixture
def client() -> Iterator[tuple[CosmosClient, str]]:
    # The emulator serves a self-signed certificate.
    cosmos = CosmosClient(
        ENDPOINT, credential=os.environ.get("COSMOS_EMULATOR_KEY", EMULATOR_KEY), connection_verify=False
    )
    database = f"papyr-test-{uuid.uuid4().hex[:12]}"
    ensure_containers(cosmos, database)
    ensure_containers(cosmos, database)  # idempotent
    yield cosmos, database
    cosmos.delete_database(database)


def test_the_whole_repository_on_the_emulator(client: tuple[CosmosClient, str]) -> None:
    repo = CosmosRepository(*client)
    for i in range(3):
        repo.save_invoice(make_record(f"id{i}", created_at=T0 + timedelta(minutes=i)))
    repo.save_invoice(make_record("id1", status=InvoiceStatus.APPROVED, created_at=T0 + timedelta(minutes=1)))

    assert [r.id for r in repo.list_invoices()] == ["id2", "id1", "id0"]
    assert [r.id for r in repo.list_invoices(InvoiceStatus.APPROVED, limit=5)] == ["id1"]
    assert [r.id for r in repo.find_by_business_key("acme", "INV1")] == ["id0", "id1", "id2"]
    for action in ("received", "approved"):
        repo.append_audit("id1", AuditEntry(actor="papyr", action=action))
    assert [e.action for e in repo.audit_trail("id1")] == ["received", "approved"]
    assert repo.claim_message("ap@example.com", "<a/b?c#d%@x>") and not repo.claim_message(
        "ap@example.com", "<a/b?c#d%@x>"
    )
    assert repo.message_claimed("ap@example.com", "<a/b?c#d%@x>")
    assert repo.claim_export("id1", "json") and not repo.claim_export("id1", "json")
    repo.upsert_vendor(Vendor(name="Acme GmbH"))
    repo.upsert_vendor(Vendor(name="ACME GmbH."))
    assert repo.list_vendors() == [Vendor(name="ACME GmbH.")]


def test_etag_conflict_on_the_emulator(client: tuple[CosmosClient, str]) -> None:
    host_a, host_b = CosmosRepository(*client), CosmosRepository(*client)
    host_a.save_invoice(make_record("inv"))
    stale = host_a.get_invoice("inv")
    fresh = host_b.get_invoice("inv")
    assert stale is not None and fresh is not None
    host_b.save_invoice(fresh.model_copy(update={"status": InvoiceStatus.APPROVED}))

    with pytest.raises(ConcurrentUpdateError):
        host_a.save_invoice(stale.model_copy(update={"reason": "stale"}))
