"""A SQLite file shared by threads: one connection per thread (``threading.local``), in autocommit
mode (``isolation_level=None``) so transactions are explicit, and writes in ``BEGIN IMMEDIATE``
transactions: the write lock is taken up front, so two writers never deadlock upgrading a read lock.

The busy timeout (``timeout_s``) makes a second thread or process wait for the write lock instead
of failing. Each user names its own pragmas (journal mode, durability), run on every new connection.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

DEFAULT_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")


class SqliteDatabase:
    def __init__(
        self,
        path: Path,
        *,
        timeout_s: float = 30.0,
        pragmas: Sequence[str] = DEFAULT_PRAGMAS,
        track_connections: bool = False,
    ) -> None:
        """``track_connections`` keeps every thread's connection (until ``close()``) so that
        ``close()`` can close them all; without it a connection lives as long as its thread."""
        self.path = path
        self._timeout_s = timeout_s
        self._pragmas = tuple(pragmas)
        self._local = threading.local()
        self._track = track_connections
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and its pragmas run) on first use."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=self._timeout_s, isolation_level=None, check_same_thread=False
            )
            for pragma in self._pragmas:
                self._run_pragma(connection, pragma)
            self._local.connection = connection
            if self._track:
                with self._connections_lock:
                    self._connections.append(connection)
        return connection

    def _run_pragma(self, connection: sqlite3.Connection, pragma: str) -> None:
        """Switching to WAL needs a moment of exclusive access, and SQLite answers "database is
        locked" at once rather than through the busy handler when another process is opening the
        same new file: retry within the timeout."""
        deadline = time.monotonic() + self._timeout_s
        pause = 0.01
        while True:
            try:
                connection.execute(f"PRAGMA {pragma}")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction on this thread's connection: committed when the block
        ends, rolled back when it raises."""
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def close(self) -> None:
        """Close every tracked connection and forget this thread's (the next use opens a new one)."""
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
