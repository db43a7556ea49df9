"""The invoice orchestrator replayed through the real azure.durable_functions SDK, stage by stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.durable_functions.models.ReplaySchema import ReplaySchema
from durable_history import EPISODE_GAP, DurableHistory, Episode, drive

from orchestrators.invoice import APPROVAL_EVENT, MAX_TIMER, approval_event, instance_id_for, invoice_orchestrator

SHA = "5f" * 32
T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
REF = {"invoice_id": SHA}
TIMINGS = {"remind_after_hours": 24.0, "escalate_after_hours": 48.0, "expire_after_hours": 96.0}
CLERK, CFO = "ap.clerk@example.com", "cfo@example.com"

OK_UP_TO_ROUTE: dict[str, Any] = {
    "classify_document": {"status": "ok", "document_type": "invoice", "reason": "has invoice number"},
    "extract_invoice": {"status": "ok", "fields": 12},
    "check_invoice": {"findings": 0, "risk_score": 0.0},
}


def payload(timings: dict[str, float] | None = None) -> dict[str, Any]:
    return {
        "document": {
            "sha256": SHA,
            "blob_name": f"documents/{SHA}.pdf",
            "filename": "invoice 2024-117.pdf",
            "content_type": "application/pdf",
            "size": 48213,
            "mail": {"mailbox": "ap@example.com", "message_id": "<m1@example.com>"},
        },
        "approval": timings if timings is not None else TIMINGS,
    }


def new_history(timings: dict[str, float] | None = None, schema: ReplaySchema = ReplaySchema.V1) -> DurableHistory:
    return DurableHistory(
        invoice_orchestrator, payload(timings), start=T0, instance_id=instance_id_for(SHA), schema=schema
    )


def approval_route(*approvers: str) -> dict[str, Any]:
    return {"kind": "approval", "approvers": list(approvers), "reasons": ["amount 4,200.00 EUR needs approval"]}


def calls(episodes: list[Episode]) -> list[tuple[str | None, Any]]:
    return [call for episode in episodes for call in episode.activities]


def up_to_approval_wait(history: DurableHistory, *approvers: str) -> Episode:
    """Run classify → route (approval) → request_approval; return the episode that starts waiting."""
    episodes = drive(
        history, {**OK_UP_TO_ROUTE, "route_invoice": approval_route(*approvers)}, hold={"request_approval"}
    )
    assert calls(episodes)[-1] == ("request_approval", {**REF, "approver": approvers[0], "level": 1})
    history.complete("request_approval", {"status": "awaiting_approval"})
    return history.replay()


def test_instance_id_is_derived_from_the_content_hash() -> None:
    assert instance_id_for(SHA) == f"invoice-{SHA}"


def test_first_episode_only_classifies() -> None:
    episode = new_history().replay()
    assert episode.activities == [("classify_document", REF)]
    assert not episode.done


def test_auto_approve_path_records_decision_reports_exports_and_completes() -> None:
    history = new_history()
    route = {"kind": "auto_approve", "approvers": [], "reasons": ["below 1,000.00 EUR, no findings"]}
    episodes = drive(history, {**OK_UP_TO_ROUTE, "route_invoice": route})

    # Route completed in the 4th episode; the decision carries that episode's deterministic time.
    decided_at = (T0 + 4 * EPISODE_GAP).isoformat()
    assert calls(episodes) == [
        ("classify_document", REF),
        ("extract_invoice", REF),
        ("check_invoice", REF),
        ("route_invoice", REF),
        (
            "record_decision",
            {
                **REF,
                "decision": {
                    "kind": "auto_approved",
                    "by": "papyr",
                    "at": decided_at,
                    "comment": "below 1,000.00 EUR, no findings",
                    "level": 0,
                },
            },
        ),
        ("render_report", REF),
        ("export_invoice", REF),
    ]
    assert [len(e.new_actions) for e in episodes] == [1, 1, 1, 1, 1, 1, 1, 0]
    assert episodes[-1].done
    assert episodes[-1].output == {"invoice_id": SHA, "status": "exported", "reason": None}
    assert episodes[1].custom_status == {"step": "extract", "document_type": "invoice"}
    assert episodes[2].custom_status == {"step": "checks"}


@pytest.mark.parametrize(
    ("results", "reason"),
    [
        (
            {"classify_document": {"status": "rejected", "reason": "not an invoice: newsletter"}},
            "not an invoice: newsletter",
        ),
        (
            {**OK_UP_TO_ROUTE, "extract_invoice": {"status": "rejected", "reason": "rejected: encrypted PDF"}},
            "rejected: encrypted PDF",
        ),
        (
            {**OK_UP_TO_ROUTE, "route_invoice": {"kind": "reject", "approvers": [], "reasons": ["duplicate", "fraud"]}},
            "duplicate; fraud",
        ),
    ],
    ids=["classify", "extract", "route"],
)
def test_rejection_ends_with_status_rejected_and_the_reason(results: dict[str, Any], reason: str) -> None:
    episodes = drive(new_history(), results)
    final = episodes[-1]
    assert final.done
    assert final.output == {"invoice_id": SHA, "status": "rejected", "reason": reason}
    names = [name for name, _ in calls(episodes)]
    assert not {"record_decision", "render_report", "export_invoice"} & set(names)


@pytest.mark.parametrize("schema", [ReplaySchema.V1, ReplaySchema.V2], ids=["schema-v1", "schema-v2"])
def test_approval_path_waits_for_the_event_then_exports(schema: ReplaySchema) -> None:
    history = new_history(schema=schema)
    waiting = up_to_approval_wait(history, CLERK)
    requested_at = history.now

    # Waits for the approval event or the reminder timer, whichever comes first.
    assert [(a.kind, a.name) for a in waiting.new_actions] == [("event", APPROVAL_EVENT), ("timer", None)]
    assert waiting.new_actions[1].fire_at == requested_at + timedelta(hours=24)
    assert not waiting.done

    answer = {"decision": "approved", "by": CLERK, "at": "2024-05-06T10:30:00+00:00", "comment": "ok"}
    history.raise_event(APPROVAL_EVENT, answer, at=requested_at + timedelta(hours=1))
    decided = history.replay()
    decision = {"kind": "approved", "by": CLERK, "at": answer["at"], "comment": "ok", "level": 1}
    assert decided.activities == [("record_decision", {**REF, "decision": decision})]
    timers = [a for a in decided.all_actions if a.kind == "timer"]
    assert [t.cancelled for t in timers] == [True], "the timer is cancelled once the event won"

    episodes = drive(history.complete("record_decision", {"status": "approved"}), {})
    assert calls(episodes) == [("render_report", REF), ("export_invoice", REF)]
    assert episodes[-1].output == {"invoice_id": SHA, "status": "exported", "reason": None}


def test_rejection_by_the_approver_reports_but_does_not_export() -> None:
    history = new_history()
    up_to_approval_wait(history, CLERK)
    answer = {"decision": "rejected", "by": CLERK, "comment": "wrong cost centre"}
    history.raise_event(APPROVAL_EVENT, answer)
    decided = history.replay()
    ((name, recorded),) = decided.activities
    assert name == "record_decision"
    assert recorded["decision"]["kind"] == "rejected"
    assert recorded["decision"]["at"] == history.now.isoformat(), "no time in the answer: the episode's time"

    episodes = drive(history.complete("record_decision", {"status": "declined"}), {})
    assert calls(episodes) == [("render_report", REF)]
    assert episodes[-1].output == {"invoice_id": SHA, "status": "declined", "reason": "wrong cost centre"}


def test_timers_drive_reminder_escalation_and_expiry_from_the_input_timings() -> None:
    history = new_history()
    waiting = up_to_approval_wait(history, CLERK)
    requested_at = history.now
    who = {**REF, "approver": CLERK, "level": 1}
    assert waiting.new_actions[-1].fire_at == requested_at + timedelta(hours=24)

    reminded = history.fire_timer().replay()
    assert reminded.activities == [("send_reminder", who)]

    rearmed = history.complete("send_reminder", {"status": "awaiting_approval"}).replay()
    assert [(a.kind, a.name) for a in rearmed.new_actions] == [("event", APPROVAL_EVENT), ("timer", None)]
    assert rearmed.new_actions[1].fire_at == requested_at + timedelta(hours=48)

    escalated = history.fire_timer().replay()
    assert escalated.activities == [("escalate_approval", who)]

    rearmed = history.complete("escalate_approval", {"status": "awaiting_approval"}).replay()
    assert rearmed.new_actions[1].fire_at == requested_at + timedelta(hours=96)

    expired = history.fire_timer().replay()
    expiry = {
        "kind": "expired",
        "by": "papyr",
        "at": history.now.isoformat(),
        "level": 1,
        "comment": f"no decision by {CLERK} within 96 h",
    }
    assert expired.activities == [("record_decision", {**REF, "decision": expiry})]

    episodes = drive(history.complete("record_decision", {"status": "declined"}), {})
    assert calls(episodes) == [("render_report", REF)]
    assert episodes[-1].output == {"invoice_id": SHA, "status": "declined", "reason": expiry["comment"]}


def test_an_approval_after_a_reminder_is_still_received() -> None:
    history = new_history()
    up_to_approval_wait(history, CLERK)
    history.fire_timer().replay()
    history.complete("send_reminder", {"status": "awaiting_approval"}).replay()
    history.raise_event(APPROVAL_EVENT, {"decision": "approved", "by": CLERK})
    decided = history.replay()
    assert [(n, i["decision"]["kind"]) for n, i in decided.activities] == [("record_decision", "approved")]


def test_waits_longer_than_six_days_loop_over_capped_timers() -> None:
    timings = {"remind_after_hours": 24.0, "escalate_after_hours": 72.0, "expire_after_hours": 24.0 * 14}
    history = new_history(timings)
    up_to_approval_wait(history, CLERK)
    requested_at = history.now
    history.fire_timer().replay()
    history.complete("send_reminder", {}).replay()
    history.fire_timer().replay()
    escalated_at = history.now  # the loop computes the next timer from the time it woke up
    capped = history.complete("escalate_approval", {}).replay()
    assert capped.new_actions[1].fire_at == escalated_at + MAX_TIMER  # not the expiry, 11 days away

    again = history.fire_timer().replay()  # nothing due yet: wait again, now up to the expiry
    assert again.activities == []
    assert again.new_actions[1].fire_at == requested_at + timedelta(hours=24 * 14)

    expired = history.fire_timer().replay()
    assert [(n, i["decision"]["kind"]) for n, i in expired.activities] == [("record_decision", "expired")]


def test_capped_timers_stay_single_timers_under_the_hosts_long_timer_limits() -> None:
    """Azure Storage hosts pass their timer limits; a timer longer than the limit would be split by
    the SDK into a chain. The orchestrator's 6-day cap keeps each one a plain, cancellable timer."""
    limits = {"maximumShortTimerDuration": "6.00:00:00", "longRunningTimerIntervalDuration": "3.00:00:00"}
    timings = {"remind_after_hours": 24.0 * 10, "escalate_after_hours": 24.0 * 11, "expire_after_hours": 24.0 * 12}
    history = DurableHistory(invoice_orchestrator, payload(timings), start=T0, context_fields=limits)
    waiting = up_to_approval_wait(history, CLERK)
    assert waiting.new_actions[1].fire_at == history.now + MAX_TIMER
    history.raise_event(APPROVAL_EVENT, {"decision": "approved", "by": CLERK})
    decided = history.replay()
    assert [t.cancelled for t in decided.all_actions if t.kind == "timer"] == [True]
    assert [(n, i["decision"]["kind"]) for n, i in decided.activities] == [("record_decision", "approved")]


