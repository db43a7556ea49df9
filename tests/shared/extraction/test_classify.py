"""Classification on real documents: invoices, a credit note, an e-invoice type code, a letter."""

from __future__ import annotations

from pathlib import Path

import pytest
from weasyprint import HTML

from shared.documents.content import ContentKind, DocumentContent
from shared.documents.pdf_text import read_text_pages
from shared.domain.models import DocumentType
from shared.extraction.classify import classify


def _content(path: Path) -> DocumentContent:
    return DocumentContent(kind=ContentKind.PDF, pages=read_text_pages(path.read_bytes(), max_pages=10))


@pytest.mark.parametrize(
    "name",
    [
        "invoice2data/AzureInterior.pdf",
        "invoice2data/coolblue1.pdf",
        "invoice2data/QualityHosting.pdf",
        "invoice2data/NetpresseInvoice.pdf",
        "zugferd/ZUGFeRDv1__correct__Intarsys__ZUGFeRD_1p0_BASIC_Rechnungskorrektur.pdf",
    ],
)
def test_invoices_are_invoices(shared_data: Path, name: str) -> None:
    kind, reason = classify(_content(shared_data / name))
    assert kind == DocumentType.INVOICE, reason
    assert reason.startswith("found '")


def test_credit_note_by_keyword(shared_data: Path) -> None:
    path = shared_data / "zugferd" / "ZUGFeRDv2__correct__FNFE-factur-x-examples__Avoir_FR_type381_BASIC.pdf"
    kind, reason = classify(_content(path))
    assert kind == DocumentType.CREDIT_NOTE
    assert "avoir" in reason


def test_e_invoice_type_code_decides() -> None:
    cii = (
        b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
        b'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">'
        b"<rsm:ExchangedDocument><ram:TypeCode>381</ram:TypeCode></rsm:ExchangedDocument></rsm:CrossIndustryInvoice>"
    )
    kind, reason = classify(DocumentContent(kind=ContentKind.XML, xml=cii))
    assert kind == DocumentType.CREDIT_NOTE and "381" in reason
    ubl = b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>'
    assert classify(DocumentContent(kind=ContentKind.XML, xml=ubl))[0] == DocumentType.CREDIT_NOTE
    invoice = cii.replace(b"381", b"380")
    assert classify(DocumentContent(kind=ContentKind.XML, xml=invoice))[0] == DocumentType.INVOICE


def test_a_letter_is_not_an_invoice(tmp_path: Path) -> None:
    pdf = tmp_path / "letter.pdf"
    HTML(
        string="<p>Dear Ms Smith,</p><p>Thank you for visiting our stand at the spring fair. We enclose our "
        "newsletter with the dates of next year's events and look forward to seeing you again.</p>"
        "<p>Kind regards,<br>The Events Team</p>"
    ).write_pdf(pdf)
    kind, reason = classify(_content(pdf))
    assert kind == DocumentType.NOT_INVOICE
    assert reason == "no invoice keywords, no amounts: not an invoice"


def test_no_text_is_not_an_invoice() -> None:
    kind, reason = classify(DocumentContent(kind=ContentKind.PDF, pages=[]))
    assert kind == DocumentType.NOT_INVOICE
    assert "no readable text" in reason


def test_amounts_without_cents_beside_their_currency_count(tmp_path: Path) -> None:
    """A hotel folio prints "Rs 1939": when OCR drops its "Grand Total" line, the amounts still make it
    a bill, where numbers with no currency (a year, a room) do not."""
    pdf = tmp_path / "folio.pdf"
    HTML(
        string="<p>Payment receipt for booking IBZY2087, room 4189, 2017</p><p>Please ask the hotel for the "
        "invoice.</p><p>Rate Rs 1939</p><p>Amount Rs 1939</p><p>Paid at hotel (Rs 1939)</p>"
    ).write_pdf(pdf)
    kind, reason = classify(_content(pdf))
    assert kind == DocumentType.INVOICE
    assert reason == "found 'invoice' and 3 amounts"
