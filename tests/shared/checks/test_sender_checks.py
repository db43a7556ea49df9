"""Sender checks: look-alike domains, display-name spoofing, Reply-To, SPF/DKIM/DMARC, first mail."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shared.adapters.local.sqlite import SqliteRepository
from shared.checks import run_checks
from shared.checks.domains import lookalike_of, skeleton
from shared.checks.mail_auth import mail_verdicts, parse_authentication_results
from shared.domain import Extraction, InvoiceRecord, MailContext, Severity, Source, Vendor
from tests.factories import document, fields

ACME = {
    "vendor_name": "ACME GmbH",
    "vendor_vat_id": "DE136695976",
    "invoice_number": "INV-7",
    "currency": "EUR",
    "subtotal": "100.00",
    "tax": "19.00",
    "total": "119.00",
}
PASS = "mx.papyr.example; spf=pass smtp.mailfrom=acme-tools.de; dkim=pass header.d=acme-tools.de; dmarc=pass"


def mailed(name: str, **mail: object) -> InvoiceRecord:
    sha = hashlib.sha256(name.encode()).hexdigest()
    context = MailContext(mailbox="ap@papyr.example", **mail)  # type: ignore[arg-type]
    return InvoiceRecord(
        id=sha,
        document=document(sha, filename=name, mail=context),
        extraction=Extraction(fields=fields(ACME), method=Source.TEXT),
    )


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    repository = SqliteRepository(tmp_path / "papyr.sqlite3")
    repository.upsert_vendor(Vendor(name="ACME GmbH", vat_id="DE136695976", email_domains=["acme-tools.de"]))
    repository.upsert_vendor(Vendor(name="Globex Corporation", email_domains=["globex.com"]))
    return repository


def sender_codes(repo: SqliteRepository, record: InvoiceRecord) -> dict[str, Severity]:
    return {f.code: f.severity for f in run_checks(record, repo=repo) if f.code.startswith("sender.")}


def test_a_known_sender_on_the_vendors_domain_raises_nothing_after_the_first_mail(repo: SqliteRepository) -> None:
    first = mailed("1.pdf", sender="billing@acme-tools.de", sender_name="ACME Billing", authentication_results=[PASS])
    assert sender_codes(repo, first) == {"sender.first_seen": Severity.INFO}
    again = mailed("2.pdf", sender="billing@acme-tools.de", sender_name="ACME Billing", authentication_results=[PASS])
    assert sender_codes(repo, again) == {}


@pytest.mark.parametrize(
    ("domain", "how"),
    [
        ("acme-to0ls.de", "homoglyphs"),  # digit zero for o
        ("acme-tols.de", "1 character edit"),
        ("acmme-tols.de", "2 character edits"),
        ("acme-tооls".encode("idna").decode() + ".de", "punycode"),  # Cyrillic о: xn--acme-tls-sbha.de
        ("acme-tools.com", "another top-level domain"),
        ("acme-tools-billing.de", "extra words"),
    ],
)
def test_lookalike_domains_are_high(repo: SqliteRepository, domain: str, how: str) -> None:
    record = mailed("x.pdf", sender=f"billing@{domain}", sender_name="ACME Billing")
    [finding] = [f for f in run_checks(record, repo=repo) if f.code == "sender.lookalike_domain"]
    assert finding.severity is Severity.HIGH
    assert how in finding.evidence["how"]
    assert finding.evidence["imitates"] == "acme-tools.de"


def test_unrelated_and_subdomains_are_not_lookalikes() -> None:
    assert lookalike_of("mail.acme-tools.de", ["acme-tools.de"]) is None
    assert lookalike_of("initech.com", ["acme-tools.de", "globex.com"]) is None
    assert lookalike_of("ibm.de", ["ibx.de"]) is None  # short names are a few edits from many real domains
    assert skeleton("раураl") == skeleton("paypal")  # Cyrillic р, а, у


def test_display_name_claiming_a_vendor_from_another_domain(repo: SqliteRepository) -> None:
    record = mailed("x.pdf", sender="ceo.office@gmail.com", sender_name="Globex Corporation Accounts")
    codes = sender_codes(repo, record)
    assert codes["sender.display_name_spoof"] is Severity.HIGH
    shown = mailed("y.pdf", sender="x@evil.example", sender_name="billing@acme-tools.de")
    assert sender_codes(repo, shown)["sender.display_name_spoof"] is Severity.HIGH
    honest = mailed("z.pdf", sender="ar@globex.com", sender_name="Globex Corporation")
    assert "sender.display_name_spoof" not in sender_codes(repo, honest)


def test_reply_to_elsewhere(repo: SqliteRepository) -> None:
    record = mailed("x.pdf", sender="billing@acme-tools.de", reply_to="acme.billing@outlook.com")
    assert sender_codes(repo, record)["sender.reply_to_mismatch"] is Severity.HIGH
    same_org = mailed("y.pdf", sender="billing@acme-tools.de", reply_to="support@help.acme-tools.de")
    assert "sender.reply_to_mismatch" not in sender_codes(repo, same_org)


def test_authentication_results_are_parsed_per_rfc_8601() -> None:
    verdicts = parse_authentication_results(
        "mx.example.com (comment); spf=fail (sender IP is 192.0.2.1) smtp.mailfrom=acme-tools.de;"
        " dkim=fail header.d=acme-tools.de; dkim=pass header.d=mailer.example; DMARC=Fail header.from=acme-tools.de"
    )
    assert verdicts.authserv_id == "mx.example.com"
    assert verdicts.results == {"spf": "fail", "dkim": "pass", "dmarc": "fail"}
    assert parse_authentication_results("mx.example.com; none").results == {}
    only_spf = mail_verdicts([], ["SoftFail (mx: domain does not designate 192.0.2.1) client-ip=192.0.2.1"])
    assert only_spf is not None and only_spf.results == {"spf": "softfail"}
    assert mail_verdicts([], []) is None


@pytest.mark.parametrize(
    ("header", "severity"),
    [
        ("mx.papyr.example; spf=pass; dkim=none; dmarc=fail header.from=acme-tools.de", Severity.HIGH),
        ("mx.papyr.example; spf=fail smtp.mailfrom=acme-tools.de", Severity.MEDIUM),
        ("mx.papyr.example; spf=softfail smtp.mailfrom=acme-tools.de", Severity.LOW),
        ("mx.papyr.example; spf=fail; dmarc=pass", None),  # DMARC passed through DKIM alignment
    ],
)
def test_failed_authentication(repo: SqliteRepository, header: str, severity: Severity | None) -> None:
    record = mailed("x.pdf", sender="billing@acme-tools.de", authentication_results=[header])
    assert sender_codes(repo, record).get("sender.auth_failed") is severity


def test_first_mail_from_a_domain_the_vendor_does_not_use(repo: SqliteRepository) -> None:
    record = mailed("x.pdf", sender="invoices@billing-platform.example")
    [finding] = [f for f in run_checks(record, repo=repo) if f.code.startswith("sender.")]
    assert (finding.code, finding.severity) == ("sender.first_seen", Severity.MEDIUM)
    assert "acme-tools.de" in finding.message


def test_files_without_a_mail_get_no_sender_findings(repo: SqliteRepository) -> None:
    assert sender_codes(repo, mailed("x.pdf")) == {}
