from __future__ import annotations

from decimal import Decimal

import pytest

from shared.domain import DocumentType, Extraction, Finding, InvoiceRecord, RouteKind, Severity, Source
from shared.routing import default_policy, route
from shared.settings import Settings
from tests.factories import document, fields

# The policy the settings describe when no policy file is set: these tests pin that nothing changed.
POLICY = default_policy(
    Settings(
        auto_approve_below=Decimal("1000"),
        second_approver_above=Decimal("10000"),
        approvers=["clerk@example.com", "cfo@example.com"],
    )
)


def invoice(
    total: str | None, document_type: DocumentType = DocumentType.INVOICE, currency: str = "EUR"
) -> InvoiceRecord:
    values = {"currency": currency, **({"total": total} if total is not None else {})}
    return InvoiceRecord(
        id="a" * 64,
        document=document("a" * 64, blob_name="documents/a.pdf", filename="a.pdf", size=1),
        extraction=Extraction(
            fields=fields(values, confidence=1.0, source=Source.XML, page=None), document_type=document_type
        ),
    )


def finding(severity: Severity, message: str, code: str = "x.y") -> Finding:
    return Finding(code=code, severity=severity, message=message)


@pytest.mark.parametrize(
    ("total", "kind", "approvers"),
    [
        ("0.00", RouteKind.AUTO_APPROVE, []),
        ("999.99", RouteKind.AUTO_APPROVE, []),
        ("1000.00", RouteKind.APPROVAL, ["clerk@example.com"]),
        ("10000.00", RouteKind.APPROVAL, ["clerk@example.com"]),
        ("10000.01", RouteKind.APPROVAL, ["clerk@example.com", "cfo@example.com"]),
    ],
)
def test_amount_bands(total: str, kind: RouteKind, approvers: list[str]) -> None:
    decided = route(invoice(total), [], policy=POLICY)
    assert decided.kind is kind
    assert decided.approvers == approvers
    assert total in decided.reasons[0].replace(",", "")


def test_auto_approval_reason_is_plain_language() -> None:
    [reason] = route(invoice("450.00"), [], policy=POLICY).reasons
    assert (
        reason == "The total 450.00 EUR is below the auto-approval limit of 1,000.00 EUR and no check raised a concern"
    )


def test_info_findings_do_not_block_auto_approval() -> None:
    decided = route(invoice("450.00"), [finding(Severity.INFO, "tax id not verifiable")], policy=POLICY)
    assert decided.kind is RouteKind.AUTO_APPROVE


@pytest.mark.parametrize("severity", [Severity.LOW, Severity.MEDIUM, Severity.HIGH])
def test_any_concern_sends_a_small_invoice_to_a_person(severity: Severity) -> None:
    decided = route(invoice("450.00"), [finding(severity, "something odd")], policy=POLICY)
    assert decided.kind is RouteKind.APPROVAL
    assert decided.approvers == ["clerk@example.com"]
    assert "something odd" in decided.reasons


def test_high_severity_messages_come_first() -> None:
    findings = [
        finding(Severity.LOW, "The vendor is not in the vendor master."),
        finding(Severity.HIGH, "The bank account differs from the one on file.", "bank.iban_changed"),
        finding(Severity.HIGH, "Invoice 42 was already received.", "duplicate.same_number"),
    ]
    decided = route(invoice("50.00"), findings, policy=POLICY)
    assert decided.kind is RouteKind.APPROVAL
    assert decided.reasons[:2] == [
        "The bank account differs from the one on file.",
        "Invoice 42 was already received.",
    ]
    assert "a person must look at" in decided.reasons[2]
    assert decided.reasons[3] == "The vendor is not in the vendor master."


def test_duplicate_is_never_auto_rejected() -> None:
    duplicate = finding(Severity.HIGH, "Invoice 42 was already received.", "duplicate.same_number")
    decided = route(invoice("20000.00"), [duplicate], policy=POLICY)
    assert decided.kind is RouteKind.APPROVAL
    assert decided.approvers == ["clerk@example.com", "cfo@example.com"]
    assert decided.reasons[0] == "Invoice 42 was already received."


def test_credit_note_goes_to_one_approver_whatever_the_amount() -> None:
    for total in ("-50.00", "-50000.00"):
        decided = route(invoice(total, DocumentType.CREDIT_NOTE), [], policy=POLICY)
        assert decided.kind is RouteKind.APPROVAL
        assert decided.approvers == ["clerk@example.com"]
        assert "Credit note" in decided.reasons[0]


def test_missing_total_and_negative_invoice_go_to_a_person() -> None:
    missing = route(invoice(None), [], policy=POLICY)
    assert (missing.kind, missing.approvers) == (RouteKind.APPROVAL, ["clerk@example.com"])
    assert "No total" in missing.reasons[0]
    negative = route(invoice("-10.00"), [], policy=POLICY)
    assert negative.kind is RouteKind.APPROVAL and "negative" in negative.reasons[0]


def test_receipt_below_limit_is_auto_approved() -> None:
    assert route(invoice("12.50", DocumentType.RECEIPT, "MYR"), [], policy=POLICY).kind is RouteKind.AUTO_APPROVE


def test_policy_from_settings() -> None:
    settings = Settings(
        auto_approve_below=Decimal("250"), second_approver_above=Decimal("5000"), approvers=["a@x", "b@x"],
        remind_after_hours=12, escalate_after_hours=36, expire_after_hours=240,
    )
    policy = default_policy(settings)
    assert [(rule.name, rule.levels) for rule in policy.rules] == [
        ("up to 5000", [["a@x"]]),
        ("above 5000", [["a@x"], ["b@x"]]),
    ]
    assert policy.fallback_approvers == ["a@x", "b@x"]
    assert policy.timings.orchestration_input() == {
        "remind_after_hours": 12, "escalate_after_hours": 36, "expire_after_hours": 240}
    assert route(invoice("300.00"), [], policy=policy).approvers == ["a@x"]
    assert route(invoice("5000.01"), [], policy=policy).approvers == ["a@x", "b@x"]


def test_one_configured_approver_gives_one_level_at_any_amount() -> None:
    policy = default_policy(Settings(approvers=["only@x"]))
    assert route(invoice("50000.00"), [], policy=policy).approvers == ["only@x"]


def test_settings_need_an_approver_and_ordered_bands() -> None:
    with pytest.raises(ValueError, match="PAPYR_APPROVERS is empty"):
        default_policy(Settings(approvers=[]))
    with pytest.raises(ValueError, match="must not be below"):
        default_policy(Settings(auto_approve_below=Decimal(100), second_approver_above=Decimal(10)))
