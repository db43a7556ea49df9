"""Repository on Azure Cosmos DB (NoSQL API): the Azure host's records.

Same behaviour as ``SqliteRepository``; the layout (containers, partition keys, indexes) is in
``cosmos_layout`` and explained in docs/cosmos.md.

Concurrency on invoices: every write returns the document's ETag and every read or query
remembers it, per invoice id, in this repository. ``save_invoice`` of an id with a known ETag
is a replace with If-Match, so a copy read before someone else's write cannot silently undo that
write: the 412 is re-read, and the save succeeds only if the stored record already equals the one
being saved (a retried write); otherwise ``ConcurrentUpdateError`` says to re-read. An id with no
known ETag (a first save, or a new host that has not read it) is a plain upsert, as in SQLite.
``update_invoice`` is the read-modify-write loop that retries 412s a bounded number of times.

The audit container is append-only: this class only ever calls ``create_item`` on it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)
from pydantic import SecretStr

from shared.adapters.azure.cosmos_layout import (
    AUDIT,
    CONTAINERS,
    EXPORTS,
    INVOICES,
    ITEMS,
    MESSAGES,
    VENDORS,
    SortableIds,
    document_id,
    timestamp,
)
from shared.domain import AuditEntry, InvoiceRecord, InvoiceStatus, Vendor
from shared.domain.keys import invoice_number_key, vendor_key

UPDATE_ATTEMPTS = 5
BACKOFF_S = 0.01  # the first re-read waits up to this long, each later one up to twice as long
ETAG_CACHE_SIZE = 10_000


class ConcurrentUpdateError(RuntimeError):
    """Another writer changed the invoice (or item) after this copy was read: re-read it and apply the
    change again."""


def cosmos_client(endpoint: str, key: SecretStr | None = None, **options: Any) -> CosmosClient:
    """A client authenticated by the account key when given, else by Entra ID (managed identity
    on Azure, the developer's login locally). ``options`` go to the SDK (``transport=`` in tests)."""
    if key is not None:
        return CosmosClient(endpoint, credential=key.get_secret_value(), **options)
    from azure.identity import DefaultAzureCredential

    return CosmosClient(endpoint, credential=DefaultAzureCredential(), **options)


def ensure_containers(client: CosmosClient, database: str) -> None:
    """Create the database and containers where missing (emulator, dev). Production: Terraform."""
    db = client.create_database_if_not_exists(database)
    for spec in CONTAINERS.values():
        db.create_container_if_not_exists(
            spec.name, PartitionKey(path=spec.partition_key_path), indexing_policy=spec.indexing_policy()
        )


class _EtagCache:
    """The last ETag seen per invoice id, bounded (least recently used out)."""

    def __init__(self, size: int = ETAG_CACHE_SIZE) -> None:
        self._size = size
        self._etags: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, invoice_id: str) -> str | None:
        with self._lock:
            return self._etags.get(invoice_id)

    def remember(self, document: dict[str, Any]) -> None:
        etag = document.get("_etag")
        if not etag:
            return
        with self._lock:
            self._etags[document["id"]] = etag
            self._etags.move_to_end(document["id"])
            while len(self._etags) > self._size:
                self._etags.popitem(last=False)


