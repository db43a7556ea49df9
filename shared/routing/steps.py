"""The routing steps the activities call: each reads what it needs through the Repository port and
changes the record in memory; the activity saves it. Kept here so the activities stay small."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.checks.bank import match_vendor
from shared.domain import AuditEntry, InvoiceRecord, Route
from shared.ports import Repository
from shared.routing.people import (
    Assignment,
    assign_approver,
    escalation_recipients,
    four_eyes_conflicts,
    reminder_recipients,
)
from shared.routing.policy import ApprovalPolicy
from shared.routing.rules import RoutingFacts, route

DELEGATED = "delegated"
ESCALATED = "escalated"
REMINDER_SENT = "reminder_sent"
ACTOR = "papyr"


def route_record(record: InvoiceRecord, repo: Repository, policy: ApprovalPolicy) -> Route:
    """Route with the facts the policy's rules and four-eyes need: the vendor-master entry (its cost
    centre is the invoice's) and who uploaded or corrected the invoice."""
    matched = (
        match_vendor(record.extraction, repo.list_vendors(), record.document.mail.sender) if record.extraction else None
    )
    facts = RoutingFacts(
        vendor=matched[0] if matched else None,
        conflicts=four_eyes_conflicts(record, repo.audit_trail(record.id)),
    )
    return route(record, record.findings, policy=policy, facts=facts)


def assign_level(
    record: InvoiceRecord, repo: Repository, policy: ApprovalPolicy, level: int, now: datetime
) -> Assignment:
    """Decide who is asked for ``level`` now (delegation, four-eyes), put them on the route and audit
    a delegation. Idempotent: a retried request finds the delegate already in place."""
    trail = repo.audit_trail(record.id)
    assignment = assign_approver(record, trail, policy, level, now)
    assert record.route is not None  # assign_approver checked it
    route = record.route
    route.approvers[level - 1] = assignment.approver
    if assignment.delegated_from is not None:
        route.delegated_from += [None] * (len(route.approvers) - len(route.delegated_from))
        route.delegated_from[level - 1] = assignment.delegated_from
        detail: dict[str, Any] = {
            "level": level,
            "from": assignment.delegated_from,
            "to": assignment.approver,
            "until": assignment.until.isoformat() if assignment.until else None,
        }
        if not any(e.action == DELEGATED and e.detail == detail for e in trail):
            repo.append_audit(record.id, AuditEntry(at=now, actor=ACTOR, action=DELEGATED, detail=detail))
    return assignment


def remind_level(record: InvoiceRecord, repo: Repository, level: int, now: datetime) -> list[str]:
    """Audit the reminder of a level still waiting and return who it goes to."""
    recipients = reminder_recipients(record, level)
    detail = {"level": level, "approver": recipients[0] if recipients else None, "to": recipients}
    repo.append_audit(record.id, AuditEntry(at=now, actor=ACTOR, action=REMINDER_SENT, detail=detail))
    return recipients


def escalate_level(
    record: InvoiceRecord, repo: Repository, policy: ApprovalPolicy, level: int, now: datetime
) -> list[str]:
    """Audit the escalation of an overdue level and return who it goes to."""
    recipients = escalation_recipients(record, repo.audit_trail(record.id), policy, level)
    approver = record.route.approvers[level - 1] if record.route and level <= len(record.route.approvers) else None
    detail = {"level": level, "approver": approver, "escalated_to": recipients}
    repo.append_audit(record.id, AuditEntry(at=now, actor=ACTOR, action=ESCALATED, detail=detail))
    return recipients
