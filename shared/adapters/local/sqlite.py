"""Repository on SQLite: the embedded host's records.

One connection per thread (``threading.local``), WAL journal so readers never block the writer,
and a busy timeout so a second thread or process waits for the write lock instead of failing.
Writes run in ``BEGIN IMMEDIATE`` transactions: the write lock is taken up front, so two writers
never deadlock upgrading a read lock.

The audit table is append-only twice over: this class has no method that changes or removes a
row, and triggers abort any UPDATE or DELETE that reaches the database by other means.

Schema versions are kept in ``PRAGMA user_version``; ``_MIGRATIONS[n]`` takes the schema from
version n to n + 1 and every statement is idempotent, so a half-applied migration can rerun.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.adapters.local.sqlite_db import SqliteDatabase
from shared.domain import AuditEntry, InvoiceRecord, InvoiceStatus, Vendor
from shared.domain.keys import invoice_number_key, vendor_key

BUSY_TIMEOUT_MS = 30_000
_PRAGMAS = (
    f"busy_timeout = {BUSY_TIMEOUT_MS}",
    "journal_mode = WAL",
    "synchronous = FULL",  # claims must survive a power cut
    "foreign_keys = ON",
)

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS invoices (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            vendor_key TEXT NOT NULL DEFAULT '',
            invoice_number_key TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            record TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS invoices_by_business_key ON invoices (vendor_key, invoice_number_key)",
        "CREATE INDEX IF NOT EXISTS invoices_by_status ON invoices (status, created_at)",
        "CREATE INDEX IF NOT EXISTS invoices_by_created ON invoices (created_at)",
        """CREATE TABLE IF NOT EXISTS audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            invoice_id TEXT NOT NULL,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS audit_by_invoice ON audit (invoice_id, id)",
        """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END""",
        """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
           BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END""",
        """CREATE TABLE IF NOT EXISTS messages (
            mailbox TEXT NOT NULL,
            message_id TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            PRIMARY KEY (mailbox, message_id)
        )""",
        """CREATE TABLE IF NOT EXISTS vendors (
            key TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            record TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS exports (
            invoice_id TEXT NOT NULL,
            target TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            PRIMARY KEY (invoice_id, target)
        )""",
    ),
    (
        """CREATE TABLE IF NOT EXISTS items (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (kind, key)
        )""",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)


def _timestamp(value: datetime) -> str:
    """Fixed-width UTC ISO text, so the column sorts in time order."""
    if value.tzinfo is None:  # the domain uses aware datetimes; treat a stray naive one as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _now() -> str:
    return _timestamp(datetime.now(UTC))


