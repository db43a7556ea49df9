"""Vendor identification before the extracted name is trusted: sender, identifiers printed on the
page, the letterhead, misread names; one key alone or a tie identifies nobody."""

from __future__ import annotations

from acme_invoices import SENDER, acme_invoice, extraction

from shared.domain import MailContext
from shared.learning import DocumentKeys, VendorProfile, identify_vendor
from shared.learning.identify import header_fingerprint, sender_parts
from shared.learning.models import Layout

ACME = VendorProfile(
    key="acmewidgets",
    names=["acmewidgets", "hafenstrasse12"],
    vat_ids=["DE811569869"],
    senders=[SENDER],
    domains=["acme-widgets.example"],
    layouts=[Layout(fingerprint=header_fingerprint(acme_invoice()))],
)


def keys(extracted_name: str = "", sender: str | None = None, **invoice: str) -> DocumentKeys:
    content = acme_invoice(**invoice)
    values = {"vendor_name": extracted_name} if extracted_name else {}
    return DocumentKeys.of(content, MailContext(sender=sender), extraction(values))


def test_the_letterhead_and_the_vat_id_on_the_page_identify_a_misread_vendor() -> None:
    match = identify_vendor(keys("Some Misread Text", number="AW-20001"), [ACME])

    assert match is not None and match.profile.key == "acmewidgets"
    assert match.evidence == ["vat_id", "header"] and match.header == 1.0


def test_sender_and_misread_name_learned_before_identify_without_a_letterhead() -> None:
    content = acme_invoice()
    content.pages[0].words = []  # e.g. a scan whose header did not OCR
    found = identify_vendor(
        DocumentKeys.of(content, MailContext(sender=SENDER.upper()), extraction({"vendor_name": "Hafenstrasse 12"})),
        [ACME],
    )

    assert found is not None and found.evidence == ["sender", "name"]


def test_one_key_alone_is_not_enough() -> None:
    content = acme_invoice()
    content.pages[0].words = []
    assert identify_vendor(DocumentKeys.of(content, MailContext(sender=SENDER), extraction({})), [ACME]) is None


def test_another_vendor_on_the_same_invoice_template_is_not_taken_for_acme() -> None:
    globex = keys("Globex Corporation", "ap@globex.example", name="Globex Corporation", vat_id="DE136695976")
    found = identify_vendor(globex, [ACME])

    assert found is None


def test_a_tie_between_two_profiles_identifies_nobody() -> None:
    twin = ACME.model_copy(update={"key": "acmeservices"})

    assert identify_vendor(keys("ACME Widgets GmbH"), [ACME, twin]) is None


def test_public_mail_domains_say_nothing_about_the_vendor() -> None:
    assert sender_parts(MailContext(sender="Billing@Gmail.com")) == ("billing@gmail.com", None)
    address = "ap@acme-widgets.example"
    assert sender_parts(MailContext(sender=address)) == (address, "acme-widgets.example")
    assert sender_parts(MailContext()) == (None, None)