def test_two_approvers_decide_in_order() -> None:
    history = new_history()
    up_to_approval_wait(history, CLERK, CFO)
    history.raise_event(APPROVAL_EVENT, {"decision": "approved", "by": CLERK})
    first = history.replay()
    assert [(i["decision"]["by"], i["decision"]["level"]) for _, i in first.activities] == [(CLERK, 1)]

    second = history.complete("record_decision", {"status": "awaiting_approval"}).replay()
    assert second.activities == [("request_approval", {**REF, "approver": CFO, "level": 2})]
    waiting = history.complete("request_approval", {"status": "awaiting_approval"}).replay()
    assert [(a.kind, a.name) for a in waiting.new_actions] == [("event", approval_event(2)), ("timer", None)]

    history.raise_event(approval_event(2), {"decision": "approved", "by": CFO})
    decided = history.replay()
    assert [(i["decision"]["by"], i["decision"]["level"]) for _, i in decided.activities] == [(CFO, 2)]
    episodes = drive(history.complete("record_decision", {"status": "approved"}), {})
    assert calls(episodes) == [("render_report", REF), ("export_invoice", REF)]
    assert episodes[-1].output["status"] == "exported"


@pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")
def test_an_approval_raised_before_the_wait_begins_is_buffered() -> None:
    history = new_history()
    drive(history, {**OK_UP_TO_ROUTE, "route_invoice": approval_route(CLERK)}, hold={"request_approval"})
    # The approver answers while request_approval is still running.
    history.raise_event(APPROVAL_EVENT, {"decision": "approved", "by": CLERK})
    assert history.replay().new_actions == []
    decided = history.complete("request_approval", {"status": "awaiting_approval"}).replay()
    assert [(n, i["decision"]["kind"]) for n, i in decided.activities] == [("record_decision", "approved")]


