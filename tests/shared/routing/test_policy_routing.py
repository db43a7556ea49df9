"""Routing by a policy file: rules by amount band, vendor, cost centre and mailbox; risk threshold;
four-eyes at routing time (group alternates, fallback) and the reasons it gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain import (
    AuditEntry,
    Correction,
    DocumentType,
    Extraction,
    Finding,
    InvoiceRecord,
    MailContext,
    RouteKind,
    Severity,
    Source,
    Vendor,
)
from shared.routing import RoutingFacts, four_eyes_conflicts, matching_rule, parse_policy, route
from tests.factories import document, fields

POLICY = parse_policy(
    """
auto_approve_below: 1000
risk_threshold: 0.5
fallback_approvers: [admin@x, controller@x]
rules:
  - name: large EUR
    when: {amount: {min: 10000, currency: EUR}}
    levels: [[clerk@x, deputy@x], cfo@x]
  - name: mid band
    when: {amount: {min: 5000, max: 9999.99}}
    levels: [mid@x]
  - name: ACME
    when: {vendors: [ACME GmbH, "nordlicht"]}
    levels: [acme.owner@x]
  - name: IT
    when: {cost_centres: [it]}
    levels: [it.lead@x]
  - name: Germany
    when: {mailboxes: [Rechnungen@X], amount: {currency: EUR}}
    levels: [buchhaltung@x]
  - name: rest
    levels: [[clerk@x, deputy@x]]
