from __future__ import annotations

from pathlib import Path

import pytest

from shared.mailboxes.queue import SqliteNotificationQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(tmp_path: Path, clock: Clock) -> SqliteNotificationQueue:
    return SqliteNotificationQueue(tmp_path / "q.sqlite3", dedupe_window_s=60, max_delivery_count=3, clock=clock)


def test_duplicate_ids_dropped_within_the_window_only(queue: SqliteNotificationQueue, clock: Clock) -> None:
    assert queue.send("n1", {"a": 1}) is True
    assert queue.send("n1", {"a": 2}) is False
    assert queue.count() == 1
    clock.now += 61
    assert queue.send("n1", {"a": 3}) is True
    assert [m.body for m in queue.receive(10)] == [{"a": 1}, {"a": 3}]


def test_peek_lock_complete_and_lock_expiry(queue: SqliteNotificationQueue, clock: Clock) -> None:
    queue.send("n1", {"k": "v"})
    [first] = queue.receive(10, lock_seconds=30)
    assert first.delivery_count == 1
    assert queue.receive(10) == []  # locked
    clock.now += 31
    [again] = queue.receive(10, lock_seconds=30)  # the lock ran out: delivered again
    assert again.delivery_count == 2
    assert queue.complete(first) is False  # the first receiver lost its lock
    assert queue.complete(again) is True
    assert queue.count() == 0


def test_a_session_is_locked_to_one_receiver_at_a_time(queue: SqliteNotificationQueue) -> None:
    queue.send("a0", {"i": 0}, session="mailbox-a")
    queue.send("b0", {"i": 0}, session="mailbox-b")
    first = queue.receive(10)
    assert [m.message_id for m in first] == ["a0", "b0"]
    queue.send("a1", {"i": 1}, session="mailbox-a")
    queue.send("a2", {"i": 2}, session="mailbox-a")
    queue.send("free", {"i": 9})
    assert [m.message_id for m in queue.receive(10)] == ["free"]  # mailbox-a is held by the first receiver
    queue.complete(first[0])
    assert [m.message_id for m in queue.receive(10)] == ["a1", "a2"]  # the session's waiting messages, together


def test_abandon_then_dead_letter_after_max_deliveries(queue: SqliteNotificationQueue) -> None:
    queue.send("poison", {"x": 1}, session="s")
    for expected in (1, 2):
        [message] = queue.receive(1)
        assert message.delivery_count == expected
        queue.abandon(message)
    [last] = queue.receive(1)
    assert last.delivery_count == 3
    queue.abandon(last)  # the third failure: no more deliveries
    assert queue.receive(1) == []
    assert queue.dead_letters() == [("poison", {"x": 1}, "max delivery count exceeded")]
    assert queue.count() == 0


def test_explicit_dead_letter_and_durability(tmp_path: Path, queue: SqliteNotificationQueue, clock: Clock) -> None:
    queue.send("bad", {"x": "y"})
    queue.send("good", {"x": "z"})
    bad, good = queue.receive(2)
    queue.dead_letter(bad, "not a notification")
    assert queue.dead_letters() == [("bad", {"x": "y"}, "not a notification")]
    reopened = SqliteNotificationQueue(tmp_path / "q.sqlite3", clock=clock)  # another process, same file
    assert reopened.count() == 1
    assert reopened.send("good", {}) is False  # the dedupe record is durable too
    queue.complete(good)
    assert reopened.count() == 0
