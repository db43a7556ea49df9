"""Arithmetic: do the amounts on the invoice add up?

Tolerances (money rounds to cents):

* ``subtotal + tax = total`` and ``amount_due <= total``: 0.01, one cent of rounding. An amount due
  above the total is low severity: statements and insurance bills carry earlier balances over.
* lines vs subtotal: ``max(0.01, 0.005 × lines)``. Each printed line amount is rounded to the cent, so
  the sum of n rounded lines may drift from the rounded subtotal by up to half a cent per line. A
  percentage tolerance was rejected: on a large invoice it would hide a whole forged line.

Line amounts may be net (most invoices, all e-invoices) or gross (many receipts), so the line sum
is accepted when it matches the subtotal, the total, or total − tax. A remaining difference is
usually a document-level discount or charge (12 of the 36 ZUGFeRD samples with lines have one),
so it is reported at low severity — and only as info when the lines were read from an e-invoice's
XML, where such allowances are exact and expected.
"""

from __future__ import annotations

from decimal import Decimal

from shared.checks.evidence import field_evidence, money_text
from shared.domain import DocumentType, Extraction, Finding, Severity, Source

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")


def lines_tolerance(line_count: int) -> Decimal:
    return max(CENT, HALF_CENT * line_count)


def check_arithmetic(extraction: Extraction) -> list[Finding]:
    if extraction.document_type is DocumentType.NOT_INVOICE:
        return []
    total = extraction.decimal("total")
    if total is None:
        return [
            Finding(
                code="arithmetic.no_total",
                severity=Severity.MEDIUM,
                message="No total amount was found on the document, so the amount to pay must be checked by hand.",
                evidence={"total": field_evidence(extraction, "total")},
            )
        ]
    findings: list[Finding] = []
    for check in (_total_vs_parts, _lines_vs_subtotal, _amount_due_vs_total):
        finding = check(extraction, total)
        if finding is not None:
            findings.append(finding)
    return findings


def _total_vs_parts(extraction: Extraction, total: Decimal) -> Finding | None:
    subtotal, tax = extraction.decimal("subtotal"), extraction.decimal("tax")
    if subtotal is None or tax is None:
        return None  # nothing to add up
    expected = subtotal + tax
    difference = total - expected
    if abs(difference) <= CENT:
        return None
    return Finding(
        code="arithmetic.total_mismatch",
        severity=Severity.HIGH,
        message=(
            f"The total {money_text(total)} does not equal the net amount {money_text(subtotal)} plus tax "
            f"{money_text(tax)} (= {money_text(expected)}); the difference is {money_text(difference)}."
        ),
        evidence={
            "expected_total": money_text(expected),
            "difference": money_text(difference),
            "tolerance": money_text(CENT),
            "subtotal": field_evidence(extraction, "subtotal"),
            "tax": field_evidence(extraction, "tax"),
            "total": field_evidence(extraction, "total"),
        },
    )


def _lines_vs_subtotal(extraction: Extraction, total: Decimal) -> Finding | None:
    lines = extraction.line_items
    amounts = [line.amount for line in lines if line.amount is not None]
    if not lines or len(amounts) != len(lines):
        return None  # no lines, or some without an amount: their sum proves nothing
    line_sum = sum(amounts, Decimal(0))
    tolerance = lines_tolerance(len(amounts))
    subtotal, tax = extraction.decimal("subtotal"), extraction.decimal("tax")
    candidates = [subtotal, total, total - tax if tax is not None else None]
    if any(c is not None and abs(line_sum - c) <= tolerance for c in candidates):
        return None
    reference, label = (subtotal, "net amount") if subtotal is not None else (total, "total")
    difference = reference - line_sum
    from_xml = extraction.method is Source.XML
    return Finding(
        code="arithmetic.lines_mismatch",
        severity=Severity.INFO if from_xml else Severity.LOW,
        message=(
            f"The {len(lines)} invoice lines add up to {money_text(line_sum)}, but the {label} is "
            f"{money_text(reference)} (difference {money_text(difference)}). This can be a discount or "
            "charge on the whole invoice, or a line that was not read; check the lines before approving."
        ),
        evidence={
            "line_sum": money_text(line_sum),
            "line_count": len(lines),
            "difference": money_text(difference),
            "tolerance": money_text(tolerance),
            "compared_with": "subtotal" if subtotal is not None else "total",
            "subtotal": field_evidence(extraction, "subtotal"),
            "total": field_evidence(extraction, "total"),
            "lines": [
                {
                    "amount": money_text(line.amount) if line.amount is not None else None,
                    "page": line.provenance.page if line.provenance else None,
                }
                for line in lines
            ],
        },
    )


def _amount_due_vs_total(extraction: Extraction, total: Decimal) -> Finding | None:
    amount_due = extraction.decimal("amount_due")
    # Credit notes and corrections carry negative amounts: compare magnitudes.
    if amount_due is None or abs(amount_due) <= abs(total) + CENT:
        return None
    return Finding(
        code="arithmetic.amount_due_exceeds_total",
        severity=Severity.LOW,
        message=(
            f"The amount due {money_text(amount_due)} is more than the invoice total {money_text(total)}. "
            "This can be an earlier unpaid balance carried over; check what the extra amount is for."
        ),
        evidence={
            "difference": money_text(abs(amount_due) - abs(total)),
            "tolerance": money_text(CENT),
            "amount_due": field_evidence(extraction, "amount_due"),
            "total": field_evidence(extraction, "total"),
        },
    )
