"""SQLite persistence for the embedded engine: instances, append-only history, inbox, work, timers.

Every state change is one transaction, so a crash leaves either the old state or the new one:
- ``inbox``: messages for an orchestrator not yet folded into its history (start, activity results,
  fired timers, external events — buffered here until the orchestrator's next episode);
- ``work_items``: activity calls scheduled and not yet completed (``claim`` set while one runs);
- ``timers``: durable timers with their ``fire_at``.
Rows carry the instance's ``execution`` number so that nothing from before a continue-as-new can
reach the new execution.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from papyr.engine import codec
from papyr.engine.history import EventType, HistoryEvent

TERMINAL_STATUSES = ("Completed", "Failed", "Terminated")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    execution INTEGER NOT NULL DEFAULT 0,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_status ON instances(status, updated_at);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    execution INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    PRIMARY KEY (instance_id, execution, seq)
);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    timestamp TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_instance ON inbox(instance_id, id);
CREATE TABLE IF NOT EXISTS work_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution INTEGER NOT NULL,
    task_id INTEGER NOT NULL,
    activity TEXT NOT NULL,
    input TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 1,
    retry_interval_ms INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL,
    claim TEXT,
    claimed_at TEXT,
    UNIQUE (instance_id, execution, task_id)
);
CREATE TABLE IF NOT EXISTS timers (
    instance_id TEXT NOT NULL,
    execution INTEGER NOT NULL,
    task_id INTEGER NOT NULL,
    fire_at TEXT NOT NULL,
    PRIMARY KEY (instance_id, execution, task_id)
);
CREATE INDEX IF NOT EXISTS timers_fire_at ON timers(fire_at);
"""


@dataclass(frozen=True)
class InstanceRow:
    id: str
    name: str
    status: str
    execution: int
    input: Any
    output: Any
    custom_status: Any
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class InboxMessage:
    id: int
    execution: int
    event: HistoryEvent


@dataclass(frozen=True)
class WorkItem:
    id: int
    instance_id: str
    execution: int
    task_id: int
    activity: str
    input: Any
    attempt: int
    max_attempts: int
    retry_interval_ms: int


@dataclass(frozen=True)
class NewActivity:
    task_id: int
    activity: str
    input: Any
    max_attempts: int = 1
    retry_interval_ms: int = 0


@dataclass(frozen=True)
class Episode:
    """What one orchestrator episode changes, committed atomically by ``EngineStore.commit_episode``."""

    instance_id: str
    execution: int
    history_length: int  # the history the episode replayed; another writer since means a retry
    consumed_inbox: list[int]
    new_events: list[HistoryEvent]
    activities: list[NewActivity]
    timers: list[tuple[int, datetime]]
    cancelled_timers: list[int]
    status: str
    output: Any
    custom_status: Any
    continue_input: Any = None  # set when the orchestrator continued as new


