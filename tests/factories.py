"""Test data factories (paperless-style): domain objects built from a few keyword arguments, with
defaults a test overrides only where it matters. Import as ``from tests.factories import ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from shared.documents.content import ContentKind, DocumentContent, Page, Word
from shared.domain import (
    DocumentRef,
    ExtractedField,
    Extraction,
    InvoiceRecord,
    InvoiceStatus,
    MailContext,
    Provenance,
    Source,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def field(
    value: str,
    *,
    confidence: float = 0.9,
    source: Source = Source.TEXT,
    page: int | None = 1,
    bbox: tuple[float, float, float, float] | None = None,
    text: str | None = None,
) -> ExtractedField:
    return ExtractedField(
        value=value, confidence=confidence, provenance=Provenance(source=source, page=page, bbox=bbox, text=text)
    )


def fields(
    values: Mapping[str, str], *, confidence: float = 0.9, source: Source = Source.TEXT, page: int | None = 1
) -> dict[str, ExtractedField]:
    """One field per value, all read the same way."""
    return {name: field(value, confidence=confidence, source=source, page=page) for name, value in values.items()}


def document(
    sha256: str,
    *,
    filename: str = "invoice.pdf",
    size: int = 1234,
    blob_name: str | None = None,
    mail: MailContext | None = None,
) -> DocumentRef:
    """A stored PDF; its blob is ``documents/<sha256>.pdf`` unless ``blob_name`` says otherwise."""
    return DocumentRef(
        sha256=sha256,
        blob_name=blob_name if blob_name is not None else f"documents/{sha256}.pdf",
        filename=filename,
        content_type="application/pdf",
        size=size,
        mail=mail if mail is not None else MailContext(),
    )


def make_record(
    invoice_id: str,
    *,
    vendor: str | None = "ACME GmbH",
    number: str | None = "INV-001",
    status: InvoiceStatus = InvoiceStatus.RECEIVED,
    created_at: datetime = T0,
) -> InvoiceRecord:
    """A received 119.00 EUR invoice whose document hash is its id; ``vendor`` or ``number`` None
    leaves that field out of the extraction."""
    values = {"total": "119.00", "currency": "EUR"}
    if vendor is not None:
        values["vendor_name"] = vendor
    if number is not None:
        values["invoice_number"] = number
    return InvoiceRecord(
        id=invoice_id,
        document=document(invoice_id),
        status=status,
        extraction=Extraction(fields=fields(values)),
        created_at=created_at,
        updated_at=created_at,
    )


CHAR_WIDTH, LINE_HEIGHT = 5.0, 10.0


def text_page(lines: list[tuple[float, float, str]], *, number: int = 1, ocr: bool = False) -> Page:
    """An A4 page (PDF points) from ``(x, top, text)`` runs: one word per space-separated piece, each
    character ``CHAR_WIDTH`` wide, so a test can say where things are printed."""
    words: list[Word] = []
    for x, top, text in lines:
        position = 0
        for piece in text.split(" "):
            if piece:
                x0 = x + position * CHAR_WIDTH
                x1 = x0 + len(piece) * CHAR_WIDTH
                words.append(Word(text=piece, x0=x0, top=top, x1=x1, bottom=top + LINE_HEIGHT))
            position += len(piece) + 1
    return Page(number=number, width=595.0, height=842.0, words=words, ocr=ocr)


def text_content(*pages: list[tuple[float, float, str]]) -> DocumentContent:
    """A PDF's text layer, one list of ``(x, top, text)`` runs per page."""
    built = [text_page(lines, number=index) for index, lines in enumerate(pages, start=1)]
    return DocumentContent(kind=ContentKind.PDF, pages=built, page_count=len(built))


def ubl_invoice(number: str, total: str, *, vendor: str = "Nordlicht Handels GmbH", currency: str = "EUR") -> bytes:
    """A minimal UBL 2.1 e-invoice (read exactly, no OCR): one line of ``total``, no tax."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>2025-02-20</cbc:IssueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>{currency}</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>{vendor}</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>Kunde AG</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="{currency}">0.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="{currency}">{total}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="{currency}">{total}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="{currency}">{total}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="{currency}">{total}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine><cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="C62">1</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="{currency}">{total}</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Consulting</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="{currency}">{total}</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
</Invoice>
""".encode()
