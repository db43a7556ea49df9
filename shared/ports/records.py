from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shared.domain import AuditEntry, InvoiceRecord, InvoiceStatus, Vendor


class Repository(Protocol):
    """Records: invoices, the append-only audit trail, seen messages, vendors, exports, and small
    keyed items (users, vendor profiles, purchase orders, used action tokens, ...).

    Local adapter: SQLite. Azure adapter: Cosmos DB. Every write is idempotent by key.
    """

    # invoices (id = document SHA-256)
    def save_invoice(self, record: InvoiceRecord) -> None: ...

    def get_invoice(self, invoice_id: str) -> InvoiceRecord | None: ...

    def list_invoices(self, status: InvoiceStatus | None = None, limit: int = 500) -> list[InvoiceRecord]: ...

    def find_by_business_key(self, vendor_key: str, invoice_number_key: str) -> list[InvoiceRecord]: ...

    # audit trail: append-only
    def append_audit(self, invoice_id: str, entry: AuditEntry) -> None: ...

    def audit_trail(self, invoice_id: str) -> list[AuditEntry]: ...

    # message-level dedupe: True the first time a (mailbox, message id) is claimed. Intake claims a
    # message only after its documents are stored, so a crash in between re-reads it, never loses it.
    def claim_message(self, mailbox: str, message_id: str) -> bool: ...

    def message_claimed(self, mailbox: str, message_id: str) -> bool: ...

    # vendor master
    def upsert_vendor(self, vendor: Vendor) -> None: ...

    def list_vendors(self) -> list[Vendor]: ...

    # exactly-once export ledger: True the first time (invoice id, target) is claimed
    def claim_export(self, invoice_id: str, target: str) -> bool: ...

    # small keyed items, grouped by kind ("user", "vendor_profile", "purchase_order", ...): JSON
    # objects of a few KB, read by key or a whole kind at a time. Bounded contexts keep their own
    # typed store on top of these four calls, so a new kind of record needs no adapter change.
    def put_item(self, kind: str, key: str, data: dict[str, Any]) -> None:
        """Insert or replace."""
        ...

    def get_item(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def list_items(self, kind: str) -> list[dict[str, Any]]:
        """Every item of a kind, ordered by key."""
        ...

    def create_item(self, kind: str, key: str, data: dict[str, Any]) -> bool:
        """Insert only: True the first time (kind, key) is written, False after (a claim)."""
        ...

    def update_item(
        self, kind: str, key: str, change: Callable[[dict[str, Any] | None], dict[str, Any]]
    ) -> dict[str, Any]:
        """Read-modify-write that loses no concurrent update: ``change`` gets the stored data (None when
        there is none) and returns the new; it runs again on fresh data if another writer got there
        first. Returns what was written."""
        ...
