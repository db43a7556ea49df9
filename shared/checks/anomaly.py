"""Business anomalies: an invoice that is unlike this vendor's usual ones, or unlike any valid invoice.

Each test compares with the vendor's earlier invoices (``shared.checks.history``) or a fixed table:

* ``anomaly.amount_outlier`` (medium): with 3+ earlier invoices in the same currency, a total at least
  ``amount_outlier_factor`` times their median (and 50 more in money), or above 3x the highest.
  Only upward: a small invoice costs nothing.
* ``anomaly.cadence`` (medium): a vendor that bills regularly (3+ earlier invoices, median gap of 20
  days or more) sends one less than a quarter of that gap after the previous one.
* ``anomaly.round_amount`` (low): a total of 1,000 or more in whole hundreds with at most one line —
  made-up amounts are round; real ones rarely are. Low: it only adds to other reasons.
* ``anomaly.new_vendor_high_amount`` (medium): no master entry, no earlier invoice, and a total of at
  least ``new_vendor_high_amount``.
* ``anomaly.tax_rate`` (medium): tax / net amount above the highest valid rate of the vendor's country
  (``shared.checks.tax_rates``). A rate *between* valid ones is not flagged: an invoice with lines at
  two rates averages them, and lines carry no rate in the extraction.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from statistics import median

from shared.checks.bank import vendor_country
from shared.checks.evidence import field_evidence, field_locations, money_text
from shared.checks.history import HistoryInvoice, VendorHistory
from shared.checks.policy import CheckPolicy
from shared.checks.tax_rates import TABLE_DATE, valid_rates
from shared.domain import DocumentType, Extraction, Finding, Severity, Vendor

MIN_HISTORY = 3
MIN_REGULAR_GAP_DAYS = 20
ROUND_FROM = Decimal(1000)
RATE_TOLERANCE_PP = Decimal("0.3")  # percentage points: rounding of tax per line
OUTLIER_MIN_EXCESS = Decimal(50)


def check_anomalies(
    extraction: Extraction,
    *,
    invoice_id: str,
    master: Vendor | None,
    history: VendorHistory | None,
    policy: CheckPolicy,
) -> list[Finding]:
    if extraction.document_type is DocumentType.CREDIT_NOTE:
        return []
    money = extraction.money("total")
    earlier = history.others(invoice_id) if history is not None else []
    findings: list[Finding] = []
    if money is not None and money.amount > 0:
        same_currency = [e for e in earlier if e.currency == money.currency and e.total is not None and e.total > 0]
        findings += _amount_outlier(extraction, money.amount, same_currency, policy)
        findings += _round_amount(extraction, money.amount)
        if master is None and not earlier and money.amount >= policy.new_vendor_high_amount:
            findings.append(
                Finding(
                    code="anomaly.new_vendor_high_amount",
                    severity=Severity.MEDIUM,
                    message=(
                        f"{extraction.value('vendor_name') or 'This vendor'} is not in the vendor master and has sent "
                        f"no invoice before, and asks for {money}. Confirm the vendor and the order before paying."
                    ),
                    evidence={
                        "total": field_evidence(extraction, "total"),
                        "threshold": money_text(policy.new_vendor_high_amount),
                        "locations": field_locations(extraction, "vendor_name", "total"),
                    },
                )
            )
    findings += _cadence(extraction, earlier)
    findings += _tax_rate(extraction, master)
    return findings


def _amount_outlier(
    extraction: Extraction, total: Decimal, earlier: list[HistoryInvoice], policy: CheckPolicy
) -> list[Finding]:
    if len(earlier) < MIN_HISTORY:
        return []
    amounts = [e.total for e in earlier if e.total is not None]
    middle = Decimal(median(amounts))
    highest = max(amounts)
    factor_hit = total >= middle * policy.amount_outlier_factor and total - middle >= OUTLIER_MIN_EXCESS
    if not factor_hit and total <= highest * 3:
        return []
    return [
        Finding(
            code="anomaly.amount_outlier",
            severity=Severity.MEDIUM,
            message=(
                f"The total {money_text(total)} is {total / middle:.1f} times this vendor's usual amount (median "
                f"{money_text(middle)} over {len(amounts)} earlier invoices, highest {money_text(highest)})."
            ),
            evidence={
                "total": field_evidence(extraction, "total"),
                "median": money_text(middle),
                "highest": money_text(highest),
                "earlier_invoices": len(amounts),
                "factor": money_text(policy.amount_outlier_factor),
                "locations": field_locations(extraction, "total"),
            },
        )
    ]


def _round_amount(extraction: Extraction, total: Decimal) -> list[Finding]:
    if total < ROUND_FROM or total % 100 != 0 or len(extraction.line_items) > 1:
        return []
    return [
        Finding(
            code="anomaly.round_amount",
            severity=Severity.LOW,
            message=f"The total {money_text(total)} is a round amount with no itemised lines; check what it is for.",
            evidence={"total": field_evidence(extraction, "total"), "locations": field_locations(extraction, "total")},
        )
    ]


def _cadence(extraction: Extraction, earlier: list[HistoryInvoice]) -> list[Finding]:
    this_date = extraction.date_value("invoice_date")
    dates = sorted({e.invoice_date for e in earlier if e.invoice_date is not None})
    if this_date is None or len(dates) < MIN_HISTORY:
        return []
    gaps = [(b - a).days for a, b in itertools.pairwise(dates)]
    usual = median(gaps) if gaps else 0
    before = [d for d in dates if d <= this_date]
    if usual < MIN_REGULAR_GAP_DAYS or not before:
        return []
    previous: date = before[-1]
    gap = (this_date - previous).days
    if gap >= usual / 4:
        return []
    return [
        Finding(
            code="anomaly.cadence",
            severity=Severity.MEDIUM,
            message=(
                f"This vendor usually invoices every {usual:.0f} days, but this invoice is dated {gap} day(s) after "
                f"the previous one ({previous.isoformat()}). Check it is not a duplicate or an invented extra invoice."
            ),
            evidence={
                "invoice_date": field_evidence(extraction, "invoice_date"),
                "previous_invoice_date": previous.isoformat(),
                "usual_gap_days": usual,
                "gap_days": gap,
                "locations": field_locations(extraction, "invoice_date"),
            },
        )
    ]


def _tax_rate(extraction: Extraction, master: Vendor | None) -> list[Finding]:
    subtotal, tax = extraction.decimal("subtotal"), extraction.decimal("tax")
    country = vendor_country(extraction, master)
    rates = valid_rates(country) if country else None
    if subtotal is None or tax is None or rates is None or subtotal <= 0 or tax <= 0:
        return []
    rate = tax / subtotal * 100
    highest = rates[-1]
    if rate <= highest + RATE_TOLERANCE_PP:
        return []
    shown = ", ".join(f"{r.normalize():f} %" for r in rates)
    return [
        Finding(
            code="anomaly.tax_rate",
            severity=Severity.MEDIUM,
            message=(
                f"The tax is {rate:.1f} % of the net amount ({money_text(tax)} on {money_text(subtotal)}), more than "
                f"any VAT rate of {country} ({shown}). The amounts or the tax were changed, or the invoice is not "
                f"what it claims to be."
            ),
            evidence={
                "effective_rate_pct": f"{rate:.2f}",
                "country": country,
                "valid_rates_pct": [f"{r.normalize():f}" for r in rates],
                "rates_as_of": TABLE_DATE,
                "subtotal": field_evidence(extraction, "subtotal"),
                "tax": field_evidence(extraction, "tax"),
                "locations": field_locations(extraction, "subtotal", "tax"),
            },
        )
    ]
