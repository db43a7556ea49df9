"""apply_profile: the vendor's next invoice gets what the corrections taught, and bank details that
differ from the taught ones stay as printed for the fraud checks to see."""

from __future__ import annotations

from pathlib import Path

import pytest
from acme_invoices import ACME_IBAN, OTHER_IBAN, SENDER, acme_invoice, corrected_record, extraction

from shared.adapters.local.sqlite import SqliteRepository
from shared.domain import ExtractionStatus, MailContext, Source
from shared.learning import apply_profile, learn_from
from shared.learning.locate import ANCHORED

MAIL = MailContext(sender=SENDER)


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    repository = SqliteRepository(tmp_path / "papyr.sqlite3")
    taught = corrected_record(
        "a" * 64,
        {"vendor_name": "Hafenstrasse 12", "total": "10.00", "iban": ACME_IBAN},
        {"vendor_name": "ACME Widgets GmbH", "invoice_number": "AW-10023", "total": "1234.56", "iban": ACME_IBAN},
    )
    learn_from(taught, repository, acme_invoice())
    return repository


def test_positional_fields_are_read_where_the_vendor_prints_them(repo: SqliteRepository) -> None:
    # five more line items push the total 75 points down; the label moves with it
    content = acme_invoice(number="AW-10187", total="2.080,00", rows=7)
    extracted = extraction({"vendor_name": "Hafenstrasse 12", "total": "10.00", "iban": ACME_IBAN})

    applied = apply_profile(extracted, content, MAIL, repo)

    assert applied.value("invoice_number") == "AW-10187"
    total = applied.fields["total"]
    assert total.value == "2080.00" and total.confidence == ANCHORED
    assert total.provenance.source is Source.TEXT and total.provenance.page == 1
    assert total.provenance.bbox == (450.0, 375.0, 490.0, 385.0)  # where "2.080,00" is printed
    assert extracted.value("total") == "10.00"  # the input is left as it was
    assert any("vendor profile 'acmewidgets'" in warning for warning in applied.warnings)


def test_a_known_misread_vendor_name_is_replaced_with_the_taught_one(repo: SqliteRepository) -> None:
    applied = apply_profile(extraction({"vendor_name": "Hafenstrasse 12"}), acme_invoice(), MailContext(), repo)

    name = applied.fields["vendor_name"]
    assert name.value == "ACME Widgets GmbH"
    assert name.provenance.source is Source.TEXT and name.provenance.bbox == (50.0, 40.0, 135.0, 50.0)


def test_a_different_iban_on_the_page_is_not_overwritten(repo: SqliteRepository) -> None:
    content = acme_invoice(iban="GB82 WEST 1234 5698 7654 32")
    extracted = extraction({"vendor_name": "ACME Widgets GmbH", "iban": OTHER_IBAN})

    applied = apply_profile(extracted, content, MAIL, repo)

    assert applied.value("iban") == OTHER_IBAN
    assert applied.fields["iban"].provenance.source is Source.TEXT
    assert any("iban differs from the one taught" in warning for warning in applied.warnings)


def test_a_missing_iban_is_not_filled_when_the_page_shows_another_account(repo: SqliteRepository) -> None:
    content = acme_invoice(iban="GB82 WEST 1234 5698 7654 32")

    applied = apply_profile(extraction({"vendor_name": "ACME Widgets GmbH"}), content, MAIL, repo)

    assert applied.value("iban") is None
    assert any("iban not filled" in warning for warning in applied.warnings)


def test_a_missing_iban_is_filled_from_where_it_is_printed(repo: SqliteRepository) -> None:
    applied = apply_profile(extraction({"vendor_name": "ACME Widgets GmbH"}), acme_invoice(), MAIL, repo)

    iban = applied.fields["iban"]
    assert iban.value == ACME_IBAN and iban.provenance.source is Source.TEXT and iban.provenance.page == 1


def test_a_missing_iban_not_printed_is_filled_as_the_profile_s_with_low_confidence(repo: SqliteRepository) -> None:
    applied = apply_profile(extraction({"vendor_name": "ACME Widgets GmbH"}), acme_invoice(iban=None), MAIL, repo)

    iban = applied.fields["iban"]
    assert iban.value == ACME_IBAN and iban.provenance.source is Source.PROFILE and iban.provenance.bbox is None
    assert iban.confidence < 0.8  # flagged for a person to look at


def test_a_confident_different_vendor_name_is_kept(repo: SqliteRepository) -> None:
    content = acme_invoice(name="ACME Widgets Holding AG")
    extracted = extraction({"vendor_name": "ACME Widgets Holding AG"}, confidence=0.95)

    applied = apply_profile(extracted, content, MAIL, repo)

    assert applied.value("vendor_name") == "ACME Widgets Holding AG"


def test_documents_of_unknown_vendors_xml_and_rejected_ones_are_left_alone(repo: SqliteRepository) -> None:
    other = acme_invoice(name="Globex Corporation", iban=None)
    unknown = extraction({"vendor_name": "Globex Corporation"})
    # different sender, no shared identifier, header mostly different: not ACME
    other.pages[0].words = [w for w in other.pages[0].words if w.top > 100]
    assert apply_profile(unknown, other, MailContext(sender="ap@globex.example"), repo) is unknown

    xml = extraction({"vendor_name": "Hafenstrasse 12"})
    xml.method = Source.XML
    assert apply_profile(xml, acme_invoice(), MAIL, repo) is xml

    rejected = extraction({})
    rejected.status = ExtractionStatus.REJECTED
    assert apply_profile(rejected, acme_invoice(), MAIL, repo) is rejected
