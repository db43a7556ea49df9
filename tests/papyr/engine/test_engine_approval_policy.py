"""The approval policy end to end on the embedded engine, with the real activities and a clock the
test moves: two levels, delegation, four-eyes, reminder → escalation → approval, expiry past 6 days.

An e-invoice (UBL, read exactly) goes through intake, the real orchestrator and activities; approvals
arrive through the real approval handler, as from the dashboard or `papyr approve`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrators.invoice import ORCHESTRATOR_NAME, invoice_orchestrator
from papyr.engine import EmbeddedEngine, EngineClient, EventType
from shared.activities import ACTIVITIES
from shared.api.approvals import next_level, post_approval
from shared.api.http import ApiContext, ApiRequest
from shared.approvals.tokens import ActionTokens
from shared.domain import AuditEntry, InvoiceRecord, InvoiceStatus
from shared.intake.service import ingest_file, start_orchestrations
from shared.services import Services, set_services
from shared.settings import Settings
from tests.factories import ubl_invoice

# The engine's clock (the ``clock`` fixture) starts on Monday 2025-03-03 09:00 UTC; the CFO is away
# the week after (Berlin dates).
POLICY = """
timezone: Europe/Berlin
auto_approve_below: 100
fallback_approvers: [admin@x]
timings: {remind_after_hours: 24, escalate_after_hours: 72, escalate_to: [lead@x], expire_after_hours: 336}
rules:
  - name: two levels
    when: {amount: {min: 5000}}
    levels: [[clerk@x, deputy@x], cfo@x]
  - name: one level
    levels: [[clerk@x, deputy@x]]
delegations:
  - {approver: cfo@x, delegate: controller@x, from: 2025-03-10, until: 2025-03-14}
