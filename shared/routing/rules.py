"""Who has to look at an invoice, and why.

1. Anything that is not an ordinary invoice with a readable, non-negative total goes to one person:
   credit notes (one approver confirms), missing totals, negative corrections, unclassified documents.
2. An invoice above ``second_approver_above`` needs two approvers, in order.
3. Below ``auto_approve_below`` it is approved automatically — but only when no check found anything
   above info. Any finding of low severity or more sends it to a person; high-severity findings
   (duplicates, changed bank details, bad checksums, wrong totals) are listed first in the reasons.
4. Otherwise one approver.

``RouteKind.REJECT`` is kept for documents that are not invoices and is decided before routing; this
function never rejects, so a human always has the last word on a real bill (duplicates included).
"""

from __future__ import annotations

from decimal import Decimal

from shared.domain import DocumentType, Finding, InvoiceRecord, Money, Route, RouteKind, Severity
from shared.domain.models import SEVERITY_RANK
from shared.routing.policy import RoutingPolicy


def route(record: InvoiceRecord, findings: list[Finding], *, policy: RoutingPolicy) -> Route:
    concerns = sorted(
        (f for f in findings if f.severity is not Severity.INFO), key=lambda f: -SEVERITY_RANK[f.severity]
    )
    high = [f.message for f in concerns if f.severity is Severity.HIGH]
    other = [f.message for f in concerns if f.severity is not Severity.HIGH]
    levels, amount_reason = _levels(record, policy)
    if levels == 0:
        if not concerns:
            return Route(kind=RouteKind.AUTO_APPROVE, reasons=[f"{amount_reason} and no check raised a concern"])
        levels = 1
        amount_reason = f"{amount_reason}, but the checks found something a person must look at"
    approvers = policy.approvers[:levels]
    if len(approvers) < levels:
        amount_reason = f"{amount_reason} (only {len(approvers)} approver is configured)"
    return Route(kind=RouteKind.APPROVAL, approvers=approvers, reasons=[*high, amount_reason, *other])


def _levels(record: InvoiceRecord, policy: RoutingPolicy) -> tuple[int, str]:
    """How many approval levels the amount and document type need (0 = may be auto-approved), and why."""
    extraction = record.extraction
    document_type = extraction.document_type if extraction else None
    if document_type is DocumentType.CREDIT_NOTE:
        return 1, "Credit note: one approver confirms it before it is booked"
    if document_type not in (DocumentType.INVOICE, DocumentType.RECEIPT):
        return 1, "Papyr could not confirm this is an invoice; a person decides"
    total = record.total
    if total is None:
        return 1, "No total with a currency could be read, so the amount must be checked by a person"
    if total.amount < 0:
        return 1, f"The total {total} is negative (a correction); one approver confirms it"
    auto_limit = _limit(policy.auto_approve_below, total)
    if total.amount > policy.second_approver_above:
        return 2, f"The total {total} is above {_limit(policy.second_approver_above, total)}, so two approvers sign off"
    if total.amount < policy.auto_approve_below:
        return 0, f"The total {total} is below the auto-approval limit of {auto_limit}"
    return 1, f"The total {total} needs one approver (auto-approval only below {auto_limit})"


def _limit(amount: Decimal, total: Money) -> str:
    return str(Money(amount=amount, currency=total.currency))
