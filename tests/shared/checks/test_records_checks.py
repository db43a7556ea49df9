"""Checks that need records: duplicates, the vendor master, and the whole run — on a real SQLite repository."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.adapters.local.sqlite import SqliteRepository
from shared.checks import check_bank_details, match_vendor, risk_score, run_checks
from shared.domain import (
    DocumentType,
    Extraction,
    Finding,
    InvoiceRecord,
    InvoiceStatus,
    MailContext,
    Severity,
    Source,
    Vendor,
)
from tests.factories import document, fields

ACME_IBAN = "DE89370400440532013000"
OTHER_IBAN = "GB82WEST12345698765432"


def record(
    name: str,
    *,
    created: int = 1,
    document_type: DocumentType = DocumentType.INVOICE,
    sender: str | None = None,
    **values: str,
) -> InvoiceRecord:
    sha = hashlib.sha256(name.encode()).hexdigest()
    return InvoiceRecord(
        id=sha,
        document=document(sha, filename=name, size=1000, mail=MailContext(sender=sender)),
        extraction=Extraction(fields=fields(values, confidence=0.97), document_type=document_type, method=Source.TEXT),
        created_at=datetime(2024, 5, created, 9, 0, tzinfo=UTC),
    )


ACME = {
    "vendor_name": "ACME GmbH",
    "vendor_vat_id": "DE136695976",
    "invoice_number": "INV-0042",
    "currency": "EUR",
    "subtotal": "100.00",
    "tax": "19.00",
    "total": "119.00",
    "iban": ACME_IBAN,
}


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    repository = SqliteRepository(tmp_path / "papyr.sqlite3")
    repository.upsert_vendor(Vendor(name="Acme GmbH", vat_id="DE 136 695 976", iban="DE89 3704 0044 0532 0130 00"))
    return repository


def test_clean_invoice_from_a_known_vendor_has_no_findings(repo: SqliteRepository) -> None:
    invoice = record("acme-42.pdf", **ACME)
    repo.save_invoice(invoice)
    assert run_checks(invoice, repo=repo) == []


def test_resent_invoice_with_a_variant_number_is_a_duplicate(repo: SqliteRepository) -> None:
    first = record("acme-42.pdf", created=1, **ACME)
    first.status = InvoiceStatus.APPROVED
    repo.save_invoice(first)
    variant = {**ACME, "vendor_name": "ACME GmbH.", "invoice_number": "inv 42"}
    resent = record("scan-of-acme-42.pdf", created=3, **variant)
    repo.save_invoice(resent)

    findings = run_checks(resent, repo=repo)
    [duplicate] = [f for f in findings if f.code == "duplicate.same_number"]
    assert duplicate.severity is Severity.HIGH
    assert "acme-42.pdf" in duplicate.message and "approved" in duplicate.message
    assert "same total" in duplicate.message
    [other] = duplicate.evidence["others"]
    assert other["id"] == first.id
    assert other["status"] == "approved"
    # The first invoice sees the second too (it is "another record"), but never itself.
    assert [o["id"] for o in run_checks(first, repo=repo)[0].evidence["others"]] == [resent.id]


def test_same_number_from_another_vendor_is_not_a_duplicate(repo: SqliteRepository) -> None:
    repo.save_invoice(record("acme-42.pdf", **ACME))
    other = record("globex-42.pdf", **{**ACME, "vendor_name": "Globex Ltd", "vendor_vat_id": "NL810433941B01"})
    codes = [f.code for f in run_checks(other, repo=repo)]
    assert "duplicate.same_number" not in codes
    assert codes == ["vendor.unknown"]


def test_changed_bank_account_is_high_and_shows_both(repo: SqliteRepository) -> None:
    changed = record("acme-43.pdf", **{**ACME, "invoice_number": "INV-0043", "iban": OTHER_IBAN})
    findings = run_checks(changed, repo=repo)
    assert [f.code for f in findings] == ["bank.iban_changed"]
    [finding] = findings
    assert finding.severity is Severity.HIGH
    assert OTHER_IBAN in finding.message and ACME_IBAN in finding.message
    assert finding.evidence["master_iban"] == ACME_IBAN
    assert finding.evidence["invoice_iban"]["value"] == OTHER_IBAN
    assert finding.evidence["matched_by"] == "vat_id"


def test_vendor_matched_by_name_when_vat_id_is_missing(repo: SqliteRepository) -> None:
    values = {k: v for k, v in ACME.items() if k != "vendor_vat_id"}
    extraction = record("a.pdf", **{**values, "vendor_name": "acme", "iban": OTHER_IBAN}).extraction
    assert extraction is not None
    vendors = repo.list_vendors()
    matched = check_bank_details(extraction, vendors, match_vendor(extraction, vendors))
    assert [(f.code, f.evidence["matched_by"]) for f in matched] == [("bank.iban_changed", "name")]


def _with_domains(repo: SqliteRepository, *vendors: Vendor) -> None:
    for vendor in vendors:
        repo.upsert_vendor(vendor)


def test_vendor_matched_by_sender_domain_when_name_and_vat_id_are_not_read(repo: SqliteRepository) -> None:
    _with_domains(repo, Vendor(name="Acme GmbH", vat_id="DE136695976", iban=ACME_IBAN, email_domains=["acme.de"]))
    values = {k: v for k, v in ACME.items() if k != "vendor_vat_id"}
    misread = record("a.pdf", sender="billing@mail.acme.de", **{**values, "vendor_name": "T.a.v. bosd"})
    changed = record(
        "b.pdf",
        sender="billing@acme.de",
        **{**values, "vendor_name": "bosd", "invoice_number": "INV-0043", "iban": OTHER_IBAN},
    )
    # No "vendor.unknown": the mail says who it is (a first sender on the vendor's own domain is info).
    assert [(f.code, f.severity) for f in run_checks(misread, repo=repo)] == [("sender.first_seen", Severity.INFO)]
    finding = next(f for f in run_checks(changed, repo=repo) if f.severity is Severity.HIGH)
    assert (finding.code, finding.evidence["matched_by"]) == ("bank.iban_changed", "sender_domain")


def test_no_match_by_a_free_mail_or_shared_domain(repo: SqliteRepository) -> None:
    _with_domains(
        repo,
        Vendor(name="Acme GmbH", email_domains=["acme.de", "gmail.com"]),
        Vendor(name="Acme Services", email_domains=["acme.de"]),
    )
    for number, sender in enumerate(("ap.acme@gmail.com", "billing@acme.de")):
        values = {**ACME, "vendor_name": "Initech", "vendor_vat_id": "", "invoice_number": f"I-{number}"}
        stranger = record(f"{sender}.pdf", sender=sender, **values)
        assert [f.code for f in run_checks(stranger, repo=repo)] == ["vendor.unknown"], sender


def test_resent_invoice_is_a_duplicate_when_one_copy_misread_the_vendor(repo: SqliteRepository) -> None:
    """The vendor's name is read differently on the two copies (a logo, the delivery address): both come
    from the vendor's domain, so both belong to its history and the near duplicate is found."""
    _with_domains(repo, Vendor(name="Acme GmbH", email_domains=["acme.de"]))
    values = {k: v for k, v in ACME.items() if k not in ("vendor_vat_id", "iban")}
    first = record("acme-42.pdf", sender="billing@acme.de", **{**values, "vendor_name": "WS Retail Services"})
    first.status = InvoiceStatus.EXPORTED
    repo.save_invoice(first)
    run_checks(first, repo=repo)
    again = record("acme-42b.pdf", created=9, sender="billing@acme.de", **{**values, "invoice_number": "INV42"})
    codes = [f.code for f in run_checks(again, repo=repo) if f.severity is not Severity.INFO]
    assert codes == ["duplicate.near"]


