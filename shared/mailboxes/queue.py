"""The embedded notification queue (SQLite), with the semantics of the Service Bus queue that
replaces it on Azure: duplicate detection by message id within a window, peek-lock receive,
sessions (a session is locked to one receiver at a time, which gets all of its waiting messages at
once, as a Service Bus session receiver does; so one mailbox is reconciled by one worker at a time
and a burst of notifications costs one reconcile), abandon, and a dead-letter store after
``max_delivery_count`` deliveries.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shared.adapters.local.sqlite_db import SqliteDatabase

QUEUE_FILE = "notifications.sqlite3"
MAX_DELIVERY_COUNT = 10  # Service Bus's default

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, session TEXT,
        body TEXT NOT NULL, enqueued_at REAL NOT NULL, delivery_count INTEGER NOT NULL DEFAULT 0,
        locked_until REAL, lock_token TEXT)""",
    "CREATE INDEX IF NOT EXISTS messages_by_session ON messages (session, locked_until)",
    "CREATE TABLE IF NOT EXISTS dedupe (message_id TEXT PRIMARY KEY, expires_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS dedupe_by_expiry ON dedupe (expires_at)",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL, session TEXT, body TEXT NOT NULL,
        enqueued_at REAL NOT NULL, delivery_count INTEGER NOT NULL, reason TEXT NOT NULL, dead_at REAL NOT NULL)""",
)


@dataclass(frozen=True)
class QueuedMessage:
    seq: int
    message_id: str
    body: dict[str, Any]
    session: str | None
    delivery_count: int  # including this delivery
    enqueued_at: float  # epoch seconds
    lock_token: str


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered notification as ``papyr deadletter`` shows it (SQLite or Service Bus)."""

    message_id: str
    body: dict[str, Any]
    reason: str
    session: str | None
    delivery_count: int
    enqueued_at: float | None  # epoch seconds


class DeadLetterStore(Protocol):
    """The dead-letter operations of a notification queue (``papyr deadletter``)."""

    def dead_lettered(self) -> list[DeadLetter]: ...

    def resubmit_dead_letter(self, message_id: str) -> str | None:
        """Back onto the queue for a fresh set of deliveries; the id it is queued under, None if absent."""
        ...

    def purge_dead_letter(self, message_id: str) -> bool: ...