""",
    "policy.yaml",
)


def invoice(
    total: str | None = "2000.00",
    *,
    currency: str = "EUR",
    vendor: str = "Some Supplier Ltd",
    mailbox: str | None = None,
    document_type: DocumentType = DocumentType.INVOICE,
    risk: float = 0.0,
) -> InvoiceRecord:
    values = {"currency": currency, "vendor_name": vendor, **({"total": total} if total is not None else {})}
    return InvoiceRecord(
        id="c" * 64,
        document=document("c" * 64, mail=MailContext(mailbox=mailbox)),
        extraction=Extraction(fields=fields(values, confidence=1.0, source=Source.XML), document_type=document_type),
        risk_score=risk,
    )


def rule_for(record: InvoiceRecord, vendor: Vendor | None = None) -> str | None:
    rule = matching_rule(POLICY, record, vendor)
    return rule.name if rule else None


@pytest.mark.parametrize(
    ("total", "currency", "rule"),
    [
        ("10000.00", "EUR", "large EUR"),  # min is inclusive
        ("250000.00", "EUR", "large EUR"),
        ("10000.00", "USD", "rest"),  # the band names a currency: USD is not in it, nor in "mid band"
        ("9999.99", "USD", "mid band"),  # no currency on the band: any currency
        ("5000.00", "EUR", "mid band"),
        ("4999.99", "EUR", "rest"),
    ],
)
def test_amount_bands_match_in_order(total: str, currency: str, rule: str) -> None:
    assert rule_for(invoice(total, currency=currency)) == rule


def test_vendor_matches_by_name_or_key_whatever_the_legal_form_and_case() -> None:
    assert rule_for(invoice(vendor="acme gmbh.")) == "ACME"
    assert rule_for(invoice(vendor="ACME")) == "ACME"
    assert rule_for(invoice(vendor="Nordlicht Handels")) == "rest"  # another vendor key
    # The vendor master's name counts too (the invoice may print a trading name).
    assert rule_for(invoice(vendor="NL Shop"), Vendor(name="Nordlicht")) == "ACME"


def test_cost_centre_is_the_vendor_masters() -> None:
    assert rule_for(invoice(), Vendor(name="Some Supplier", cost_centre="IT")) == "IT"
    assert rule_for(invoice(), Vendor(name="Some Supplier", cost_centre="Facilities")) == "rest"
    assert rule_for(invoice(), Vendor(name="Some Supplier")) == "rest"
    assert rule_for(invoice()) == "rest"  # not in the vendor master: no cost centre


def test_mailbox_and_amount_conditions_must_all_hold() -> None:
    assert rule_for(invoice(mailbox="rechnungen@x")) == "Germany"
    assert rule_for(invoice(mailbox="rechnungen@x", currency="USD")) == "rest"
    assert rule_for(invoice(mailbox="ap@x")) == "rest"


def test_no_total_matches_no_amount_band() -> None:
    assert rule_for(invoice(None)) == "rest"


def test_two_levels_with_the_rule_in_the_reasons() -> None:
    decided = route(invoice("12000.00"), [], policy=POLICY)
    assert decided.kind is RouteKind.APPROVAL
    assert decided.approvers == ["clerk@x", "cfo@x"]
    assert decided.alternates == [["deputy@x", "admin@x", "controller@x"], ["admin@x", "controller@x"]]
    assert decided.policy_rule == "large EUR"
    assert decided.reasons == [
        "The total 12,000.00 EUR needs two approvers, in order, by the policy",
        "Approval policy rule: large EUR",
    ]


def test_small_clean_invoices_are_auto_approved_unless_the_risk_is_high() -> None:
    assert route(invoice("999.99"), [], policy=POLICY).kind is RouteKind.AUTO_APPROVE
    risky = route(invoice("999.99", risk=0.5), [], policy=POLICY)
    assert risky.kind is RouteKind.APPROVAL
    assert risky.approvers == ["clerk@x"]
    assert risky.reasons[0] == (
        "The total 999.99 EUR is below the auto-approval limit of 1,000.00 EUR, but its risk score 0.50 is at or "
        "above the policy's threshold of 0.50, so a person decides"
    )


def test_findings_come_first_in_the_reasons() -> None:
    findings = [
        Finding(code="vendor.unknown", severity=Severity.LOW, message="The vendor is not in the vendor master."),
        Finding(code="bank.iban_changed", severity=Severity.HIGH, message="The bank account changed."),
    ]
    decided = route(invoice("12000.00", risk=0.64), findings, policy=POLICY)
    assert decided.reasons[0] == "The bank account changed."
    assert decided.reasons[2] == "The vendor is not in the vendor master."


def test_a_credit_note_goes_to_the_rules_first_level_only() -> None:
    decided = route(invoice("-12000.00", document_type=DocumentType.CREDIT_NOTE), [], policy=POLICY)
    assert decided.approvers == ["clerk@x"]
    assert decided.reasons[0] == "Credit note: one approver confirms it before it is booked"


def test_no_matching_rule_goes_to_the_fallback_approvers() -> None:
    policy = POLICY.model_copy(update={"rules": POLICY.rules[:1]})
    decided = route(invoice("2000.00"), [], policy=policy)
    assert decided.approvers == ["admin@x"]
    assert decided.policy_rule is None
    assert "No approval policy rule matches; the fallback approvers decide" in decided.reasons


# -- four-eyes ---------------------------------------------------------------------------------------


def edited(record: InvoiceRecord, *, uploaded_by: str | None = None, corrected_by: str | None = None) -> RoutingFacts:
    trail = [AuditEntry(actor="papyr", action="received")]
    if uploaded_by:
        trail.append(AuditEntry(actor=uploaded_by, action="uploaded", detail={"filename": "x.pdf"}))
    if corrected_by:
        record.corrections.append(Correction(field="total", old_value="1.00", new_value="12000.00", by=corrected_by,
                                             at=datetime(2025, 1, 1, tzinfo=UTC)))
    return RoutingFacts(conflicts=four_eyes_conflicts(record, trail))


def test_the_uploader_is_skipped_for_the_next_in_the_group() -> None:
    record = invoice("12000.00")
    decided = route(record, [], policy=POLICY, facts=edited(record, uploaded_by="Clerk@X"))
    assert decided.approvers == ["deputy@x", "cfo@x"]
    assert "Four-eyes at level 1: Clerk@X uploaded it, so they do not approve it" in decided.reasons


def test_whoever_corrected_a_field_goes_to_the_fallback_when_the_group_is_empty() -> None:
    record = invoice("12000.00")
    decided = route(record, [], policy=POLICY, facts=edited(record, corrected_by="cfo@x"))
    assert decided.approvers == ["clerk@x", "admin@x"]
    assert decided.reasons[-2:] == [
        "Four-eyes at level 2: cfo@x corrected total, so they do not approve it",
        "Level 2: nobody in cfo@x may approve it; the fallback approver admin@x decides",
    ]


def test_one_person_never_holds_two_levels_even_through_the_fallback() -> None:
    policy = parse_policy(
        "auto_approve_below: 0\nfallback_approvers: [admin@x]\n"
        "rules: [{name: r, levels: [[clerk@x, admin@x], cfo@x]}]",
        "p.yaml",
    )
    record = invoice("50.00")
    decided = route(record, [], policy=policy, facts=edited(record, uploaded_by="cfo@x", corrected_by="clerk@x"))
    assert decided.approvers == ["admin@x", "cfo@x"]
    assert decided.reasons[-1] == (
        "Level 2: nobody in the group or the fallback list may approve it under four-eyes; cfo@x is asked and "
        "an administrator should reassign it"
    )


def test_four_eyes_off_keeps_the_named_approvers() -> None:
    policy = POLICY.model_copy(update={"four_eyes": False})
    record = invoice("12000.00")
    decided = route(record, [], policy=policy, facts=edited(record, uploaded_by="clerk@x"))
    assert decided.approvers == ["clerk@x", "cfo@x"]
