"""Matching an invoice with its purchase order (2-way) and the goods received (3-way).

Applies when orders were imported (``papyr po import``) and the invoice names a PO number.

* ``po.unmatched``: the PO belongs to another vendor, or an invoice line matches no order line
  (medium); the PO number is not among the imported orders (low: what an invoice prints as "order
  number" is often the vendor's own reference).
* ``po.price_variance``: a unit price above the order's by more than ``po_price_tolerance_pct``
  (medium; high from 10 % over).
* ``po.quantity_variance`` (high): this invoice bills more of a line than was ordered
  (beyond ``po_quantity_tolerance``).
* ``po.over_billed`` (high): together with the earlier invoices against the order, more of a line than
  was ordered; or, for an invoice without usable lines, a net amount (with earlier ones) above the
  order's total by more than the price tolerance.
* ``po.not_received`` (3-way): billed quantity (with earlier invoices) above the quantity received —
  medium; low when no receipt at all is recorded for the order yet.

Invoice lines are used only when they are complete and add up to the net amount (else a misread line
would look like a variance); otherwise the check compares amounts. Invoice lines are paired with order
lines by description (fuzzy), then by unit price, then (lines without a description) by position. What
this invoice bills is recorded on the order under its id (idempotent when checks re-run).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz

from shared.checks.arithmetic import lines_tolerance
from shared.checks.evidence import field_evidence, field_locations, money_text
from shared.checks.policy import CheckPolicy
from shared.checks.purchase_orders import OrderLine, PurchaseOrder, get_order, get_receipts, orders_in_use, save_order
from shared.domain import DocumentType, Extraction, Finding, InvoiceRecord, LineItem, Severity, Vendor
from shared.domain.keys import vendor_key

DESCRIPTION_MATCH = 80
HIGH_PRICE_VARIANCE_PCT = Decimal(10)
AMOUNT = "amount"


def check_purchase_order(
    record: InvoiceRecord, *, repo: Any, master: Vendor | None, policy: CheckPolicy
) -> list[Finding]:
    extraction = record.extraction
    po_number = extraction.value("po_number") if extraction else None
    if extraction is None or not po_number or extraction.document_type is DocumentType.CREDIT_NOTE:
        return []
    if not orders_in_use(repo):
        return []
    order = get_order(repo, po_number)
    base: dict[str, Any] = {
        "po_number": field_evidence(extraction, "po_number"),
        "locations": field_locations(extraction, "po_number"),
    }
    if order is None:  # low: the "order number" printed may be the vendor's own reference, not ours
        unknown = f"The invoice cites purchase order {po_number}, which is not among the imported orders."
        return [_unmatched(unknown, base, Severity.LOW)]
    vendor_names = {vendor_key(extraction.value("vendor_name")), vendor_key(master.name) if master else ""} - {""}
    if vendor_names and vendor_key(order.vendor) not in vendor_names:
        return [
            _unmatched(
                f"Purchase order {order.po_number} was placed with {order.vendor}, not with "
                f"{extraction.value('vendor_name')}.",
                {**base, "order_vendor": order.vendor},
            )
        ]
    lines = _usable_lines(extraction)
    findings: list[Finding] = []
    billed: dict[str, Decimal] = {}
    if lines:
        for item in lines:
            findings += _line(item, order, billed, record.id, policy, base)
    else:
        findings += _amount_level(extraction, order, billed, record.id, policy, base)
    findings += _receipts(repo, order, billed, record.id, policy, base)
    order.billed[record.id] = billed
    save_order(repo, order)
    return findings


def _usable_lines(extraction: Extraction) -> list[LineItem]:
    lines = extraction.line_items
    if not lines or any(item.quantity is None or item.unit_price is None or item.amount is None for item in lines):
        return []
    subtotal = extraction.decimal("subtotal")
    line_sum = sum((item.amount for item in lines if item.amount is not None), Decimal(0))
    if subtotal is None or abs(line_sum - subtotal) > lines_tolerance(len(lines)):
        return []
    return lines


def _pair(item: LineItem, order: PurchaseOrder, taken: set[int]) -> OrderLine | None:
    free = [line for line in order.lines if line.line not in taken]
    if item.description:
        scored = [(fuzz.token_set_ratio(item.description, line.description or ""), line) for line in free]
        best = max(scored, key=lambda pair: pair[0], default=None)
        if best is not None and best[0] >= DESCRIPTION_MATCH:
            return best[1]
    same_price = [line for line in free if line.unit_price == item.unit_price]
    if len(same_price) == 1:
        return same_price[0]
    # By position only when the line has no description to disagree with.
    return free[0] if len(free) == 1 and not item.description else None


def _line(
    item: LineItem,
    order: PurchaseOrder,
    billed: dict[str, Decimal],
    invoice_id: str,
    policy: CheckPolicy,
    base: dict[str, Any],
) -> list[Finding]:
    assert item.quantity is not None and item.unit_price is not None
    ordered = _pair(item, order, {int(k) for k in billed})
    located = {**base, "locations": _line_location(item, base)}
    if ordered is None:
        return [
            _unmatched(
                f'The invoice line "{item.description or "?"}" ({item.quantity} × {item.unit_price}) '
                f"matches no line of purchase order {order.po_number}.",
                {**located, "invoice_line": item.as_label()},
            )
        ]
    billed[str(ordered.line)] = billed.get(str(ordered.line), Decimal(0)) + item.quantity
    evidence = {
        **located,
        "invoice_line": item.as_label(),
        "order_line": ordered.model_dump(mode="json"),
        "po": order.po_number,
    }
    findings: list[Finding] = []
    limit = ordered.unit_price * (1 + policy.po_price_tolerance_pct / 100)
    if item.unit_price > limit:
        over = (item.unit_price / ordered.unit_price - 1) * 100 if ordered.unit_price else Decimal(100)
        findings.append(
            Finding(
                code="po.price_variance",
                severity=Severity.HIGH if over >= HIGH_PRICE_VARIANCE_PCT else Severity.MEDIUM,
                message=(
                    f'Line "{item.description or ordered.description}" is billed at {item.unit_price} per unit; '
                    f"purchase order {order.po_number} line {ordered.line} says {ordered.unit_price} "
                    f"({over:.1f} % more, tolerance {policy.po_price_tolerance_pct} %)."
                ),
                evidence={**evidence, "over_pct": f"{over:.2f}"},
            )
        )
    tolerance = policy.po_quantity_tolerance
    earlier = sum(
        (b.get(str(ordered.line), Decimal(0)) for i, b in order.billed.items() if i != invoice_id), Decimal(0)
    )
    if item.quantity > ordered.quantity + tolerance:
        findings.append(
            Finding(
                code="po.quantity_variance",
                severity=Severity.HIGH,
                message=(
                    f'Line "{item.description or ordered.description}" bills {item.quantity} units; purchase order '
                    f"{order.po_number} line {ordered.line} ordered {ordered.quantity}."
                ),
                evidence=evidence,
            )
        )
    elif earlier + item.quantity > ordered.quantity + tolerance:
        findings.append(
            Finding(
                code="po.over_billed",
                severity=Severity.HIGH,
                message=(
                    f"With this invoice, {earlier + item.quantity} units of purchase order {order.po_number} line "
                    f"{ordered.line} have been billed ({earlier} on earlier invoices), but only {ordered.quantity} "
                    "were ordered."
                ),
                evidence={**evidence, "billed_before": money_text(earlier)},
            )
        )
    return findings


def _line_location(item: LineItem, base: dict[str, Any]) -> list[dict[str, Any]]:
    provenance = item.provenance
    if provenance is None or provenance.page is None or provenance.bbox is None:
        return list(base["locations"])
    return [{"page": provenance.page, "bbox": list(provenance.bbox), "label": "Invoice line"}]


def _amount_level(
    extraction: Extraction,
    order: PurchaseOrder,
    billed: dict[str, Decimal],
    invoice_id: str,
    policy: CheckPolicy,
    base: dict[str, Any],
) -> list[Finding]:
    net = extraction.decimal("subtotal") or extraction.decimal("total")
    if net is None or (order.currency and extraction.value("currency") not in (None, order.currency)):
        return []
    billed[AMOUNT] = net
    earlier = sum((b.get(AMOUNT, Decimal(0)) for i, b in order.billed.items() if i != invoice_id), Decimal(0))
    limit = order.total * (1 + policy.po_price_tolerance_pct / 100)
    if earlier + net <= limit:
        return []
    return [
        Finding(
            code="po.over_billed",
            severity=Severity.HIGH,
            message=(
                f"Purchase order {order.po_number} is for {money_text(order.total)}, but this invoice "
                f"({money_text(net)}) and earlier ones ({money_text(earlier)}) bill {money_text(earlier + net)}."
            ),
            evidence={
                **base,
                "order_total": money_text(order.total),
                "this_amount": money_text(net),
                "billed_before": money_text(earlier),
                "subtotal": field_evidence(extraction, "subtotal"),
                "locations": field_locations(extraction, "po_number", "subtotal", "total"),
            },
        )
    ]


def _receipts(
    repo: Any,
    order: PurchaseOrder,
    billed: dict[str, Decimal],
    invoice_id: str,
    policy: CheckPolicy,
    base: dict[str, Any],
) -> list[Finding]:
    lines = {k: v for k, v in billed.items() if k != AMOUNT}
    if not lines:
        return []
    receipts = get_receipts(repo, order.po_number)
    if receipts is None:
        return [
            Finding(
                code="po.not_received",
                severity=Severity.LOW,
                message=f"No goods receipt is recorded for purchase order {order.po_number} yet; confirm delivery.",
                evidence={**base, "po": order.po_number},
            )
        ]
    findings = []
    for line, quantity in sorted(lines.items()):
        earlier = sum((b.get(line, Decimal(0)) for i, b in order.billed.items() if i != invoice_id), Decimal(0))
        received = receipts.received(int(line))
        if earlier + quantity > received + policy.po_quantity_tolerance:
            findings.append(
                Finding(
                    code="po.not_received",
                    severity=Severity.MEDIUM,
                    message=(
                        f"Purchase order {order.po_number} line {line}: {earlier + quantity} units billed "
                        f"(this invoice {quantity}), {received} received."
                    ),
                    evidence={
                        **base,
                        "po": order.po_number,
                        "line": int(line),
                        "billed": money_text(earlier + quantity),
                        "received": money_text(received),
                    },
                )
            )
    return findings


def _unmatched(message: str, evidence: dict[str, Any], severity: Severity = Severity.MEDIUM) -> Finding:
    return Finding(
        code="po.unmatched",
        severity=severity,
        message=f"{message} Check the order before paying.",
        evidence=evidence,
    )