def test_a_failed_activity_is_recorded_with_mark_failed() -> None:
    history = new_history()
    episodes = drive(
        history, {**OK_UP_TO_ROUTE, "check_invoice": RuntimeError("database is locked")}, hold={"mark_failed"}
    )
    ((name, failed),) = episodes[-1].activities
    assert name == "mark_failed"
    assert failed["invoice_id"] == SHA
    assert failed["reason"].startswith("internal error: database is locked")
    assert len(failed["reason"]) <= 500

    final = drive(history.complete("mark_failed", {"status": "failed"}), {})[-1]
    assert final.done
    assert final.output == {"invoice_id": SHA, "status": "failed", "reason": failed["reason"]}


def test_a_failed_export_after_approval_is_recorded_too() -> None:
    history = new_history()
    route = {"kind": "auto_approve", "approvers": [], "reasons": []}
    episodes = drive(history, {**OK_UP_TO_ROUTE, "route_invoice": route, "export_invoice": OSError("outbox full")})
    assert [name for name, _ in calls(episodes)][-2:] == ["export_invoice", "mark_failed"]
    # No reasons: the auto-approval has no comment.
    assert calls(episodes)[4][1]["decision"]["comment"] is None


def test_defaults_apply_when_the_input_has_no_timings() -> None:
    history = new_history(timings={})
    waiting = up_to_approval_wait(history, CLERK)
    assert waiting.new_actions[1].fire_at == history.now + timedelta(hours=24)


@pytest.mark.filterwarnings("ignore:Potential duplicate Task completion")
def test_a_duplicate_answer_for_level_one_does_not_decide_level_two() -> None:
    history = new_history()
    up_to_approval_wait(history, CLERK, CFO)
    answer = {"decision": "approved", "by": CLERK, "level": 1}
    history.raise_event(APPROVAL_EVENT, answer)
    history.raise_event(APPROVAL_EVENT, answer)  # the same answer delivered twice
    history.replay()
    history.complete("record_decision", {"status": "awaiting_approval"}).replay()
    waiting = history.complete("request_approval", {"status": "awaiting_approval"}).replay()
    assert waiting.activities == [], f"level 2 was decided without the CFO: {waiting.activities}"
