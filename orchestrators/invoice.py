"""The invoice orchestration, written once as a Durable Functions generator.

It runs unchanged on Azure Durable Functions (``functions/orchestration.py`` registers it) and on the
embedded engine of the local host (``papyr.engine``). Rules it keeps (see BRIEF.md): deterministic —
time only from ``context.current_utc_datetime``, no I/O, no settings reads (policy arrives in the
input); only references (the document's SHA-256) travel through it, never document bytes.

Input: ``{"document": DocumentRef, "approval": ApprovalTimings}``; instance id = ``invoice-<sha256>``.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any

ORCHESTRATOR_NAME = "invoice_orchestrator"
APPROVAL_EVENT = "approval"
# Durable Functions (Python) caps one timer at 6 days; longer waits loop over shorter timers.
MAX_TIMER = timedelta(days=6)

DEFAULT_TIMINGS: dict[str, float] = {
    "remind_after_hours": 24.0,
    "escalate_after_hours": 72.0,
    "expire_after_hours": 24.0 * 14,
}


def approval_event(level: int) -> str:
    """The external event that answers approval level ``level``. One name per level, so a repeated
    or late answer for level 1 (a double-submitted card, a retried callback) can never decide level 2.
    (It also sidesteps the Python SDK replaying a buffered event into every later wait of that name.)"""
    return APPROVAL_EVENT if level == 1 else f"{APPROVAL_EVENT}-{level}"


def instance_id_for(sha256: str) -> str:
    """One orchestration per document: the content hash is the idempotency key."""
    return f"invoice-{sha256}"


def invoice_orchestrator(context: Any) -> Generator[Any, Any, dict[str, Any]]:
    payload: dict[str, Any] = context.get_input() or {}
    invoice_id: str = payload["document"]["sha256"]
    timings = {**DEFAULT_TIMINGS, **(payload.get("approval") or {})}
    # The invoice's trace context (W3C carrier from intake) rides along in every activity input, so
    # each activity's span joins one trace per invoice; absent when intake traced nothing.
    ref: dict[str, Any] = {"invoice_id": invoice_id}
    if payload.get("trace"):
        ref["trace"] = payload["trace"]

    try:
        classified = yield context.call_activity("classify_document", ref)
        if classified["status"] != "ok":
            return _finished(invoice_id, "rejected", classified.get("reason"))
        context.set_custom_status({"step": "extract", "document_type": classified.get("document_type")})

        extracted = yield context.call_activity("extract_invoice", ref)
        if extracted["status"] != "ok":
            return _finished(invoice_id, "rejected", extracted.get("reason"))
        context.set_custom_status({"step": "checks"})

        yield context.call_activity("check_invoice", ref)
        route: dict[str, Any] = yield context.call_activity("route_invoice", ref)
        if route["kind"] == "reject":
            return _finished(invoice_id, "rejected", "; ".join(route.get("reasons") or []))

        if route["kind"] == "auto_approve":
            decision: dict[str, Any] = {
                "kind": "auto_approved",
                "by": "papyr",
                "at": _iso(context.current_utc_datetime),
                "comment": "; ".join(route.get("reasons") or []) or None,
                "level": 0,
            }
            yield context.call_activity("record_decision", {**ref, "decision": decision})
        else:
            decision = yield from _collect_approvals(context, ref, route["approvers"], timings)

        yield context.call_activity("render_report", ref)
        if decision["kind"] in ("approved", "auto_approved"):
            yield context.call_activity("export_invoice", ref)
            return _finished(invoice_id, "exported", None)
        # An approver's rejection and an expiry both leave the invoice declined (not Papyr's "rejected").
        return _finished(invoice_id, "declined", decision.get("comment") or decision["kind"])
    except Exception as error:  # an activity failed after its retries: record it, keep the original
        reason = f"internal error: {error}"[:500]
        yield context.call_activity("mark_failed", {**ref, "reason": reason})
        return _finished(invoice_id, "failed", reason)


def _collect_approvals(
    context: Any, ref: dict[str, Any], approvers: list[str], timings: dict[str, float]
) -> Generator[Any, Any, dict[str, Any]]:
    """One level per approver, in order; the first rejection or expiry ends the chain."""
    decision: dict[str, Any] = {"kind": "expired", "by": "papyr", "comment": "no approver"}
    for level, approver in enumerate(approvers, start=1):
        decision = yield from _await_one_approval(context, ref, approver, level, timings)
        yield context.call_activity("record_decision", {**ref, "decision": decision})
        if decision["kind"] != "approved":
            break
    return decision


def _await_one_approval(
    context: Any, invoice_ref: dict[str, Any], approver: str, level: int, timings: dict[str, float]
) -> Generator[Any, Any, dict[str, Any]]:
    """Ask, then wait for the approval event or a timer: remind, escalate, and finally expire."""
    ref = {**invoice_ref, "approver": approver, "level": level}
    requested = yield context.call_activity("request_approval", ref)
    # The activity may hand the level to a delegate (the approver is away): remind and name them.
    approver = (requested or {}).get("approver") or approver
    ref = {**ref, "approver": approver}
    started: datetime = context.current_utc_datetime
    milestones = [
        ("remind", started + timedelta(hours=timings["remind_after_hours"])),
        ("escalate", started + timedelta(hours=timings["escalate_after_hours"])),
        ("expire", started + timedelta(hours=timings["expire_after_hours"])),
    ]
    milestones.sort(key=lambda item: item[1])
    # One waiter for the whole level, reused by every race: the Python SDK hands an event to the
    # waiter created first, so a fresh waiter per loop would lose an answer that arrives while a
    # reminder or escalation activity runs.
    event = context.wait_for_external_event(approval_event(level))
    while True:
        now: datetime = context.current_utc_datetime
        due = [name for name, at in milestones if at <= now]
        for name in due:
            if name == "expire":
                return {"kind": "expired", "by": "papyr", "at": _iso(now), "level": level,
                        "comment": f"no decision by {approver} within {timings['expire_after_hours']:g} h"}
            yield context.call_activity("send_reminder" if name == "remind" else "escalate_approval", ref)
        milestones = [(name, at) for name, at in milestones if at > now]
        fire_at = min(milestones[0][1], now + MAX_TIMER)
        timer = context.create_timer(fire_at)
        winner = yield context.task_any([event, timer])
        if winner == event:
            timer.cancel()
            answer: dict[str, Any] = event.result or {}
            kind = "approved" if answer.get("decision") == "approved" else "rejected"
            return {
                "kind": kind,
                "by": str(answer.get("by") or "unknown"),
                "at": answer.get("at") or _iso(context.current_utc_datetime),
                "comment": answer.get("comment"),
                "level": level,
            }


def _finished(invoice_id: str, status: str, reason: str | None) -> dict[str, Any]:
    return {"invoice_id": invoice_id, "status": status, "reason": reason}


def _iso(moment: datetime) -> str:
    return moment.isoformat()