class SqliteRepository:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per thread, each kept so that close() can close them all.
        self._db = SqliteDatabase(self.path, timeout_s=BUSY_TIMEOUT_MS / 1000, pragmas=_PRAGMAS, track_connections=True)
        self._migrate()

    # -- connections ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close every thread's connection (the repository must not be used afterwards)."""
        self._db.close()

    def _migrate(self) -> None:
        with self._db.write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} has schema version {version}; this Papyr knows up to {SCHEMA_VERSION}")
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def schema_version(self) -> int:
        return int(self._db.connection().execute("PRAGMA user_version").fetchone()[0])

    # -- invoices ------------------------------------------------------------------------------

    def save_invoice(self, record: InvoiceRecord) -> None:
        """Insert or replace the record by id; the business-key columns come from the extraction."""
        extraction = record.extraction
        vendor = vendor_key(extraction.value("vendor_name")) if extraction else ""
        number = invoice_number_key(extraction.value("invoice_number")) if extraction else ""
        with self._db.write() as db:
            db.execute(
                """INSERT INTO invoices (id, status, vendor_key, invoice_number_key, created_at, updated_at, record)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET
                     status = excluded.status,
                     vendor_key = excluded.vendor_key,
                     invoice_number_key = excluded.invoice_number_key,
                     created_at = excluded.created_at,
                     updated_at = excluded.updated_at,
                     record = excluded.record""",
                (
                    record.id,
                    record.status.value,
                    vendor,
                    number,
                    _timestamp(record.created_at),
                    _timestamp(record.updated_at),
                    record.model_dump_json(),
                ),
            )

    def get_invoice(self, invoice_id: str) -> InvoiceRecord | None:
        row = self._db.connection().execute("SELECT record FROM invoices WHERE id = ?", (invoice_id,)).fetchone()
        return InvoiceRecord.model_validate_json(row[0]) if row else None

    def list_invoices(self, status: InvoiceStatus | None = None, limit: int = 500) -> list[InvoiceRecord]:
        """Newest first (by created_at, then id for a stable order)."""
        if status is None:
            rows = self._db.connection().execute(
                "SELECT record FROM invoices ORDER BY created_at DESC, id DESC LIMIT ?", (limit,)
            )
        else:
            rows = self._db.connection().execute(
                "SELECT record FROM invoices WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                (InvoiceStatus(status).value, limit),
            )
        return [InvoiceRecord.model_validate_json(row[0]) for row in rows]

    def find_by_business_key(self, vendor_key: str, invoice_number_key: str) -> list[InvoiceRecord]:
        """Invoices whose normalised vendor and number (``shared.domain.keys``) both equal these keys,
        oldest first. An empty key matches nothing: a missing number is not evidence of a duplicate."""
        if not vendor_key or not invoice_number_key:
            return []
        rows = self._db.connection().execute(
            """SELECT record FROM invoices WHERE vendor_key = ? AND invoice_number_key = ?
               ORDER BY created_at, id""",
            (vendor_key, invoice_number_key),
        )
        return [InvoiceRecord.model_validate_json(row[0]) for row in rows]

    # -- audit trail ---------------------------------------------------------------------------

    def append_audit(self, invoice_id: str, entry: AuditEntry) -> None:
        with self._db.write() as db:
            db.execute(
                "INSERT INTO audit (invoice_id, at, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
                (
                    invoice_id,
                    _timestamp(entry.at),
                    entry.actor,
                    entry.action,
                    json.dumps(entry.model_dump(mode="json")["detail"]),
                ),
            )

    def audit_trail(self, invoice_id: str) -> list[AuditEntry]:
        """Entries in the order they were appended."""
        rows = self._db.connection().execute(
            "SELECT at, actor, action, detail FROM audit WHERE invoice_id = ? ORDER BY id", (invoice_id,)
        )
        return [
            AuditEntry(at=datetime.fromisoformat(at), actor=actor, action=action, detail=json.loads(detail))
            for at, actor, action, detail in rows
        ]

    # -- dedupe and exactly-once ledgers -------------------------------------------------------

    def claim_message(self, mailbox: str, message_id: str) -> bool:
        with self._db.write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO messages (mailbox, message_id, claimed_at) VALUES (?, ?, ?)",
                (mailbox, message_id, _now()),
            )
            return cursor.rowcount == 1

    def message_claimed(self, mailbox: str, message_id: str) -> bool:
        row = (
            self._db.connection()
            .execute("SELECT 1 FROM messages WHERE mailbox = ? AND message_id = ?", (mailbox, message_id))
            .fetchone()
        )
        return row is not None

    def claim_export(self, invoice_id: str, target: str) -> bool:
        with self._db.write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO exports (invoice_id, target, claimed_at) VALUES (?, ?, ?)",
                (invoice_id, target, _now()),
            )
            return cursor.rowcount == 1

    # -- vendor master -------------------------------------------------------------------------

    def upsert_vendor(self, vendor: Vendor) -> None:
        """Keyed by the normalised name: 'ACME GmbH' replaces an earlier 'Acme GmbH.'."""
        key = vendor_key(vendor.name)
        if not key:
            raise ValueError("a vendor needs a name")
        with self._db.write() as db:
            db.execute(
                """INSERT INTO vendors (key, name, record) VALUES (?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET name = excluded.name, record = excluded.record""",
                (key, vendor.name, vendor.model_dump_json()),
            )

    def list_vendors(self) -> list[Vendor]:
        rows = self._db.connection().execute("SELECT record FROM vendors ORDER BY key")
        return [Vendor.model_validate_json(row[0]) for row in rows]

    # -- small keyed items ---------------------------------------------------------------------

    def put_item(self, kind: str, key: str, data: dict[str, Any]) -> None:
        with self._db.write() as db:
            db.execute(
                """INSERT INTO items (kind, key, updated_at, data) VALUES (?, ?, ?, ?)
                   ON CONFLICT (kind, key) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data""",
                (kind, key, _now(), json.dumps(data)),
            )

    def get_item(self, kind: str, key: str) -> dict[str, Any] | None:
        row = self._db.connection().execute("SELECT data FROM items WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return dict(json.loads(row[0])) if row else None

    def list_items(self, kind: str) -> list[dict[str, Any]]:
        rows = self._db.connection().execute("SELECT data FROM items WHERE kind = ? ORDER BY key", (kind,))
        return [dict(json.loads(row[0])) for row in rows]

    def create_item(self, kind: str, key: str, data: dict[str, Any]) -> bool:
        with self._db.write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO items (kind, key, updated_at, data) VALUES (?, ?, ?, ?)",
                (kind, key, _now(), json.dumps(data)),
            )
            return cursor.rowcount == 1

    def update_item(
        self, kind: str, key: str, change: Callable[[dict[str, Any] | None], dict[str, Any]]
    ) -> dict[str, Any]:
        """Read and write inside one BEGIN IMMEDIATE transaction: other writers wait for the lock."""
        with self._db.write() as db:
            row = db.execute("SELECT data FROM items WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            data = change(dict(json.loads(row[0])) if row else None)
            db.execute(
                """INSERT INTO items (kind, key, updated_at, data) VALUES (?, ?, ?, ?)
                   ON CONFLICT (kind, key) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data""",
                (kind, key, _now(), json.dumps(data)),
            )
            return data
