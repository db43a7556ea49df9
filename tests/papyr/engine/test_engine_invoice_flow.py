"""The real invoice orchestrator (orchestrators/invoice.py) on the embedded engine, end to end."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from orchestrators.invoice import APPROVAL_EVENT, ORCHESTRATOR_NAME, approval_event, instance_id_for
from papyr.engine import EngineClient, EventType

SHA = "ab" * 32
ID = instance_id_for(SHA)
FLOW_START = ["classify_document", "extract_invoice", "check_invoice", "route_invoice"]


def _input(**approval: float) -> dict[str, Any]:
    return {"document": {"sha256": SHA, "filename": "inv.pdf"}, "approval": approval}


def _approval_route(*approvers: str) -> dict[str, Any]:
    return {"kind": "approval", "approvers": list(approvers), "reasons": []}


def test_auto_approve_runs_every_step_and_exports(make_engine, activities, clock) -> None:
    engine = make_engine(activities.mapping(), clock=clock)
    assert engine.start(ORCHESTRATOR_NAME, ID, _input())
    assert engine.status(ID).runtime_status == "Pending"

    engine.run_until_idle(timeout_s=30)

    status = engine.status(ID)
    assert status.runtime_status == "Completed"
    assert status.output == {"invoice_id": SHA, "status": "exported", "reason": None}
    assert status.custom_status == {"step": "checks"}
    assert activities.names() == [*FLOW_START, "record_decision", "render_report", "export_invoice"]
    decision = activities.payloads("record_decision")[0]["decision"]
    assert decision["kind"] == "auto_approved"
    assert decision["at"] == clock.now.isoformat()  # the orchestration's replay time, from history
    assert engine.history(ID)[-1].event_type is EventType.EXECUTION_COMPLETED


def test_approval_waits_idle_then_the_event_completes_it(make_engine, activities, clock) -> None:
    activities.route = _approval_route("a@x")
    engine = make_engine(activities.mapping(), clock=clock)
    engine.start(ORCHESTRATOR_NAME, ID, _input())

    engine.run_until_idle(timeout_s=30)  # returns: waiting for an event and a future timer is idle
    assert engine.status(ID).runtime_status == "Running"
    assert activities.names() == [*FLOW_START, "request_approval"]
    assert activities.payloads("request_approval") == [{"invoice_id": SHA, "approver": "a@x", "level": 1}]

    assert engine.raise_event(ID, APPROVAL_EVENT, {"decision": "approved", "by": "x"})
    engine.run_until_idle(timeout_s=30)

    status = engine.status(ID)
    assert status.runtime_status == "Completed"
    assert status.output["status"] == "exported"
    decision = activities.payloads("record_decision")[0]["decision"]
    assert (decision["kind"], decision["by"], decision["level"]) == ("approved", "x", 1)
    assert activities.names()[-3:] == ["record_decision", "render_report", "export_invoice"]


def test_events_raised_before_the_orchestrator_waits_are_buffered(make_engine, activities, clock) -> None:
    activities.route = _approval_route("a@x", "cfo@x")
    engine = make_engine(activities.mapping(), clock=clock)
    engine.start(ORCHESTRATOR_NAME, ID, _input())
    # Both approvals arrive before the orchestration has even classified the document.
    engine.raise_event(ID, approval_event(1), {"decision": "approved", "by": "clerk"})
    engine.raise_event(ID, approval_event(2), {"decision": "approved", "by": "cfo"})

    engine.run_until_idle(timeout_s=30)

    assert engine.status(ID).output["status"] == "exported"
    decisions = [p["decision"] for p in activities.payloads("record_decision")]
    assert [(d["by"], d["level"]) for d in decisions] == [("clerk", 1), ("cfo", 2)]
    assert [p["approver"] for p in activities.payloads("request_approval")] == ["a@x", "cfo@x"]


def test_reminder_escalation_and_expiry_follow_the_clock(make_engine, activities, clock) -> None:
    activities.route = _approval_route("a@x")
    engine = make_engine(activities.mapping(), clock=clock)
    engine.start(ORCHESTRATOR_NAME, ID, _input(remind_after_hours=24, escalate_after_hours=72,
                                                expire_after_hours=24 * 14))
    engine.run_until_idle(timeout_s=30)

    clock.advance(hours=23)
    engine.run_until_idle(timeout_s=30)
    assert "send_reminder" not in activities.names()

    clock.advance(hours=2)  # 25 h
    engine.run_until_idle(timeout_s=30)
    assert activities.names().count("send_reminder") == 1
    assert "escalate_approval" not in activities.names()

    clock.advance(hours=48)  # 73 h
    engine.run_until_idle(timeout_s=30)
    assert activities.names().count("escalate_approval") == 1
    assert engine.status(ID).runtime_status == "Running"

    clock.advance(hours=6 * 24)  # 217 h: the 6-day timer cap fires, nothing is due yet
    engine.run_until_idle(timeout_s=30)
    assert engine.status(ID).runtime_status == "Running"
    assert activities.names().count("send_reminder") == 1

    clock.advance(hours=120)  # 337 h > 14 days
    engine.run_until_idle(timeout_s=30)
    status = engine.status(ID)
    assert status.runtime_status == "Completed"
    assert status.output["status"] == "declined"  # the orchestrator's word for rejected or expired
    assert "no decision by a@x" in status.output["reason"]
    assert activities.payloads("record_decision")[0]["decision"]["kind"] == "expired"
    assert "export_invoice" not in activities.names()
    assert activities.names()[-1] == "render_report"
    assert activities.names().count("send_reminder") == 1
    assert activities.names().count("escalate_approval") == 1


def test_an_approval_after_a_reminder_lands_on_the_current_wait(make_engine, activities, clock) -> None:
    activities.route = _approval_route("a@x")
    engine = make_engine(activities.mapping(), clock=clock)
    # The approver answers while the reminder is being sent: the earlier wait lost to the timer,
    # so the event must go to the next one, not to the abandoned waiter.
    activities.hooks["send_reminder"] = lambda _: engine.raise_event(
        ID, APPROVAL_EVENT, {"decision": "approved", "by": "late"})
    engine.start(ORCHESTRATOR_NAME, ID, _input())
    engine.run_until_idle(timeout_s=30)
    clock.advance(hours=25)

    engine.run_until_idle(timeout_s=30)

    assert engine.status(ID).output["status"] == "exported"
    assert activities.payloads("record_decision")[0]["decision"]["by"] == "late"


def test_rejection_ends_without_export(make_engine, activities, clock) -> None:
    activities.route = _approval_route("a@x", "cfo@x")
    engine = make_engine(activities.mapping(), clock=clock)
    engine.start(ORCHESTRATOR_NAME, ID, _input())
    engine.run_until_idle(timeout_s=30)

    engine.raise_event(ID, APPROVAL_EVENT, {"decision": "rejected", "by": "x", "comment": "wrong amount"})
    engine.run_until_idle(timeout_s=30)

    assert engine.status(ID).output == {"invoice_id": SHA, "status": "declined", "reason": "wrong amount"}
    assert activities.payloads("record_decision")[0]["decision"]["kind"] == "rejected"
    assert "export_invoice" not in activities.names()
    assert len(activities.payloads("request_approval")) == 1  # the chain stops at the first rejection
    assert activities.names()[-1] == "render_report"


def test_not_an_invoice_is_rejected_with_its_reason(make_engine, activities, clock) -> None:
    activities.classification = {"status": "rejected", "reason": "not an invoice"}
    engine = make_engine(activities.mapping(), clock=clock)
    engine.start(ORCHESTRATOR_NAME, ID, _input())
    engine.run_until_idle(timeout_s=30)

    assert engine.status(ID).output == {"invoice_id": SHA, "status": "rejected", "reason": "not an invoice"}
    assert activities.names() == ["classify_document"]


def test_activity_failure_goes_through_the_orchestrators_except_path(make_engine, activities, clock) -> None:
    activities.failures["extract_invoice"] = RuntimeError("ocr service down")
    engine = make_engine(activities.mapping(), clock=clock)
    engine.start(ORCHESTRATOR_NAME, ID, _input())
    engine.run_until_idle(timeout_s=30)

    status = engine.status(ID)
    assert status.runtime_status == "Completed"  # the orchestrator handled it
    assert status.output["status"] == "failed"
    assert "ocr service down" in status.output["reason"]
    [marked] = activities.payloads("mark_failed")
    assert marked["invoice_id"] == SHA
    assert "extract_invoice" in marked["reason"] and "RuntimeError: ocr service down" in marked["reason"]
    failed = [e for e in engine.history(ID) if e.event_type is EventType.TASK_FAILED]
    assert len(failed) == 1


def test_start_never_replaces_an_existing_instance(make_engine, activities, clock) -> None:
    activities.route = _approval_route("a@x")
    engine = make_engine(activities.mapping(), clock=clock)
    assert engine.start(ORCHESTRATOR_NAME, ID, _input())
    engine.run_until_idle(timeout_s=30)
    history_before = engine.history(ID)

    assert not engine.start(ORCHESTRATOR_NAME, ID, {"document": {"sha256": "other"}})  # while running
    engine.run_until_idle(timeout_s=30)
    assert engine.history(ID) == history_before
    assert activities.names().count("classify_document") == 1

    engine.raise_event(ID, APPROVAL_EVENT, {"decision": "approved", "by": "x"})
    engine.run_until_idle(timeout_s=30)
    assert not engine.start(ORCHESTRATOR_NAME, ID, _input())  # and once finished
    engine.run_until_idle(timeout_s=30)
    assert engine.status(ID).output["status"] == "exported"
    assert activities.names().count("classify_document") == 1
    assert activities.names().count("export_invoice") == 1


def test_events_for_unknown_or_finished_instances_are_refused(make_engine, activities, clock) -> None:
    engine = make_engine(activities.mapping(), clock=clock)
    assert not engine.raise_event("invoice-nope", APPROVAL_EVENT, {})
    engine.start(ORCHESTRATOR_NAME, ID, _input())
    engine.run_until_idle(timeout_s=30)
    assert not engine.raise_event(ID, APPROVAL_EVENT, {"decision": "approved"})
    assert engine.status("invoice-nope") is None


def test_the_async_client_port(make_engine, activities, clock) -> None:
    activities.route = _approval_route("a@x")
    engine = make_engine(activities.mapping(), clock=clock)
    client = EngineClient(engine)

    async def scenario() -> None:
        assert await client.start(ORCHESTRATOR_NAME, ID, _input()) == ID
        assert await client.start(ORCHESTRATOR_NAME, ID, _input()) == ID  # idempotent
        await asyncio.to_thread(engine.run_until_idle, 30)
        status = await client.status(ID)
        assert status is not None and status.runtime_status == "Running"
        await client.raise_event(ID, APPROVAL_EVENT, {"decision": "approved", "by": "x"})
        await asyncio.to_thread(engine.run_until_idle, 30)
        assert (await client.status(ID)).output["status"] == "exported"
        assert await client.status("invoice-unknown") is None
        try:
            await client.raise_event(ID, APPROVAL_EVENT, {})
        except LookupError as error:
            assert "no longer running" in str(error)
        else:
            raise AssertionError("raising an event on a finished instance must fail")

    asyncio.run(scenario())


def test_many_instances_and_listing(make_engine, activities, clock) -> None:
    engine = make_engine(activities.mapping(), clock=clock, workers=4)
    ids = [instance_id_for(f"{n:064x}") for n in range(12)]
    for n, instance_id in enumerate(ids):
        engine.start(ORCHESTRATOR_NAME, instance_id, {"document": {"sha256": f"{n:064x}"}})
        clock.advance(seconds=1)
    progress: list[int] = []
    engine.run_until_idle(timeout_s=60, on_progress=progress.append)

    assert progress == sorted(set(progress)) and progress[-1] == 12
    listed = engine.list_instances(runtime_status="Completed")
    assert [s.instance_id for s in listed] == ids  # in start order
    assert all(s.output["status"] == "exported" for s in listed)
    assert engine.list_instances(runtime_status="Running") == []
    for n in range(12):
        assert activities.names(f"{n:064x}") == [*FLOW_START, "record_decision", "render_report",
                                                  "export_invoice"]


def test_a_repeated_answer_for_an_earlier_level_is_ignored(make_engine, activities, clock) -> None:
    activities.route = _approval_route("clerk@x", "cfo@x")
    engine = make_engine(activities.mapping(), clock=clock)
    engine.start(ORCHESTRATOR_NAME, ID, _input())
    engine.run_until_idle(timeout_s=30)

    engine.raise_event(ID, approval_event(1), {"decision": "approved", "by": "clerk"})
    engine.run_until_idle(timeout_s=30)
    engine.raise_event(ID, approval_event(1), {"decision": "rejected", "by": "clerk"})  # card resent
    engine.run_until_idle(timeout_s=30)
    assert engine.status(ID).runtime_status == "Running"
    assert len(activities.payloads("record_decision")) == 1

    engine.raise_event(ID, approval_event(2), {"decision": "approved", "by": "cfo"})
    engine.run_until_idle(timeout_s=30)
    assert engine.status(ID).output["status"] == "exported"
    assert [p["decision"]["by"] for p in activities.payloads("record_decision")] == ["clerk", "cfo"]


def test_run_forever_serves_until_stopped(make_engine, activities) -> None:
    engine = make_engine(activities.mapping())  # real clock, as the local server runs it
    stop = threading.Event()
    server = threading.Thread(target=engine.run_forever, args=(stop, 0.05), daemon=True)
    server.start()
    try:
        engine.start(ORCHESTRATOR_NAME, ID, _input())
        deadline = time.monotonic() + 30
        while (status := engine.status(ID)) is None or status.runtime_status != "Completed":
            assert time.monotonic() < deadline, f"not completed: {status}"
            time.sleep(0.01)
    finally:
        stop.set()
        server.join(timeout=10)
    assert not server.is_alive()
    assert engine.status(ID).output["status"] == "exported"