def test_vat_id_differing_from_master_by_name(repo: SqliteRepository) -> None:
    found = run_checks(record("a.pdf", **{**ACME, "vendor_vat_id": "FR60421938861"}), repo=repo)
    assert [(f.code, f.severity) for f in found] == [("vendor.vat_id_differs", Severity.MEDIUM)]


def test_unknown_vendor_is_low(repo: SqliteRepository) -> None:
    stranger = record("x.pdf", **{**ACME, "vendor_name": "Initech LLC", "vendor_vat_id": "GB980780684"})
    [finding] = run_checks(stranger, repo=repo)
    assert (finding.code, finding.severity) == ("vendor.unknown", Severity.LOW)
    assert "Initech LLC" in finding.message


def test_findings_are_ordered_most_severe_first(repo: SqliteRepository) -> None:
    bad = record(
        "bad.pdf",
        **{**ACME, "vendor_name": "Initech LLC", "vendor_vat_id": "DE123456789", "total": "150.00"},
    )
    severities = [f.severity for f in run_checks(bad, repo=repo)]
    assert severities == [Severity.HIGH, Severity.HIGH, Severity.LOW]


def test_not_invoices_are_not_checked(repo: SqliteRepository) -> None:
    letter = record("letter.pdf", document_type=DocumentType.NOT_INVOICE)
    assert run_checks(letter, repo=repo) == []


def finding(severity: Severity) -> Finding:
    return Finding(code="x", severity=severity, message="x")


def test_risk_score_combines_findings() -> None:
    assert risk_score([]) == 0.0
    assert risk_score([finding(Severity.INFO)]) == 0.0
    assert risk_score([finding(Severity.HIGH)]) == 0.6
    assert risk_score([finding(Severity.HIGH), finding(Severity.HIGH)]) == 0.84
    many = risk_score([finding(Severity.HIGH)] * 3 + [finding(Severity.MEDIUM)] * 5)
    assert 0.98 < many < 1.0
    assert risk_score([finding(Severity.LOW)]) < risk_score([finding(Severity.MEDIUM)])


def test_duplicate_with_another_total_says_so(repo: SqliteRepository) -> None:
    repo.save_invoice(record("acme-42.pdf", created=1, **ACME))
    changed = record("acme-42-v2.pdf", created=2, **{**ACME, "subtotal": "200.00", "tax": "38.00", "total": "238.00"})
    [duplicate] = [f for f in run_checks(changed, repo=repo) if f.code == "duplicate.same_number"]
    assert "with total 119.00 EUR" in duplicate.message
    assert duplicate.evidence["this_total"] == "238.00 EUR"
    assert duplicate.evidence["others"][0]["total"] == "119.00 EUR"