"""


@dataclass
class Host:
    services: Services
    engine: EmbeddedEngine
    client: EngineClient
    clock: Any  # the FakeClock fixture: now, advance(**timedelta)

    def receive(self, total: str, *, uploaded_by: str | None = None) -> str:
        """An invoice arrives (or a person uploads it); its orchestration starts and runs until it waits."""
        result = ingest_file(ubl_invoice(f"INV-{total}", total), f"invoice-{total}.xml", "ap@x",
                             services=self.services)
        (ref,) = result.documents
        if uploaded_by:  # what the upload route records for a signed-in person
            self.services.repo.append_audit(ref.sha256, AuditEntry(actor=uploaded_by, action="uploaded"))
        asyncio.run(start_orchestrations([ref], self.client, self.services.settings))
        self.run()
        return ref.sha256

    def run(self, **advance: float) -> None:
        self.clock.advance(**advance)
        self.engine.run_until_idle(timeout_s=60)

    def approve(self, invoice_id: str, by: str, decision: str = "approved") -> None:
        # The approver's own signed action token for the open level, as on their Teams card.
        level = next_level(self.record(invoice_id))
        token = ActionTokens.from_settings(self.services.settings).mint(
            invoice_id=invoice_id, level=level, approver=by, valid_for=timedelta(hours=1))
        body = json.dumps({"decision": decision, "token": token}).encode()
        request = ApiRequest(method="POST", path_params={"invoice_id": invoice_id},
                             headers={"content-type": "application/json"}, body=body)
        response = asyncio.run(post_approval(request, ApiContext(orchestration=self.client)))
        assert response.status == 202, response.body
        self.run()

    def record(self, invoice_id: str) -> InvoiceRecord:
        record = self.services.repo.get_invoice(invoice_id)
        assert record is not None
        return record

    def audit(self, invoice_id: str, action: str) -> list[dict[str, Any]]:
        return [e.detail for e in self.services.repo.audit_trail(invoice_id) if e.action == action]


@pytest.fixture
def host(tmp_path: Path, clock: Any) -> Iterator[Host]:
    policy = tmp_path / "approval-policy.yaml"
    policy.write_text(POLICY)
    settings = Settings(data_dir=tmp_path / "data", approval_policy=policy)
    services = Services.from_settings(settings)
    services.clock = clock
    set_services(services)
    engine = EmbeddedEngine(tmp_path / "orchestration.sqlite3", {ORCHESTRATOR_NAME: invoice_orchestrator},
                            ACTIVITIES, clock=clock)
    try:
        yield Host(services, engine, EngineClient(engine), clock)
    finally:
        engine.close()
        set_services(None)


def test_two_levels_approved_in_order_are_exported(host: Host) -> None:
    invoice = host.receive("7500.00")
    record = host.record(invoice)
    assert record.status is InvoiceStatus.AWAITING_APPROVAL
    assert (record.route and record.route.approvers, record.route and record.route.policy_rule) == (
        ["clerk@x", "cfo@x"], "two levels")
    assert host.audit(invoice, "approval_requested") == [{"approver": "clerk@x", "level": 1}]

    host.approve(invoice, "clerk@x")
    assert host.record(invoice).status is InvoiceStatus.AWAITING_APPROVAL
    assert host.audit(invoice, "approval_requested")[1] == {"approver": "cfo@x", "level": 2}

    host.approve(invoice, "cfo@x")
    record = host.record(invoice)
    assert record.status is InvoiceStatus.EXPORTED
    assert [(d.kind.value, d.by, d.level) for d in record.decisions] == [
        ("approved", "clerk@x", 1), ("approved", "cfo@x", 2)]
    assert host.audit(invoice, "delegated") == []


def test_the_delegate_of_an_absent_approver_is_asked_and_their_approval_counts(host: Host) -> None:
    invoice = host.receive("7500.00")
    host.clock.advance(days=7)  # Monday 10 March: the CFO is away; level 1 is approved that day
    host.approve(invoice, "clerk@x")

    record = host.record(invoice)
    assert record.route is not None
    assert (record.route.approvers, record.route.delegated_from) == (["clerk@x", "controller@x"], [None, "cfo@x"])
    assert host.audit(invoice, "delegated") == [
        {"level": 2, "from": "cfo@x", "to": "controller@x", "until": "2025-03-14T23:59:59.999999+01:00"}]
    assert host.audit(invoice, "approval_requested")[1] == {"approver": "controller@x", "level": 2}

    host.approve(invoice, "controller@x")
    record = host.record(invoice)
    assert record.status is InvoiceStatus.EXPORTED
    assert [(d.by, d.level) for d in record.decisions] == [("clerk@x", 1), ("controller@x", 2)]
    [received] = [d for d in host.audit(invoice, "approval_received") if d["level"] == 2]
    assert received["expected_approver"] == "controller@x"


def test_the_uploader_never_approves_their_own_invoice(host: Host) -> None:
    invoice = host.receive("7500.00", uploaded_by="Clerk@X")
    record = host.record(invoice)
    assert record.route is not None and record.route.approvers == ["deputy@x", "cfo@x"]
    assert "Four-eyes at level 1: Clerk@X uploaded it, so they do not approve it" in record.route.reasons
    assert host.audit(invoice, "approval_requested")[0] == {"approver": "deputy@x", "level": 1}


def test_reminder_then_escalation_then_approval(host: Host) -> None:
    start = host.clock.now
    invoice = host.receive("2000.00")
    host.run(hours=23)
    assert host.audit(invoice, "reminder_sent") == []

    host.run(hours=2)  # 25 h
    assert host.audit(invoice, "reminder_sent") == [{"level": 1, "approver": "clerk@x", "to": ["clerk@x"]}]
    assert host.audit(invoice, "escalated") == []

    host.run(hours=48)  # 73 h
    assert host.audit(invoice, "escalated") == [{"level": 1, "approver": "clerk@x", "escalated_to": ["lead@x"]}]
    escalated = [e for e in host.services.repo.audit_trail(invoice) if e.action == "escalated"]
    assert escalated[0].at == start + timedelta(hours=73)  # the activity's time is the host's clock

    host.approve(invoice, "clerk@x")
    record = host.record(invoice)
    assert record.status is InvoiceStatus.EXPORTED
    assert len(host.audit(invoice, "reminder_sent")) == 1 and len(host.audit(invoice, "escalated")) == 1


def test_expiry_fourteen_days_on_loops_past_the_six_day_timer_cap(host: Host) -> None:
    invoice = host.receive("2000.00")
    host.run(hours=73)  # reminded and escalated
    host.run(days=6)  # 217 h: the capped timer (6 days after the escalation) fires; nothing is due yet
    assert host.record(invoice).status is InvoiceStatus.AWAITING_APPROVAL
    host.run(days=5)  # 337 h: past the 14 days
    record = host.record(invoice)
    assert record.status is InvoiceStatus.DECLINED
    assert record.reason == "no decision by clerk@x within 336 h"
    assert [d.kind.value for d in record.decisions] == ["expired"]
    status = host.engine.status(f"invoice-{invoice}")
    assert status is not None and status.output["status"] == "declined"
    fired = [e.payload["fire_at"] for e in host.engine.history(f"invoice-{invoice}")
             if e.event_type is EventType.TIMER_FIRED]
    # The reminder timer (24 h) fired when the clock stood at 73 h: reminder and escalation went out
    # together; the next wait was capped at 6 days (217 h), then the last one ran to the expiry (336 h).
    assert fired == ["2025-03-04T09:00:00.000000+00:00", "2025-03-12T10:00:00.000000+00:00",
                     "2025-03-17T09:00:00.000000+00:00"]
    assert len(host.audit(invoice, "reminder_sent")) == 1 and len(host.audit(invoice, "escalated")) == 1


def test_a_policy_broken_while_running_fails_routing_with_the_files_problems(host: Host) -> None:
    policy = host.services.settings.approval_policy
    assert policy is not None
    policy.write_text(POLICY.replace("levels: [[clerk@x, deputy@x]]", "levels: []"))
    invoice = host.receive("2000.00")
    record = host.record(invoice)
    assert record.status is InvoiceStatus.FAILED
    assert record.reason is not None
    assert f"{policy}: rules[1].levels: at least one level (one approver or a group of approvers)" in record.reason