class EngineStore:
    """Thread-safe: one connection, serialized by a lock; the database is in WAL mode."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a start() that returned survives a power cut
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._write() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)  # executescript would commit the transaction

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- instances -----------------------------------------------------------------------------

    def create_instance(self, instance_id: str, name: str, input_: Any, now: datetime) -> bool:
        """Insert the instance and its start message; an existing instance is left untouched."""
        stamp = codec.timestamp(now)
        with self._write() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO instances (id, name, status, execution, input, created_at, updated_at)"
                " VALUES (?, ?, 'Pending', 0, ?, ?, ?)",
                (instance_id, name, codec.dumps(input_), stamp, stamp),
            ).rowcount
            if inserted:
                _insert_inbox(db, instance_id, 0, EventType.EXECUTION_STARTED,
                              {"name": name, "input": codec.normalize(input_)}, now)
        return bool(inserted)

    def add_event(self, instance_id: str, name: str, data: Any, now: datetime) -> bool:
        """Queue an external event for a live instance; False when it is unknown or finished."""
        with self._write() as db:
            row = db.execute("SELECT status, execution FROM instances WHERE id = ?", (instance_id,)).fetchone()
            if row is None or row[0] in TERMINAL_STATUSES:
                return False
            _insert_inbox(db, instance_id, row[1], EventType.EVENT_RAISED,
                          {"name": name, "data": codec.normalize(data)}, now)
        return True

    def get_instance(self, instance_id: str) -> InstanceRow | None:
        rows = self._read(f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE id = ?", (instance_id,))
        return _instance(rows[0]) if rows else None

    def list_instances(self, *, status: str | None, name: str | None, limit: int) -> list[InstanceRow]:
        clauses, params = ["1 = 1"], []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if name is not None:
            clauses.append("name = ?")
            params.append(name)
        sql = (f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE {' AND '.join(clauses)}"
               " ORDER BY created_at, id LIMIT ?")
        return [_instance(row) for row in self._read(sql, (*params, limit))]

    def terminate(self, instance_id: str, reason: str, now: datetime) -> bool:
        with self._write() as db:
            updated = db.execute(
                "UPDATE instances SET status = 'Terminated', output = ?, updated_at = ?"
                f" WHERE id = ? AND status NOT IN {TERMINAL_STATUSES}",
                (codec.dumps(reason), codec.timestamp(now), instance_id),
            ).rowcount
            if updated:
                _drop_pending(db, instance_id)
        return bool(updated)

    def history(self, instance_id: str) -> list[HistoryEvent]:
        rows = self._read(
            "SELECT h.event_type, h.payload, h.timestamp FROM history h JOIN instances i"
            " ON i.id = h.instance_id AND i.execution = h.execution WHERE h.instance_id = ? ORDER BY h.seq",
            (instance_id,),
        )
        return [_event(*row) for row in rows]

    # -- episodes ------------------------------------------------------------------------------

    def instances_with_inbox(self) -> list[str]:
        rows = self._read("SELECT instance_id FROM inbox GROUP BY instance_id ORDER BY MIN(id)")
        return [row[0] for row in rows]

    def load_episode(self, instance_id: str) -> tuple[InstanceRow, list[HistoryEvent], list[InboxMessage]]:
        with self._lock:
            instance = self.get_instance(instance_id)
            if instance is None:
                raise LookupError(f"no orchestration instance {instance_id}")
            inbox = [
                InboxMessage(row[0], row[1], _event(*row[2:]))
                for row in self._read(
                    "SELECT id, execution, event_type, payload, timestamp FROM inbox"
                    " WHERE instance_id = ? ORDER BY id",
                    (instance_id,),
                )
            ]
            return instance, self.history(instance_id), inbox

    def discard_inbox(self, ids: list[int]) -> None:
        with self._write() as db:
            db.executemany("DELETE FROM inbox WHERE id = ?", [(i,) for i in ids])

    def commit_episode(self, episode: Episode, now: datetime) -> bool:
        """Append the episode's history and schedule its work atomically; False if the instance moved
        on meanwhile (another engine ran it), in which case nothing is written."""
        try:
            self._commit_episode(episode, now)
        except _StaleEpisodeError:
            return False
        return True

    def _commit_episode(self, e: Episode, now: datetime) -> None:
        with self._write() as db:
            row = db.execute("SELECT execution, status FROM instances WHERE id = ?", (e.instance_id,)).fetchone()
            length = db.execute(
                "SELECT COUNT(*) FROM history WHERE instance_id = ? AND execution = ?", (e.instance_id, e.execution)
            ).fetchone()[0]
            if row is None or row[0] != e.execution or row[1] in TERMINAL_STATUSES or length != e.history_length:
                raise _StaleEpisodeError
            deleted = sum(db.execute("DELETE FROM inbox WHERE id = ?", (i,)).rowcount for i in e.consumed_inbox)
            if deleted != len(e.consumed_inbox):  # another engine consumed them first
                raise _StaleEpisodeError
            db.executemany(
                "INSERT INTO history (instance_id, execution, seq, event_type, payload, timestamp)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(e.instance_id, e.execution, length + n, str(ev.event_type), codec.dumps(ev.payload),
                  codec.timestamp(ev.timestamp)) for n, ev in enumerate(e.new_events)],
            )
            stamp = codec.timestamp(now)
            db.executemany(
                "INSERT OR IGNORE INTO work_items (instance_id, execution, task_id, activity, input,"
                " max_attempts, retry_interval_ms, not_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(e.instance_id, e.execution, a.task_id, a.activity, codec.dumps(a.input), a.max_attempts,
                  a.retry_interval_ms, stamp) for a in e.activities],
            )
            db.executemany(
                "INSERT OR IGNORE INTO timers (instance_id, execution, task_id, fire_at) VALUES (?, ?, ?, ?)",
                [(e.instance_id, e.execution, task_id, codec.timestamp(at)) for task_id, at in e.timers],
            )
            db.executemany(
                "DELETE FROM timers WHERE instance_id = ? AND execution = ? AND task_id = ?",
                [(e.instance_id, e.execution, task_id) for task_id in e.cancelled_timers],
            )
            execution = e.execution
            if e.status == "ContinuedAsNew":
                _drop_pending(db, e.instance_id)
                db.execute("DELETE FROM history WHERE instance_id = ? AND execution <= ?",
                           (e.instance_id, e.execution))
                execution += 1
                _insert_inbox(db, e.instance_id, execution, EventType.EXECUTION_STARTED,
                              {"input": codec.normalize(e.continue_input)}, now)
            elif e.status in TERMINAL_STATUSES:
                _drop_pending(db, e.instance_id)
            db.execute(
                "UPDATE instances SET status = ?, execution = ?, output = ?, custom_status = ?, updated_at = ?"
                + (", input = ?" if e.status == "ContinuedAsNew" else "") + " WHERE id = ?",
                (e.status, execution, codec.dumps(e.output), codec.dumps(e.custom_status), stamp,
                 *((codec.dumps(e.continue_input),) if e.status == "ContinuedAsNew" else ()), e.instance_id),
            )

    # -- timers and activity work --------------------------------------------------------------

    def fire_due_timers(self, now: datetime) -> list[tuple[str, int]]:
        """Move every timer due by ``now`` to its instance's inbox; returns (instance, task id) pairs."""
        with self._write() as db:
            due = db.execute(
                "SELECT instance_id, execution, task_id, fire_at FROM timers WHERE fire_at <= ? ORDER BY fire_at",
                (codec.timestamp(now),),
            ).fetchall()
            for instance_id, execution, task_id, fire_at in due:
                db.execute("DELETE FROM timers WHERE instance_id = ? AND execution = ? AND task_id = ?",
                           (instance_id, execution, task_id))
                _insert_inbox(db, instance_id, execution, EventType.TIMER_FIRED,
                              {"task_id": task_id, "fire_at": fire_at}, now)
        return [(row[0], row[2]) for row in due]

    def claim_work(self, limit: int, claim: str, now: datetime) -> list[WorkItem]:
        if limit <= 0:
            return []
        stamp = codec.timestamp(now)
        with self._write() as db:
            rows = db.execute(
                "SELECT id, instance_id, execution, task_id, activity, input, attempt, max_attempts,"
                " retry_interval_ms FROM work_items WHERE claim IS NULL AND not_before <= ? ORDER BY id LIMIT ?",
                (stamp, limit),
            ).fetchall()
            db.executemany("UPDATE work_items SET claim = ?, claimed_at = ?, attempt = attempt + 1 WHERE id = ?",
                           [(claim, stamp, row[0]) for row in rows])
        return [WorkItem(r[0], r[1], r[2], r[3], r[4], codec.loads(r[5]), r[6] + 1, r[7], r[8]) for r in rows]

    def complete_work(self, item: WorkItem, claim: str, result: Any, error: str | None, now: datetime) -> str:
        """Record an activity's outcome and release its work item in one transaction.

        Returns "recorded", "retry" (failed, another attempt scheduled) or "stale" (the item is no
        longer ours: it was recovered and re-run elsewhere, or its instance finished)."""
        with self._write() as db:
            owned = db.execute("SELECT 1 FROM work_items WHERE id = ? AND claim = ?", (item.id, claim)).fetchone()
            if owned is None:
                return "stale"
            if error is not None and item.attempt < item.max_attempts:
                retry_at = now + timedelta(milliseconds=item.retry_interval_ms)
                db.execute("UPDATE work_items SET claim = NULL, claimed_at = NULL, not_before = ? WHERE id = ?",
                           (codec.timestamp(retry_at), item.id))
                return "retry"
            db.execute("DELETE FROM work_items WHERE id = ?", (item.id,))
            if error is None:
                _insert_inbox(db, item.instance_id, item.execution, EventType.TASK_COMPLETED,
                              {"task_id": item.task_id, "result": result}, now)
            else:
                _insert_inbox(db, item.instance_id, item.execution, EventType.TASK_FAILED,
                              {"task_id": item.task_id, "error": error}, now)
        return "recorded"

    def claims(self) -> list[str]:
        return [row[0] for row in self._read("SELECT DISTINCT claim FROM work_items WHERE claim IS NOT NULL")]

    def release_claims(self, claims: list[str]) -> int:
        """Put work held by these claims back in the queue (its runner died); the lost attempt does
        not count against the activity's retries."""
        with self._write() as db:
            return sum(
                db.execute(
                    "UPDATE work_items SET claim = NULL, claimed_at = NULL, attempt = MAX(attempt - 1, 0)"
                    " WHERE claim = ?",
                    (claim,),
                ).rowcount
                for claim in claims
            )

    def has_pending(self) -> bool:
        """Anything not waiting on the outside world: inbox messages or activity work (claimed or not)."""
        rows = self._read("SELECT EXISTS(SELECT 1 FROM inbox) OR EXISTS(SELECT 1 FROM work_items)")
        return bool(rows[0][0])

    def next_timer(self) -> datetime | None:
        rows = self._read("SELECT MIN(fire_at) FROM timers")
        return codec.parse_timestamp(rows[0][0]) if rows and rows[0][0] else None


