"""`papyr deadletter` against the embedded queue in a data dir (the Service Bus side of the same
operations is tested in tests/shared/adapters/test_servicebus.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papyr.cli import app
from shared.mailboxes.queue import QUEUE_FILE, SqliteNotificationQueue

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A queue holding one explicit dead letter, one dead-lettered after its last delivery, and one
    message still waiting."""
    queue = SqliteNotificationQueue(tmp_path / QUEUE_FILE, max_delivery_count=2)
    queue.send("graph:bad", {"kind": "change", "mailbox_id": "m1"}, session="m1")
    queue.send("gmail:poison", {"kind": "push", "mailbox_id": "m2"}, session="m2")
    queue.send("waiting", {"kind": "push", "mailbox_id": "m3"}, session="m3")
    bad, poison, waiting = queue.receive(3)
    queue.dead_letter(bad, "not a notification")
    queue.abandon(poison)
    [poison] = queue.receive(1)
    queue.abandon(poison)  # the second (last allowed) delivery failed
    queue.abandon(waiting)
    return tmp_path


def invoke(*args: str) -> str:
    result = runner.invoke(app, ["deadletter", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_list_as_json_and_as_a_table(data_dir: Path) -> None:
    rows = [json.loads(line) for line in invoke("list", "--json", "--data-dir", str(data_dir)).splitlines()]
    assert [(r["message_id"], r["reason"], r["session"], r["delivery_count"]) for r in rows] == [
        ("graph:bad", "not a notification", "m1", 1),
        ("gmail:poison", "max delivery count exceeded", "m2", 2),
    ]
    assert rows[0]["body"] == {"kind": "change", "mailbox_id": "m1"}
    assert rows[0]["enqueued_at"].endswith("+00:00")
    table = invoke("list", "--data-dir", str(data_dir))
    assert "graph:bad" in table and "gmail:poison" in table and "waiting" not in table


def test_show_one(data_dir: Path) -> None:
    shown = json.loads(invoke("show", "gmail:poison", "--data-dir", str(data_dir)))
    assert shown["body"] == {"kind": "push", "mailbox_id": "m2"}
    assert shown["reason"] == "max delivery count exceeded"
    missing = runner.invoke(app, ["deadletter", "show", "nope", "--data-dir", str(data_dir)])
    assert missing.exit_code == 1


def test_resubmit_puts_it_back_for_fresh_deliveries(data_dir: Path) -> None:
    assert "resubmitted gmail:poison" in invoke("resubmit", "gmail:poison", "--data-dir", str(data_dir))
    queue = SqliteNotificationQueue(data_dir / QUEUE_FILE, max_delivery_count=2)
    assert [d.message_id for d in queue.dead_lettered()] == ["graph:bad"]
    received = queue.receive(10)
    assert [(m.message_id, m.delivery_count, m.session) for m in received] == [
        ("gmail:poison", 1, "m2"), ("waiting", 2, "m3"),  # back in its original place, deliveries counted afresh
    ]
    assert all(queue.complete(m) for m in received)
    assert queue.send("gmail:poison", {}) is False  # still a duplicate within the dedupe window
    again = runner.invoke(app, ["deadletter", "resubmit", "gmail:poison", "--data-dir", str(data_dir)])
    assert again.exit_code == 1  # no longer a dead letter


def test_purge_deletes_it(data_dir: Path) -> None:
    assert "purged graph:bad" in invoke("purge", "graph:bad", "--data-dir", str(data_dir))
    rows = [json.loads(line) for line in invoke("list", "--json", "--data-dir", str(data_dir)).splitlines()]
    assert [r["message_id"] for r in rows] == ["gmail:poison"]
    assert runner.invoke(app, ["deadletter", "purge", "graph:bad", "--data-dir", str(data_dir)]).exit_code == 1
    assert SqliteNotificationQueue(data_dir / QUEUE_FILE).count() == 1  # the waiting message is untouched


def test_an_empty_queue(tmp_path: Path) -> None:
    assert "no dead letters" in invoke("list", "--data-dir", str(tmp_path))


def test_long_bodies_stay_one_json_line(tmp_path: Path) -> None:
    queue = SqliteNotificationQueue(tmp_path / QUEUE_FILE)
    queue.send("long", {"payload": "x" * 500})
    [message] = queue.receive(1)
    queue.dead_letter(message, "too long to wrap " * 10)
    [line] = invoke("list", "--json", "--data-dir", str(tmp_path)).splitlines()
    assert json.loads(line)["body"] == {"payload": "x" * 500}