class SqliteNotificationQueue:
    """Implements ``shared.mailboxes.ports.NotificationQueue`` on a local SQLite file."""

    def __init__(
        self,
        path: Path,
        *,
        dedupe_window_s: float = 600.0,
        max_delivery_count: int = MAX_DELIVERY_COUNT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.dedupe_window_s = dedupe_window_s
        self.max_delivery_count = max_delivery_count
        self._clock = clock
        self._db = SqliteDatabase(path)
        self._sent = threading.Event()  # wakes a waiting receiver in this process
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db.write() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def send(self, message_id: str, body: dict[str, Any], session: str | None = None) -> bool:
        """Persist a message; False (and nothing stored) when ``message_id`` was sent within the
        dedupe window. Returns only after the message is durable."""
        now = self._clock()
        with self._db.write() as db:
            db.execute("DELETE FROM dedupe WHERE expires_at <= ?", (now,))
            inserted = db.execute(
                "INSERT OR IGNORE INTO dedupe (message_id, expires_at) VALUES (?, ?)",
                (message_id, now + self.dedupe_window_s),
            ).rowcount
            if not inserted:
                return False
            db.execute(
                "INSERT INTO messages (message_id, session, body, enqueued_at) VALUES (?, ?, ?, ?)",
                (message_id, session, json.dumps(body, default=str), now),
            )
        self._sent.set()
        return True

    def receive(self, max_messages: int = 32, lock_seconds: float = 60.0) -> list[QueuedMessage]:
        """Lock and return up to ``max_messages`` in order, skipping sessions locked by another
        receiver (a session's waiting messages all go to one receiver). A message whose lock ran out is
        delivered again; one delivered ``max_delivery_count`` times is dead-lettered instead."""
        now = self._clock()
        taken: list[QueuedMessage] = []
        with self._db.write() as db:
            busy = {
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT session FROM messages WHERE session IS NOT NULL AND locked_until > ?", (now,)
                )
            }
            rows = db.execute(
                "SELECT seq, message_id, session, body, enqueued_at, delivery_count FROM messages"
                " WHERE locked_until IS NULL OR locked_until <= ? ORDER BY seq",
                (now,),
            ).fetchall()
            for seq, message_id, session, body, enqueued_at, delivery_count in rows:
                if len(taken) >= max_messages:
                    break
                if session is not None and session in busy:
                    continue
                if delivery_count >= self.max_delivery_count:
                    self._move_to_dead_letters(db, seq, "max delivery count exceeded", now)
                    continue
                token = uuid.uuid4().hex
                db.execute(
                    "UPDATE messages SET delivery_count = delivery_count + 1, locked_until = ?, lock_token = ?"
                    " WHERE seq = ?",
                    (now + lock_seconds, token, seq),
                )
                taken.append(QueuedMessage(seq, message_id, json.loads(body), session, delivery_count + 1,
                                           enqueued_at, token))
        return taken

    def wait(self, timeout_s: float) -> None:
        """Block until a message is sent in this process or ``timeout_s`` passes."""
        self._sent.wait(timeout_s)
        self._sent.clear()

    def complete(self, message: QueuedMessage) -> bool:
        """Remove a message this receiver still holds the lock on; False when the lock was lost."""
        with self._db.write() as db:
            return db.execute(
                "DELETE FROM messages WHERE seq = ? AND lock_token = ?", (message.seq, message.lock_token)
            ).rowcount > 0

    def abandon(self, message: QueuedMessage) -> None:
        """Unlock for another delivery; after the last allowed delivery the message is dead-lettered."""
        with self._db.write() as db:
            held = db.execute(
                "SELECT delivery_count FROM messages WHERE seq = ? AND lock_token = ?",
                (message.seq, message.lock_token),
            ).fetchone()
            if held is None:
                return
            if held[0] >= self.max_delivery_count:
                self._move_to_dead_letters(db, message.seq, "max delivery count exceeded", self._clock())
            else:
                db.execute("UPDATE messages SET locked_until = NULL, lock_token = NULL WHERE seq = ?", (message.seq,))
        self._sent.set()

    def dead_letter(self, message: QueuedMessage, reason: str) -> None:
        with self._db.write() as db:
            held = db.execute(
                "SELECT 1 FROM messages WHERE seq = ? AND lock_token = ?", (message.seq, message.lock_token)
            ).fetchone()
            if held is not None:
                self._move_to_dead_letters(db, message.seq, reason, self._clock())

    def dead_letters(self) -> list[tuple[str, dict[str, Any], str]]:
        """(message id, body, reason) of every dead-lettered message, oldest first."""
        rows = self._db.connection().execute(
            "SELECT message_id, body, reason FROM dead_letters ORDER BY seq"
        ).fetchall()
        return [(row[0], json.loads(row[1]), row[2]) for row in rows]

    def dead_lettered(self) -> list[DeadLetter]:
        rows = self._db.connection().execute(
            "SELECT message_id, body, reason, session, delivery_count, enqueued_at FROM dead_letters ORDER BY seq"
        ).fetchall()
        return [DeadLetter(row[0], json.loads(row[1]), row[2], row[3], row[4], row[5]) for row in rows]

    def resubmit_dead_letter(self, message_id: str) -> str | None:
        """Move the oldest dead letter with this id back to the queue, deliveries counted afresh (its
        original place in the order kept; the dedupe window does not apply to a resubmission)."""
        with self._db.write() as db:
            row = db.execute(
                "SELECT seq FROM dead_letters WHERE message_id = ? ORDER BY seq LIMIT 1", (message_id,)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "INSERT INTO messages (seq, message_id, session, body, enqueued_at, delivery_count)"
                " SELECT seq, message_id, session, body, enqueued_at, 0 FROM dead_letters WHERE seq = ?",
                (row[0],),
            )
            db.execute("DELETE FROM dead_letters WHERE seq = ?", (row[0],))
        self._sent.set()
        return message_id

    def purge_dead_letter(self, message_id: str) -> bool:
        with self._db.write() as db:
            return db.execute(
                "DELETE FROM dead_letters WHERE seq = (SELECT seq FROM dead_letters WHERE message_id = ?"
                " ORDER BY seq LIMIT 1)", (message_id,)
            ).rowcount > 0

    def count(self) -> int:
        """Messages waiting or locked (not dead-lettered)."""
        row = self._db.connection().execute("SELECT COUNT(*) FROM messages").fetchone()
        return int(row[0])

    @staticmethod
    def _move_to_dead_letters(db: sqlite3.Connection, seq: int, reason: str, now: float) -> None:
        db.execute(
            "INSERT OR REPLACE INTO dead_letters (seq, message_id, session, body, enqueued_at, delivery_count,"
            " reason, dead_at) SELECT seq, message_id, session, body, enqueued_at, delivery_count, ?, ?"
            " FROM messages WHERE seq = ?",
            (reason, now, seq),
        )
        db.execute("DELETE FROM messages WHERE seq = ?", (seq,))