class _StaleEpisodeError(Exception):
    """The instance changed between loading an episode and committing it."""


_INSTANCE_COLUMNS = "id, name, status, execution, input, output, custom_status, created_at, updated_at"


def _instance(row: tuple[Any, ...]) -> InstanceRow:
    return InstanceRow(
        id=row[0], name=row[1], status=row[2], execution=row[3], input=codec.loads(row[4]),
        output=codec.loads(row[5]), custom_status=codec.loads(row[6]),
        created_at=codec.parse_timestamp(row[7]), updated_at=codec.parse_timestamp(row[8]),
    )


def _event(event_type: str, payload: str, timestamp: str) -> HistoryEvent:
    return HistoryEvent(EventType(event_type), codec.loads(payload), codec.parse_timestamp(timestamp))


def _insert_inbox(
    db: sqlite3.Connection, instance_id: str, execution: int, event_type: EventType, payload: dict[str, Any],
    now: datetime,
) -> None:
    db.execute(
        "INSERT INTO inbox (instance_id, execution, event_type, payload, timestamp) VALUES (?, ?, ?, ?, ?)",
        (instance_id, execution, str(event_type), codec.dumps(payload), codec.timestamp(now)),
    )


def _drop_pending(db: sqlite3.Connection, instance_id: str) -> None:
    """A finished execution needs no more timers, unstarted work or undelivered messages.
    Work already running is left to finish; its result is then dropped as stale."""
    db.execute("DELETE FROM inbox WHERE instance_id = ?", (instance_id,))
    db.execute("DELETE FROM timers WHERE instance_id = ?", (instance_id,))
    db.execute("DELETE FROM work_items WHERE instance_id = ? AND claim IS NULL", (instance_id,))
