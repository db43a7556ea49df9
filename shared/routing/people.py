"""People around one approval: four-eyes, delegation, and who is reminded or escalated to.

Four-eyes: whoever uploaded the document (the audit trail's ``uploaded`` actor) or corrected one of
its fields (``record.corrections[*].by``) never approves it, nor does a delegate who did; nor does
one person approve two levels. Delegation is resolved when a level's request goes out (the activity
reads the clock; the orchestrator never does): an approver who is away is replaced by their
delegate (and that delegate's delegate, if away too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared.domain import AuditEntry, DecisionKind, InvoiceRecord
from shared.routing.policy import ApprovalPolicy, Delegation, same_person

UPLOADED = "uploaded"


def four_eyes_conflicts(record: InvoiceRecord, trail: Iterable[AuditEntry]) -> dict[str, str]:
    """The people who may not approve this invoice: casefolded identity → why, in plain words."""
    conflicts: dict[str, str] = {}
    for entry in trail:
        if entry.action == UPLOADED and entry.actor.strip():
            conflicts.setdefault(entry.actor.strip().casefold(), f"{entry.actor.strip()} uploaded it")
    for correction in record.corrections:
        person = correction.by.strip()
        if person:
            conflicts.setdefault(person.casefold(), f"{person} corrected {correction.field}")
    return conflicts


def delegate_for(policy: ApprovalPolicy, person: str, at: datetime) -> Delegation | None:
    """The delegation in force for ``person`` at ``at`` (the first listed, if several overlap)."""
    zone = policy.zone
    return next((d for d in policy.delegations if same_person(d.approver, person) and d.covers(at, zone)), None)


@dataclass(frozen=True)
class Assignment:
    """Who is asked to approve one level, and, when that is a delegate, for whom and until when."""

    approver: str
    delegated_from: str | None = None
    until: datetime | None = None
    notes: list[str] = field(default_factory=list)


def assign_approver(record: InvoiceRecord, trail: Iterable[AuditEntry], policy: ApprovalPolicy,
                    level: int, now: datetime) -> Assignment:
    """The person to ask for ``level`` now: the route's approver, or their delegate when they are
    away; when four-eyes rules that person out, the level's next alternate (the same way)."""
    if record.route is None or not 1 <= level <= len(record.route.approvers):
        raise ValueError(f"invoice {record.id} has no approver for level {level}")
    route = record.route
    named = route.approvers[level - 1]
    blocked: dict[str, str] = dict(four_eyes_conflicts(record, trail)) if policy.four_eyes else {}
    for other, person in enumerate(route.approvers, start=1):
        if other != level:
            blocked.setdefault(person.casefold(), f"{person} approves level {other}")
    for decision in record.decisions:
        if decision.level != level and decision.kind is DecisionKind.APPROVED:
            blocked.setdefault(decision.by.casefold(), f"{decision.by} approved level {decision.level}")
    alternates = route.alternates[level - 1] if level <= len(route.alternates) else []
    notes: list[str] = []
    for candidate in [named, *alternates]:
        person, delegation = _present(policy, candidate, now)
        if person.casefold() in blocked:
            notes.append(f"{person} may not approve level {level}: {blocked[person.casefold()]}")
            continue
        if delegation is None:
            return Assignment(approver=person, notes=notes)
        until = delegation.ends(policy.zone)
        return Assignment(approver=person, delegated_from=candidate, until=until, notes=notes)
    notes.append(f"nobody else may approve level {level}; {named} is asked")
    return Assignment(approver=named, notes=notes)


def _present(policy: ApprovalPolicy, person: str, now: datetime) -> tuple[str, Delegation | None]:
    """Follow delegations from ``person`` to someone not away; a cycle (everyone away) stops at the
    last person before it repeats. Returns that person and the first delegation followed."""
    first: Delegation | None = None
    seen = {person.casefold()}
    current = person
    while (delegation := delegate_for(policy, current, now)) is not None:
        if delegation.delegate.casefold() in seen:
            break
        first = first or delegation
        current = delegation.delegate
        seen.add(current.casefold())
    return current, first


def reminder_recipients(record: InvoiceRecord, level: int) -> list[str]:
    """Who a reminder for ``level`` goes to: the person now asked (the delegate, once delegated)."""
    approvers = record.route.approvers if record.route else []
    return [approvers[level - 1]] if 1 <= level <= len(approvers) else []


def escalation_recipients(record: InvoiceRecord, trail: Iterable[AuditEntry], policy: ApprovalPolicy,
                          level: int) -> list[str]:
    """Who an overdue ``level`` is escalated to: the policy's ``escalate_to`` (else its fallback
    approvers), without the person already asked and anyone four-eyes keeps away."""
    wanted = policy.timings.escalate_to or policy.fallback_approvers
    blocked: Mapping[str, str] = four_eyes_conflicts(record, trail) if policy.four_eyes else {}
    asked = {person.casefold() for person in reminder_recipients(record, level)}
    return [p for p in wanted if p.casefold() not in blocked and p.casefold() not in asked]
