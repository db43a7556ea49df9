"""The approval policy replayed through the real azure.durable_functions SDK, with the real activities.

The invoice's orchestration input is built by intake from the policy file (its timings), every
activity the orchestrator asks for runs for real against local storage (its clock is the history's
time), and its result goes into the history as the Durable extension would record it. Approvals are
the events the approval handler raises. Scenarios: two levels, delegation, reminder → escalation →
approval, and expiry past the 6-day timer cap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from durable_history import DurableHistory, Episode

from orchestrators.invoice import MAX_TIMER, approval_event, instance_id_for, invoice_orchestrator
from shared.activities import ACTIVITIES
from shared.domain import InvoiceRecord, InvoiceStatus
from shared.intake.service import ingest_file, orchestration_input
from shared.services import Services, set_services
from shared.settings import Settings
from tests.factories import ubl_invoice

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # Monday; the CFO is away 10-14 March (Berlin dates)
POLICY = """
timezone: Europe/Berlin
auto_approve_below: 100
fallback_approvers: [admin@x]
timings: {remind_after_hours: 8, escalate_after_hours: 20, escalate_to: [lead@x], expire_after_hours: 200}
rules:
  - name: two levels
    when: {amount: {min: 5000}}
    levels: [clerk@x, cfo@x]
  - name: one level
    levels: [clerk@x]
delegations:
  - {approver: cfo@x, delegate: controller@x, from: 2025-03-10, until: 2025-03-14}