class CosmosRepository:
    def __init__(self, client: CosmosClient, database: str) -> None:
        db = client.get_database_client(database)
        self._containers: dict[str, ContainerProxy] = {name: db.get_container_client(name) for name in CONTAINERS}
        self._etags = _EtagCache()
        self._audit_ids = SortableIds()

    # -- invoices ------------------------------------------------------------------------------

    def save_invoice(self, record: InvoiceRecord) -> None:
        document = _invoice_document(record)
        container = self._containers[INVOICES]
        etag = self._etags.get(record.id)
        if etag is None:
            self._etags.remember(container.upsert_item(document))
            return
        try:
            self._etags.remember(
                container.replace_item(record.id, document, etag=etag, match_condition=MatchConditions.IfNotModified)
            )
        except CosmosResourceNotFoundError:  # nothing deletes invoices, but an emptied container may
            self._etags.remember(container.upsert_item(document))
        except CosmosAccessConditionFailedError:
            current = self._read_invoice_document(record.id)
            if current is not None and _record_of(current) == record:
                return  # the same write already landed (a retried activity)
            raise ConcurrentUpdateError(
                f"invoice {record.id} was changed by another writer since it was read; re-read it and retry"
            ) from None

    def update_invoice(
        self, invoice_id: str, change: Callable[[InvoiceRecord], InvoiceRecord], attempts: int = UPDATE_ATTEMPTS
    ) -> InvoiceRecord:
        """Read, apply ``change``, write with If-Match; on a concurrent write, re-read and apply again."""
        for attempt in range(attempts):
            _back_off(attempt)
            record = self.get_invoice(invoice_id)
            if record is None:
                raise KeyError(invoice_id)
            updated = change(record)
            try:
                self.save_invoice(updated)
                return updated
            except ConcurrentUpdateError:
                continue
        raise ConcurrentUpdateError(f"invoice {invoice_id} kept changing under {attempts} attempts to update it")

    def _read_invoice_document(self, invoice_id: str) -> dict[str, Any] | None:
        try:
            document: dict[str, Any] = self._containers[INVOICES].read_item(invoice_id, partition_key=invoice_id)
        except CosmosResourceNotFoundError:
            return None
        self._etags.remember(document)
        return document

    def get_invoice(self, invoice_id: str) -> InvoiceRecord | None:
        document = self._read_invoice_document(invoice_id)
        return _record_of(document) if document is not None else None

    def list_invoices(self, status: InvoiceStatus | None = None, limit: int = 500) -> list[InvoiceRecord]:
        """Newest first (by created_at, then id); a cross-partition ORDER BY on the composite index."""
        parameters: list[dict[str, Any]] = [{"name": "@limit", "value": int(limit)}]
        where = ""
        if status is not None:
            where = "WHERE c.status = @status "
            parameters.append({"name": "@status", "value": InvoiceStatus(status).value})
        query = f"SELECT TOP @limit * FROM c {where}ORDER BY c.created_at DESC, c.id DESC"
        documents = self._query(INVOICES, query, parameters)
        return [_record_of(document) for document in documents]

    def find_by_business_key(self, vendor_key: str, invoice_number_key: str) -> list[InvoiceRecord]:
        """Oldest first; empty keys match nothing. The few matches are sorted here, which keeps the
        query a simple filter the gateway serves in one round trip (no query plan)."""
        if not vendor_key or not invoice_number_key:
            return []
        documents = self._query(
            INVOICES,
            "SELECT * FROM c WHERE c.vendor_key = @vendor_key AND c.invoice_number_key = @invoice_number_key",
            [
                {"name": "@vendor_key", "value": vendor_key},
                {"name": "@invoice_number_key", "value": invoice_number_key},
            ],
        )
        documents.sort(key=lambda document: (document["created_at"], document["id"]))
        return [_record_of(document) for document in documents]

    def _query(
        self, container: str, query: str, parameters: list[dict[str, Any]], partition_key: str | None = None
    ) -> list[dict[str, Any]]:
        if partition_key is None:
            items: Iterable[dict[str, Any]] = self._containers[container].query_items(
                query, parameters=parameters, enable_cross_partition_query=True
            )
        else:
            items = self._containers[container].query_items(query, parameters=parameters, partition_key=partition_key)
        documents = list(items)
        if container == INVOICES:
            for document in documents:
                self._etags.remember(document)
        return documents

    # -- audit trail ---------------------------------------------------------------------------

    def append_audit(self, invoice_id: str, entry: AuditEntry) -> None:
        """create_item only: an id that exists is a 409, never an overwrite."""
        dumped = entry.model_dump(mode="json")
        self._containers[AUDIT].create_item(
            {
                "id": self._audit_ids.next(),
                "invoice_id": invoice_id,
                "at": dumped["at"],
                "actor": entry.actor,
                "action": entry.action,
                "detail": dumped["detail"],
            }
        )

    def audit_trail(self, invoice_id: str) -> list[AuditEntry]:
        """Entries in append order: ids sort by append time, one logical partition per invoice."""
        documents = self._query(
            AUDIT,
            "SELECT * FROM c WHERE c.invoice_id = @invoice_id ORDER BY c.id",
            [{"name": "@invoice_id", "value": invoice_id}],
            partition_key=invoice_id,
        )
        return [
            AuditEntry(at=datetime.fromisoformat(d["at"]), actor=d["actor"], action=d["action"], detail=d["detail"])
            for d in documents
        ]

    # -- dedupe and exactly-once ledgers -------------------------------------------------------

    def _claim(self, container: str, document: dict[str, Any]) -> bool:
        try:
            self._containers[container].create_item(document)
        except CosmosResourceExistsError:
            return False
        return True

    def claim_message(self, mailbox: str, message_id: str) -> bool:
        return self._claim(
            MESSAGES,
            {"id": document_id(message_id), "mailbox": mailbox, "message_id": message_id, "claimed_at": _now()},
        )

    def message_claimed(self, mailbox: str, message_id: str) -> bool:
        try:
            self._containers[MESSAGES].read_item(document_id(message_id), partition_key=mailbox)
        except CosmosResourceNotFoundError:
            return False
        return True

    def claim_export(self, invoice_id: str, target: str) -> bool:
        return self._claim(
            EXPORTS, {"id": document_id(target), "invoice_id": invoice_id, "target": target, "claimed_at": _now()}
        )

    # -- vendor master -------------------------------------------------------------------------

    def upsert_vendor(self, vendor: Vendor) -> None:
        """Keyed by the normalised name: 'ACME GmbH' replaces an earlier 'Acme GmbH.'."""
        key = vendor_key(vendor.name)
        if not key:
            raise ValueError("a vendor needs a name")
        self._containers[VENDORS].upsert_item(
            {"id": document_id(key), "key": key, "name": vendor.name, "record": vendor.model_dump(mode="json")}
        )

    def list_vendors(self) -> list[Vendor]:
        """Ordered by key; the whole master is read anyway, so it is sorted here (no query plan)."""
        documents = self._query(VENDORS, "SELECT * FROM c", [])
        documents.sort(key=lambda document: document["key"])
        return [Vendor.model_validate(document["record"]) for document in documents]

    # -- small keyed items ---------------------------------------------------------------------

    def _item(self, kind: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": document_id(key), "kind": kind, "key": key, "updated_at": _now(), "data": data}

    def put_item(self, kind: str, key: str, data: dict[str, Any]) -> None:
        self._containers[ITEMS].upsert_item(self._item(kind, key, data))

    def get_item(self, kind: str, key: str) -> dict[str, Any] | None:
        try:
            document = self._containers[ITEMS].read_item(document_id(key), partition_key=kind)
        except CosmosResourceNotFoundError:
            return None
        return dict(document["data"])

    def list_items(self, kind: str) -> list[dict[str, Any]]:
        """One partition; sorted by key here, which keeps the query a plain filter."""
        documents = self._query(
            ITEMS, "SELECT * FROM c WHERE c.kind = @kind", [{"name": "@kind", "value": kind}], partition_key=kind
        )
        documents.sort(key=lambda document: document["key"])
        return [dict(document["data"]) for document in documents]

    def create_item(self, kind: str, key: str, data: dict[str, Any]) -> bool:
        return self._claim(ITEMS, self._item(kind, key, data))

    def update_item(
        self,
        kind: str,
        key: str,
        change: Callable[[dict[str, Any] | None], dict[str, Any]],
        attempts: int = UPDATE_ATTEMPTS,
    ) -> dict[str, Any]:
        """Read, apply ``change``, then create (none stored) or replace with If-Match; when another
        writer got there first (409 / 412), re-read and apply again."""
        container = self._containers[ITEMS]
        for attempt in range(attempts):
            _back_off(attempt)
            try:
                document = container.read_item(document_id(key), partition_key=kind)
            except CosmosResourceNotFoundError:
                data = change(None)
                if self._claim(ITEMS, self._item(kind, key, data)):
                    return data
                continue
            data = change(dict(document["data"]))
            try:
                container.replace_item(
                    document["id"],
                    self._item(kind, key, data),
                    etag=document["_etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
            except CosmosAccessConditionFailedError:
                continue
            return data
        raise ConcurrentUpdateError(f"item {kind}/{key} kept changing under {attempts} attempts to update it")


def _back_off(attempt: int) -> None:
    """Before a re-read after losing a race: a random wait that doubles, so writers racing for one
    document stop colliding (none before the first attempt)."""
    if attempt:
        time.sleep(random.uniform(0, BACKOFF_S * 2 ** (attempt - 1)))


def _now() -> str:
    return timestamp(datetime.now(UTC))


def _invoice_document(record: InvoiceRecord) -> dict[str, Any]:
    """Top-level fields are what queries filter and sort on; ``record`` is the whole model (not indexed)."""
    extraction = record.extraction
    return {
        "id": record.id,
        "status": record.status.value,
        "vendor_key": vendor_key(extraction.value("vendor_name")) if extraction else "",
        "invoice_number_key": invoice_number_key(extraction.value("invoice_number")) if extraction else "",
        "created_at": timestamp(record.created_at),
        "updated_at": timestamp(record.updated_at),
        "record": record.model_dump(mode="json"),
    }


def _record_of(document: dict[str, Any]) -> InvoiceRecord:
    return InvoiceRecord.model_validate(document["record"])
