"""SqliteRepository against a real SQLite file: what only SQLite has — the append-only audit
trail enforced by triggers, schema versioning, reopening a file, and concurrent use from separate
processes. The Repository behaviour it shares with Cosmos (threads included) is tested on both in
test_cosmos_repository.py."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.adapters.local.sqlite import SCHEMA_VERSION, SqliteRepository
from shared.domain import AuditEntry
from tests.factories import T0, make_record


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SqliteRepository]:
    repository = SqliteRepository(tmp_path / "papyr.sqlite3")
    yield repository
    repository.close()


# -- audit trail ---------------------------------------------------------------------------------


def test_audit_rows_cannot_be_updated_or_deleted_even_with_direct_sql(repo: SqliteRepository) -> None:
    repo.append_audit("inv-1", AuditEntry(at=T0, actor="cfo@example.com", action="approved"))
    with sqlite3.connect(repo.path) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit SET action = 'rejected' WHERE invoice_id = 'inv-1'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM audit")

    assert [e.action for e in repo.audit_trail("inv-1")] == ["approved"]
    assert not [name for name in dir(repo) if "audit" in name and name not in ("append_audit", "audit_trail")]


# -- claims --------------------------------------------------------------------------------------


def test_claims_survive_reopening(tmp_path: Path) -> None:
    first = SqliteRepository(tmp_path / "db.sqlite3")
    assert first.claim_export("inv-1", "json")
    first.close()

    second = SqliteRepository(tmp_path / "db.sqlite3")
    assert not second.claim_export("inv-1", "json")
    second.close()


# -- schema --------------------------------------------------------------------------------------


def test_schema_version_wal_and_idempotent_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first = SqliteRepository(path)
    first.save_invoice(make_record("kept"))
    first.close()

    second = SqliteRepository(path)  # runs the migrations again: must be a no-op
    assert second.schema_version() == SCHEMA_VERSION
    assert second.get_invoice("kept") is not None
    second.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    SqliteRepository(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    with pytest.raises(RuntimeError, match="schema version"):
        SqliteRepository(path)


# -- concurrency between processes ---------------------------------------------------------------------------------


CLAIMING_PROCESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from shared.adapters.local.sqlite import SqliteRepository

    repo = SqliteRepository(Path(sys.argv[1]))
    won = [i for i in range(int(sys.argv[2])) if repo.claim_export(f"inv-{i}", "json")]
    print(",".join(map(str, won)))
    """
)


def test_two_processes_claim_each_export_exactly_once(tmp_path: Path, repo_root: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    count = 150
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMING_PROCESS, str(path), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    won: list[int] = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        won.extend(int(i) for i in stdout.strip().split(",") if i)

    assert sorted(won) == list(range(count))  # every claim won once, none twice
