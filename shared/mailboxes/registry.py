"""The mailbox registry: watched mailboxes, their sealed secrets, per-folder cursors and push
subscriptions, in ``<data dir>/mailboxes.sqlite3``.

One connection per thread, WAL (readers never block the writer), writes in ``BEGIN IMMEDIATE``.
Secrets are sealed by ``SecretBox`` before they reach the database; a subscription's clientState is
a secret too (whoever knows it can make us reconcile), so it is sealed the same way.
"""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from shared.adapters.local.sqlite_db import SqliteDatabase
from shared.mailboxes.models import Mailbox, Provider, Subscription
from shared.mailboxes.secrets import SecretBox

REGISTRY_FILE = "mailboxes.sqlite3"
_CLIENT_STATE = "subscription-client-state:"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS mailboxes (
        id TEXT PRIMARY KEY, provider TEXT NOT NULL, address TEXT NOT NULL, record TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS mailboxes_by_address ON mailboxes (provider, address)",
    """CREATE TABLE IF NOT EXISTS secrets (
        mailbox_id TEXT NOT NULL, name TEXT NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (mailbox_id, name))""",
    """CREATE TABLE IF NOT EXISTS cursors (
        mailbox_id TEXT NOT NULL, folder TEXT NOT NULL, cursor TEXT, synced_from TEXT NOT NULL,
        PRIMARY KEY (mailbox_id, folder))""",
    """CREATE TABLE IF NOT EXISTS subscriptions (
        id TEXT PRIMARY KEY, mailbox_id TEXT NOT NULL, folder TEXT NOT NULL, expires_at TEXT NOT NULL,
        record TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS subscriptions_by_mailbox ON subscriptions (mailbox_id, folder)",
    """CREATE TABLE IF NOT EXISTS push_marks (
        mailbox_id TEXT PRIMARY KEY, history_id INTEGER NOT NULL)""",
)


class Cursor(BaseModel):
    """A folder's delta cursor and when the reconcile that saved it started: a notification
    received before that instant is covered by it."""

    cursor: str | None
    synced_from: datetime


class MailboxRegistry:
    def __init__(self, path: Path, secrets: SecretBox) -> None:
        self.path = path
        self._secrets = secrets
        self._db = SqliteDatabase(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db.write() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    @classmethod
    def in_data_dir(cls, data_dir: Path, secrets: SecretBox) -> MailboxRegistry:
        return cls(data_dir / REGISTRY_FILE, secrets)

    # -- mailboxes ---------------------------------------------------------------------------

    def add(self, mailbox: Mailbox) -> None:
        """Insert or replace (the id is the key)."""
        with self._db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO mailboxes (id, provider, address, record) VALUES (?, ?, ?, ?)",
                (mailbox.id, mailbox.provider.value, mailbox.address.lower(), mailbox.model_dump_json()),
            )

    def get(self, mailbox_id: str) -> Mailbox | None:
        row = self._db.connection().execute("SELECT record FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone()
        return Mailbox.model_validate_json(row[0]) if row else None

    def find(self, provider: Provider, address: str) -> Mailbox | None:
        row = self._db.connection().execute(
            "SELECT record FROM mailboxes WHERE provider = ? AND address = ? ORDER BY id LIMIT 1",
            (provider.value, address.strip().lower()),
        ).fetchone()
        return Mailbox.model_validate_json(row[0]) if row else None

    def list(self) -> list[Mailbox]:
        rows = self._db.connection().execute("SELECT record FROM mailboxes ORDER BY address, id").fetchall()
        return [Mailbox.model_validate_json(row[0]) for row in rows]

    def remove(self, mailbox_id: str) -> bool:
        """The mailbox and everything kept for it (secrets, cursors, subscriptions)."""
        with self._db.write() as db:
            removed = db.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox_id,)).rowcount
            for table in ("secrets", "cursors", "subscriptions", "push_marks"):
                db.execute(f"DELETE FROM {table} WHERE mailbox_id = ?", (mailbox_id,))
        return removed > 0

    # -- secrets -----------------------------------------------------------------------------

    def put_secret(self, mailbox_id: str, name: str, value: str) -> None:
        sealed = self._secrets.seal(value, mailbox_id=mailbox_id, name=name)
        with self._db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO secrets (mailbox_id, name, sealed) VALUES (?, ?, ?)",
                (mailbox_id, name, sealed),
            )

    def get_secret(self, mailbox_id: str, name: str) -> str | None:
        row = self._db.connection().execute(
            "SELECT sealed FROM secrets WHERE mailbox_id = ? AND name = ?", (mailbox_id, name)
        ).fetchone()
        return self._secrets.open(bytes(row[0]), mailbox_id=mailbox_id, name=name) if row else None

    def secret_names(self, mailbox_id: str) -> builtins.list[str]:
        rows = self._db.connection().execute(
            "SELECT name FROM secrets WHERE mailbox_id = ? AND name NOT LIKE ? ORDER BY name",
            (mailbox_id, _CLIENT_STATE + "%"),
        ).fetchall()
        return [row[0] for row in rows]

    # -- cursors -----------------------------------------------------------------------------

    def get_cursor(self, mailbox_id: str, folder: str) -> Cursor | None:
        row = self._db.connection().execute(
            "SELECT cursor, synced_from FROM cursors WHERE mailbox_id = ? AND folder = ?", (mailbox_id, folder)
        ).fetchone()
        return Cursor(cursor=row[0], synced_from=datetime.fromisoformat(row[1])) if row else None

    def set_cursor(self, mailbox_id: str, folder: str, cursor: str | None, synced_from: datetime) -> None:
        with self._db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO cursors (mailbox_id, folder, cursor, synced_from) VALUES (?, ?, ?, ?)",
                (mailbox_id, folder, cursor, _iso(synced_from)),
            )

    def push_mark(self, mailbox_id: str) -> int | None:
        row = self._db.connection().execute(
            "SELECT history_id FROM push_marks WHERE mailbox_id = ?", (mailbox_id,)
        ).fetchone()
        return int(row[0]) if row else None

    def advance_push_mark(self, mailbox_id: str, history_id: int) -> bool:
        """Record the highest Gmail historyId pushed so far; False when ``history_id`` is not newer
        (a duplicate or stale push)."""
        with self._db.write() as db:
            row = db.execute("SELECT history_id FROM push_marks WHERE mailbox_id = ?", (mailbox_id,)).fetchone()
            if row is not None and history_id <= row[0]:
                return False
            db.execute(
                "INSERT OR REPLACE INTO push_marks (mailbox_id, history_id) VALUES (?, ?)", (mailbox_id, history_id)
            )
        return True

    # -- subscriptions -----------------------------------------------------------------------

    def save_subscription(self, subscription: Subscription) -> None:
        """Insert or replace; the clientState is sealed, never stored in the record."""
        record = subscription.model_copy(update={"client_state": None})
        with self._db.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO subscriptions (id, mailbox_id, folder, expires_at, record)"
                " VALUES (?, ?, ?, ?, ?)",
                (subscription.id, subscription.mailbox_id, subscription.folder or "",
                 _iso(subscription.expires_at), record.model_dump_json()),
            )
        if subscription.client_state is not None:
            self.put_secret(subscription.mailbox_id, _CLIENT_STATE + subscription.id, subscription.client_state)

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        row = self._db.connection().execute(
            "SELECT record FROM subscriptions WHERE id = ?", (subscription_id,)
        ).fetchone()
        return self._with_client_state(row[0]) if row else None

    def subscriptions_of(self, mailbox_id: str, folder: str | None = None) -> builtins.list[Subscription]:
        rows = self._db.connection().execute(
            "SELECT record FROM subscriptions WHERE mailbox_id = ? AND (? IS NULL OR folder = ?) ORDER BY expires_at",
            (mailbox_id, folder, folder),
        ).fetchall()
        return [self._with_client_state(row[0]) for row in rows]

    def list_due(self, before: datetime) -> builtins.list[Subscription]:
        """Subscriptions that run out before ``before`` (to renew)."""
        rows = self._db.connection().execute(
            "SELECT record FROM subscriptions WHERE expires_at < ? ORDER BY expires_at", (_iso(before),)
        ).fetchall()
        return [self._with_client_state(row[0]) for row in rows]

    def delete_subscription(self, subscription_id: str) -> None:
        found = self.get_subscription(subscription_id)
        with self._db.write() as db:
            db.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
            if found is not None:
                db.execute("DELETE FROM secrets WHERE mailbox_id = ? AND name = ?",
                           (found.mailbox_id, _CLIENT_STATE + subscription_id))

    def _with_client_state(self, record: str) -> Subscription:
        subscription = Subscription.model_validate_json(record)
        state = self.get_secret(subscription.mailbox_id, _CLIENT_STATE + subscription.id)
        return subscription.model_copy(update={"client_state": state})


def _iso(moment: datetime) -> str:
    """UTC ISO 8601 with a fixed width, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("timezone-aware datetimes only")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
