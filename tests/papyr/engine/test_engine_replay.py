"""Replay semantics: determinism, the Durable context API subset, retries, continue-as-new."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest

from orchestrators.invoice import ORCHESTRATOR_NAME, invoice_orchestrator
from papyr.engine import EventType, RetryOptions, replay


def _echo(payload: Any) -> Any:
    return payload


def test_replaying_a_finished_history_gives_the_same_result_and_schedules_nothing(
    make_engine, activities, clock
) -> None:
    activities.route = {"kind": "approval", "approvers": ["a@x"], "reasons": []}
    engine = make_engine(activities.mapping(), clock=clock)
    engine.start(ORCHESTRATOR_NAME, "inv-1", {"document": {"sha256": "c0ffee"}})
    engine.run_until_idle(timeout_s=30)
    clock.advance(hours=30)
    engine.run_until_idle(timeout_s=30)
    engine.raise_event("inv-1", "approval", {"decision": "approved", "by": "x"})
    engine.run_until_idle(timeout_s=30)
    history = engine.history("inv-1")

    first = replay(invoice_orchestrator, "inv-1", history, new_from=len(history))
    second = replay(invoice_orchestrator, "inv-1", history, new_from=len(history))

    assert first.status == second.status == "completed"
    assert first.output == second.output == engine.status("inv-1").output
    assert first.new_activities == second.new_activities == []
    assert first.new_timers == second.new_timers == []
    scheduled = [e.payload["name"] for e in history if e.event_type is EventType.TASK_SCHEDULED]
    assert scheduled.count("send_reminder") == 1


def test_time_and_uuids_are_deterministic_across_replays(make_engine, clock) -> None:
    seen: list[tuple[bool, str, str]] = []

    def orchestrator(context: Any) -> Any:
        first = (context.current_utc_datetime.isoformat(), context.new_uuid())
        seen.append((context.is_replaying, *first))
        yield context.call_activity("echo", list(first))
        second = (context.current_utc_datetime.isoformat(), context.new_uuid())
        seen.append((context.is_replaying, *second))
        yield context.call_activity("echo", list(second))
        return [list(first), list(second)]

    engine = make_engine({"echo": _echo}, {"o": orchestrator}, clock=clock)
    engine.start("o", "det-1", None)
    started = clock.now
    engine.run_until_idle(timeout_s=30)

    status = engine.status("det-1")
    assert status.runtime_status == "Completed"  # a replay that differed would fail as non-deterministic
    [(t1, u1), (t2, u2)] = status.output
    assert t1 == t2 == started.isoformat()
    assert u1 != u2
    # Three episodes, each replaying from the start: only code reached by new events is not replaying.
    assert seen == [
        (False, t1, u1),
        (True, t1, u1), (False, t2, u2),
        (True, t1, u1), (True, t2, u2),
    ]


def test_a_non_deterministic_orchestrator_is_failed_with_a_clear_reason(make_engine, clock) -> None:
    counter = itertools.count()

    def orchestrator(context: Any) -> Any:
        yield context.call_activity("echo", next(counter))  # differs on every replay
        yield context.call_activity("echo", "done")

    engine = make_engine({"echo": _echo}, {"o": orchestrator}, clock=clock)
    engine.start("o", "nd-1", None)
    engine.run_until_idle(timeout_s=30)

    status = engine.status("nd-1")
    assert status.runtime_status == "Failed"
    assert "non-deterministic" in status.output and "echo" in status.output


def test_task_all_fans_out_and_task_any_cancels_the_losing_timer(make_engine, clock) -> None:
    def orchestrator(context: Any) -> Any:
        results = yield context.task_all([context.call_activity("echo", n) for n in range(4)])
        timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
        work = context.call_activity("echo", "fast")
        winner = yield context.task_any([work, timer])
        if winner == work:
            timer.cancel()
        return {"all": results, "winner": winner.result, "timer_cancelled": timer.is_cancelled}

    engine = make_engine({"echo": _echo}, {"o": orchestrator}, clock=clock, workers=4)
    engine.start("o", "fan-1", None)
    engine.run_until_idle(timeout_s=30)

    status = engine.status("fan-1")
    assert status.output == {"all": [0, 1, 2, 3], "winner": "fast", "timer_cancelled": True}
    assert engine._store.next_timer() is None  # the cancelled timer is not left armed


def test_a_failing_task_all_throws_into_the_orchestrator(make_engine, clock) -> None:
    def boom(_: Any) -> Any:
        raise ValueError("bad input")

    def orchestrator(context: Any) -> Any:
        try:
            yield context.task_all([context.call_activity("echo", 1), context.call_activity("boom", 2)])
        except Exception as error:
            return f"caught: {error}"
        return "not reached"

    engine = make_engine({"echo": _echo, "boom": boom}, {"o": orchestrator}, clock=clock)
    engine.start("o", "fail-1", None)
    engine.run_until_idle(timeout_s=30)
    assert engine.status("fail-1").output == "caught: activity boom failed: ValueError: bad input"


def test_an_unhandled_error_fails_the_instance(make_engine, clock) -> None:
    def orchestrator(context: Any) -> Any:
        yield context.call_activity("missing", None)

    engine = make_engine({}, {"o": orchestrator}, clock=clock)
    engine.start("o", "unhandled-1", None)
    engine.run_until_idle(timeout_s=30)
    status = engine.status("unhandled-1")
    assert status.runtime_status == "Failed"
    assert "unknown activity 'missing'" in status.output


@pytest.mark.parametrize(("attempts", "expected"), [(3, "ok after 3"), (2, "gave up")])
def test_call_activity_with_retry(make_engine, attempts: int, expected: str) -> None:
    calls: list[int] = []

    def flaky(_: Any) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("transient")
        return f"ok after {len(calls)}"

    def orchestrator(context: Any) -> Any:
        try:
            return (yield context.call_activity_with_retry("flaky", RetryOptions(5, attempts), None))
        except Exception:
            return "gave up"

    engine = make_engine({"flaky": flaky}, {"o": orchestrator})  # real clock: the retry interval is 5 ms
    engine.start("o", "retry-1", None)
    engine.run_until_idle(timeout_s=30)

    assert engine.status("retry-1").output == expected
    assert len(calls) == attempts
    outcomes = [e.event_type for e in engine.history("retry-1")
                if e.event_type in (EventType.TASK_COMPLETED, EventType.TASK_FAILED)]
    assert len(outcomes) == 1  # only the final outcome reaches the history


def test_continue_as_new_restarts_with_fresh_history(make_engine, clock) -> None:
    def orchestrator(context: Any) -> Any:
        count = context.get_input()
        yield context.create_timer(context.current_utc_datetime + timedelta(hours=12))
        yield context.call_activity("echo", count)
        if count < 3:
            context.continue_as_new(count + 1)
            return None
        return count

    engine = make_engine({"echo": _echo}, {"renew": orchestrator}, clock=clock)
    engine.start("renew", "eternal-1", 0)
    for _ in range(4):
        engine.run_until_idle(timeout_s=30)
        assert engine.status("eternal-1").runtime_status == "Running"
        clock.advance(hours=13)
    engine.run_until_idle(timeout_s=30)

    status = engine.status("eternal-1")
    assert (status.runtime_status, status.output) == ("Completed", 3)
    history = engine.history("eternal-1")
    assert history[1].payload["input"] == 3  # only the last execution's history is kept
    assert sum(e.event_type is EventType.TASK_SCHEDULED for e in history) == 1


def test_custom_status_and_external_event_data(make_engine, clock) -> None:
    def orchestrator(context: Any) -> Any:
        context.set_custom_status({"waiting": "go"})
        data = yield context.wait_for_external_event("go")
        context.set_custom_status({"got": data})
        return data

    engine = make_engine({}, {"o": orchestrator}, clock=clock)
    engine.start("o", "ev-1", None)
    engine.run_until_idle(timeout_s=30)
    assert engine.status("ev-1").custom_status == {"waiting": "go"}
    engine.raise_event("ev-1", "other", 1)  # a different name wakes nobody
    engine.run_until_idle(timeout_s=30)
    assert engine.status("ev-1").runtime_status == "Running"
    engine.raise_event("ev-1", "go", {"n": 7})
    engine.run_until_idle(timeout_s=30)
    status = engine.status("ev-1")
    assert (status.output, status.custom_status) == ({"n": 7}, {"got": {"n": 7}})


def test_terminate_stops_an_instance_and_drops_its_timers(make_engine, activities, clock) -> None:
    activities.route = {"kind": "approval", "approvers": ["a@x"], "reasons": []}
    engine = make_engine(activities.mapping(), clock=clock)
    engine.start(ORCHESTRATOR_NAME, "t-1", {"document": {"sha256": "t"}})
    engine.run_until_idle(timeout_s=30)
    assert engine._store.next_timer() is not None

    assert engine.terminate("t-1", "operator cancelled")
    assert not engine.raise_event("t-1", "approval", {"decision": "approved"})
    clock.advance(days=30)
    engine.run_until_idle(timeout_s=30)
    status = engine.status("t-1")
    assert (status.runtime_status, status.output) == ("Terminated", "operator cancelled")
    assert engine._store.next_timer() is None
    assert "send_reminder" not in activities.names()


def test_new_uuid_matches_the_durable_sdk_for_the_same_history() -> None:
    from datetime import UTC, datetime

    from azure.durable_functions import DurableOrchestrationContext

    from papyr.engine import OrchestrationContext

    moment = datetime(2025, 3, 3, 9, 30, 15, 250000, tzinfo=UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    durable = DurableOrchestrationContext(
        [{"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": stamp},
         {"EventType": 0, "EventId": -1, "IsPlayed": False, "Timestamp": stamp, "Version": ""}],
        "invoice-abc", False, None,
    )
    ours = OrchestrationContext("invoice-abc", None, moment)
    assert [ours.new_uuid() for _ in range(3)] == [durable.new_uuid() for _ in range(3)]


def test_one_event_task_can_be_awaited_across_several_task_any(make_engine, clock) -> None:
    """The pattern that is safe on Azure too: one waiter reused by every round of a timer loop."""

    def orchestrator(context: Any) -> Any:
        answer = context.wait_for_external_event("answer")
        rounds = 0
        while True:
            timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
            winner = yield context.task_any([answer, timer])
            if winner == answer:
                timer.cancel()
                return {"answer": answer.result, "rounds": rounds}
            rounds += 1
            yield context.call_activity("echo", rounds)

    engine = make_engine({"echo": _echo}, {"o": orchestrator}, clock=clock)
    engine.start("o", "reuse-1", None)
    for _ in range(3):
        engine.run_until_idle(timeout_s=30)
        clock.advance(minutes=61)
    engine.run_until_idle(timeout_s=30)
    engine.raise_event("reuse-1", "answer", "yes")
    engine.run_until_idle(timeout_s=30)
    assert engine.status("reuse-1").output == {"answer": "yes", "rounds": 3}
