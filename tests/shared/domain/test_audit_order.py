"""How people read an audit trail: in time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain import AuditEntry, in_time_order

ARRIVED = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def test_a_decision_stamped_on_arrival_reads_before_the_step_that_recorded_it() -> None:
    """Appended in this order when the orchestration records the decision before the approvals API
    appends its own entry, stamped when the decision arrived."""
    appended = [
        AuditEntry(at=ARRIVED - timedelta(minutes=5), actor="papyr", action="approval_requested"),
        AuditEntry(at=ARRIVED + timedelta(seconds=1), actor="papyr", action="decision_recorded"),
        AuditEntry(at=ARRIVED, actor="approver@example.com", action="approval_received"),
        AuditEntry(at=ARRIVED, actor="papyr", action="noted"),  # the same time: append order
    ]
    assert [e.action for e in in_time_order(appended)] == [
        "approval_requested",
        "approval_received",
        "noted",
        "decision_recorded",
    ]


def test_a_naive_time_reads_as_utc() -> None:
    appended = [
        AuditEntry(at=ARRIVED, actor="papyr", action="later"),
        AuditEntry(at=datetime(2026, 11, 22, 9, 0), actor="papyr", action="earlier"),
    ]
    assert [e.action for e in in_time_order(appended)] == ["earlier", "later"]
