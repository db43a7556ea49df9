"""Who has to look at an invoice, and why.

1. Anything that is not an ordinary invoice with a readable, non-negative total goes to one person
   (the first level of the matching rule): credit notes, missing totals, negative corrections,
   unclassified documents.
2. Below the policy's ``auto_approve_below`` a clean invoice is approved automatically — only when no
   check found anything above info and its risk score is below ``risk_threshold``. Otherwise a person
   decides; high-severity findings (duplicates, changed bank details, bad checksums, wrong totals)
   are listed first in the reasons.
3. Otherwise the first rule of the policy that matches (amount band, vendor, cost centre, mailbox)
   gives one or two levels; each level is a person or an ordered group, and four-eyes skips anyone
   who uploaded or corrected the invoice (and anyone already approving another level). When a group
   has nobody left, the policy's fallback approvers step in, and the reasons say why.

``RouteKind.REJECT`` is kept for documents that are not invoices and is decided before routing; this
function never rejects, so a human always has the last word on a real bill (duplicates included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from shared.domain import DocumentType, Finding, InvoiceRecord, Money, Route, RouteKind, Severity, Vendor
from shared.domain.keys import vendor_key
from shared.domain.models import SEVERITY_RANK
from shared.routing.policy import ApprovalPolicy, Rule, same_person


@dataclass(frozen=True)
class RoutingFacts:
    """What routing needs beyond the record: its vendor-master entry (for the cost centre) and the
    people four-eyes keeps away from it (casefolded identity → why, from ``four_eyes_conflicts``)."""

    vendor: Vendor | None = None
    conflicts: Mapping[str, str] = field(default_factory=dict)


def route(
    record: InvoiceRecord, findings: list[Finding], *, policy: ApprovalPolicy, facts: RoutingFacts | None = None
) -> Route:
    facts = facts or RoutingFacts()
    concerns = sorted(
        (f for f in findings if f.severity is not Severity.INFO), key=lambda f: -SEVERITY_RANK[f.severity]
    )
    high = [f.message for f in concerns if f.severity is Severity.HIGH]
    other = [f.message for f in concerns if f.severity is not Severity.HIGH]
    rule = matching_rule(policy, record, facts.vendor)
    single, why = _single_approver_reason(record)
    total = record.total
    if single is None and total is not None and total.amount < policy.auto_approve_below:
        below = f"The total {total} is below the auto-approval limit of {_limit(policy.auto_approve_below, total)}"
        risky = policy.risk_threshold is not None and record.risk_score >= policy.risk_threshold
        if not concerns and not risky:
            return Route(kind=RouteKind.AUTO_APPROVE, reasons=[f"{below} and no check raised a concern"])
        if concerns:
            why = f"{below}, but the checks found something a person must look at"
        else:
            why = (f"{below}, but its risk score {record.risk_score:.2f} is at or above the policy's "
                   f"threshold of {policy.risk_threshold:.2f}, so a person decides")
        single = False
    groups, rule_note = _groups(policy, rule)
    if single:
        groups = groups[:1]
    elif single is None:
        count = "one approver" if len(groups) == 1 else "two approvers, in order,"
        why = f"The total {total} needs {count} by the policy"
    approvers, alternates, notes = _pick(groups, policy, facts.conflicts)
    return Route(
        kind=RouteKind.APPROVAL,
        approvers=approvers,
        alternates=alternates,
        reasons=[*high, why, *other, rule_note, *notes],
        policy_rule=rule.name if rule else None,
    )


def matching_rule(policy: ApprovalPolicy, record: InvoiceRecord, vendor: Vendor | None) -> Rule | None:
    """The first rule whose conditions all hold (None when none does)."""
    return next((rule for rule in policy.rules if _matches(rule, record, vendor)), None)


def _matches(rule: Rule, record: InvoiceRecord, vendor: Vendor | None) -> bool:
    when = rule.when
    if when.amount is not None:
        total = record.total
        if total is None or not when.amount.contains(total.amount, total.currency):
            return False
    if when.vendors is not None:
        keys = {vendor_key(record.vendor), vendor_key(vendor.name) if vendor else ""} - {""}
        if not keys & {vendor_key(name) for name in when.vendors}:
            return False
    if when.cost_centres is not None:
        centre = (vendor.cost_centre or "") if vendor else ""
        if not any(same_person(centre, wanted) for wanted in when.cost_centres):
            return False
    if when.mailboxes is not None:
        mailbox = record.document.mail.mailbox or ""
        if not any(same_person(mailbox, wanted) for wanted in when.mailboxes):
            return False
    return True


def _single_approver_reason(record: InvoiceRecord) -> tuple[bool | None, str]:
    """(True, why) when the document goes to one person whatever the rule; (None, "") for an
    ordinary invoice with a readable total, which the rule decides."""
    extraction = record.extraction
    document_type = extraction.document_type if extraction else None
    if document_type is DocumentType.CREDIT_NOTE:
        return True, "Credit note: one approver confirms it before it is booked"
    if document_type not in (DocumentType.INVOICE, DocumentType.RECEIPT):
        return True, "Papyr could not confirm this is an invoice; a person decides"
    total = record.total
    if total is None:
        return True, "No total with a currency could be read, so the amount must be checked by a person"
    if total.amount < 0:
        return True, f"The total {total} is negative (a correction); one approver confirms it"
    return None, ""


def _groups(policy: ApprovalPolicy, rule: Rule | None) -> tuple[list[list[str]], str]:
    if rule is None:
        return [list(policy.fallback_approvers)], "No approval policy rule matches; the fallback approvers decide"
    return [list(level) for level in rule.levels], f"Approval policy rule: {rule.name}"


def _pick(
    groups: list[list[str]], policy: ApprovalPolicy, conflicts: Mapping[str, str]
) -> tuple[list[str], list[list[str]], list[str]]:
    """One person per level: the first of its group who may approve, else the first such fallback.
    Returns the approvers, each level's alternates (who else may approve, in order) and notes."""
    blocked = dict(conflicts) if policy.four_eyes else {}
    chosen: list[str] = []
    alternates: list[list[str]] = []
    notes: list[str] = []
    for level, group in enumerate(groups, start=1):
        taken = {person.casefold() for person in chosen}
        eligible = [p for p in group if p.casefold() not in blocked and p.casefold() not in taken]
        fallback = [p for p in policy.fallback_approvers
                    if p.casefold() not in blocked and p.casefold() not in taken and p not in eligible]
        skipped = [f"{blocked[p.casefold()]}" for p in group if p.casefold() in blocked]
        if skipped:
            notes.append(f"Four-eyes at level {level}: {'; '.join(skipped)}, so they do not approve it")
        if eligible:
            person = eligible[0]
        elif fallback:
            person = fallback[0]
            notes.append(f"Level {level}: nobody in {', '.join(group)} may approve it; "
                         f"the fallback approver {person} decides")
        else:
            person = group[0]
            notes.append(f"Level {level}: nobody in the group or the fallback list may approve it under "
                         f"four-eyes; {person} is asked and an administrator should reassign it")
        chosen.append(person)
        alternates.append([p for p in [*eligible, *fallback] if p != person])
    return chosen, alternates, notes


def _limit(amount: Decimal, total: Money) -> str:
    return str(Money(amount=amount, currency=total.currency))