"""


class Flow:
    """One invoice: stored by intake, its orchestration replayed episode by episode through the SDK."""

    def __init__(self, services: Services, total: str, start: datetime) -> None:
        self.services = services
        result = ingest_file(ubl_invoice(f"INV-{total}", total), f"invoice-{total}.xml", "ap@x", services=services)
        (ref,) = result.documents
        self.invoice_id = ref.sha256
        self.payload = orchestration_input(ref, services.settings)
        self.history = DurableHistory(invoice_orchestrator, self.payload, start=start,
                                      instance_id=instance_id_for(ref.sha256))
        services.clock = lambda: self.history.now  # activities run at the history's time
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def run(self) -> Episode:
        """Replay; run every activity asked for with the real function and record its result; stop
        when the orchestrator waits (for an event or a timer) or completes."""
        while True:
            episode = self.history.replay()
            activities = [a for a in episode.new_actions if a.kind == "activity"]
            if episode.done or not activities:
                return episode
            for action in activities:
                assert action.name is not None
                self.calls.append((action.name, action.input))
                self.history.complete(action.name, ACTIVITIES[action.name](action.input))

    def answer(self, level: int, by: str, decision: str = "approved", *, after: timedelta = timedelta(hours=1)
               ) -> Episode:
        """The event the approval handler raises (same shape), then the orchestration runs on."""
        at = self.history.now + after
        self.history.raise_event(approval_event(level), {"decision": decision, "by": by, "comment": None,
                                                         "at": at.isoformat(), "level": level}, at=at)
        return self.run()

    def fire_timer(self) -> Episode:
        self.history.fire_timer()
        return self.run()

    def record(self) -> InvoiceRecord:
        record = self.services.repo.get_invoice(self.invoice_id)
        assert record is not None
        return record

    def audit(self, action: str) -> list[dict[str, Any]]:
        return [e.detail for e in self.services.repo.audit_trail(self.invoice_id) if e.action == action]

    def called(self, name: str) -> list[dict[str, Any]]:
        return [payload for called, payload in self.calls if called == name]


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    policy = tmp_path / "approval-policy.yaml"
    policy.write_text(POLICY)
    services = Services.from_settings(Settings(data_dir=tmp_path / "data", approval_policy=policy))
    set_services(services)
    yield services
    set_services(None)


def test_the_policys_timings_are_the_orchestration_input(services: Services) -> None:
    flow = Flow(services, "2000.00", T0)
    assert flow.payload["approval"] == {"remind_after_hours": 8.0, "escalate_after_hours": 20.0,
                                        "expire_after_hours": 200.0}


def test_two_levels_both_approved_are_exported(services: Services) -> None:
    flow = Flow(services, "7500.00", T0)
    waiting = flow.run()
    assert [(a.kind, a.name) for a in waiting.new_actions] == [("event", approval_event(1)), ("timer", None)]
    assert flow.record().route is not None and flow.record().route.approvers == ["clerk@x", "cfo@x"]

    second = flow.answer(1, "clerk@x")
    assert [(a.kind, a.name) for a in second.new_actions] == [("event", approval_event(2)), ("timer", None)]
    assert flow.called("request_approval")[-1]["approver"] == "cfo@x"

    final = flow.answer(2, "cfo@x")
    assert final.done and final.output["status"] == "exported"
    record = flow.record()
    assert record.status is InvoiceStatus.EXPORTED
    assert [(d.by, d.level) for d in record.decisions] == [("clerk@x", 1), ("cfo@x", 2)]


def test_a_delegate_is_asked_reminded_and_their_approval_recorded(services: Services) -> None:
    flow = Flow(services, "7500.00", T0 + timedelta(days=7))  # Monday 10 March: the CFO is away
    flow.run()
    flow.answer(1, "clerk@x")
    assert flow.audit("delegated") == [
        {"level": 2, "from": "cfo@x", "to": "controller@x", "until": "2025-03-14T23:59:59.999999+01:00"}]

    # The orchestrator takes the approver from request_approval's result: the reminder names the delegate.
    reminded = flow.fire_timer()
    assert [(a.kind, a.name) for a in reminded.new_actions] == [("event", approval_event(2)), ("timer", None)]
    assert flow.called("send_reminder") == [{"invoice_id": flow.invoice_id, "approver": "controller@x", "level": 2}]
    assert flow.audit("reminder_sent") == [{"level": 2, "approver": "controller@x", "to": ["controller@x"]}]

    final = flow.answer(2, "controller@x")
    assert final.output["status"] == "exported"
    assert [(d.by, d.level) for d in flow.record().decisions] == [("clerk@x", 1), ("controller@x", 2)]


def test_reminder_then_escalation_then_approval(services: Services) -> None:
    flow = Flow(services, "2000.00", T0)
    waiting = flow.run()
    requested_at = flow.history.now
    assert waiting.new_actions[-1].fire_at == requested_at + timedelta(hours=8)

    flow.fire_timer()
    assert flow.audit("reminder_sent") == [{"level": 1, "approver": "clerk@x", "to": ["clerk@x"]}]
    assert flow.history.pending_timer().fire_at == requested_at + timedelta(hours=20)

    flow.fire_timer()
    assert flow.audit("escalated") == [{"level": 1, "approver": "clerk@x", "escalated_to": ["lead@x"]}]
    assert flow.record().status is InvoiceStatus.AWAITING_APPROVAL

    final = flow.answer(1, "clerk@x")
    assert final.output["status"] == "exported"
    assert [name for name, _ in flow.calls][-4:] == ["escalate_approval", "record_decision", "render_report",
                                                     "export_invoice"]


def test_expiry_past_the_six_day_timer_cap(services: Services) -> None:
    flow = Flow(services, "2000.00", T0)
    flow.run()
    requested_at = flow.history.now
    flow.fire_timer()  # reminder at 8 h
    escalation_due = flow.history.pending_timer().fire_at
    flow.fire_timer()  # escalation at 20 h; the orchestrator wakes just after the timer's time
    capped = flow.history.pending_timer().fire_at
    # 200 h is further than 6 days: the next wait is capped at 6 days from the wake-up.
    assert escalation_due + MAX_TIMER <= capped < escalation_due + MAX_TIMER + timedelta(seconds=1)

    again = flow.fire_timer()  # the capped timer: nothing is due, wait again up to the expiry
    assert again.activities == []
    assert flow.history.pending_timer().fire_at == requested_at + timedelta(hours=200)

    final = flow.fire_timer()
    assert final.done
    assert final.output == {"invoice_id": flow.invoice_id, "status": "declined",
                            "reason": "no decision by clerk@x within 200 h"}
    record = flow.record()
    assert record.status is InvoiceStatus.DECLINED and [d.kind.value for d in record.decisions] == ["expired"]
    assert len(flow.audit("reminder_sent")) == 1 and len(flow.audit("escalated")) == 1
