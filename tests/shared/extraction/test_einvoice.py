"""Exact e-invoice reading: the zugferd set scored against its labels, plus hand-written UBL."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest

from shared.domain import DocumentType, Source
from shared.evaluation import evaluate, score_document
from shared.extraction.einvoice import EInvoiceError, detect_einvoice, extract_einvoice

UBL_INVOICE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ID>INV-2024-0042</cbc:ID>
  <cbc:IssueDate>2024-02-01</cbc:IssueDate>
  <cbc:DueDate>2024-03-02</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:OrderReference><cbc:ID>PO-778</cbc:ID></cac:OrderReference>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyName><cbc:Name>Nordlicht</cbc:Name></cac:PartyName>
    <cac:PostalAddress><cbc:StreetName>Hafenstr. 5</cbc:StreetName><cbc:CityName>Kiel</cbc:CityName>
      <cbc:PostalZone>24103</cbc:PostalZone><cac:Country><cbc:IdentificationCode>DE</cbc:IdentificationCode></cac:Country>
    </cac:PostalAddress>
    <cac:PartyTaxScheme><cbc:CompanyID>DE 123 456 789</cbc:CompanyID>
      <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>Nordlicht Handels GmbH</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>Kunde AG</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
    <cac:PayeeFinancialAccount><cbc:ID>DE02 1203 0000 0000 2020 51</cbc:ID>
      <cac:FinancialInstitutionBranch><cbc:ID>BYLADEM1001</cbc:ID></cac:FinancialInstitutionBranch>
    </cac:PayeeFinancialAccount>
  </cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">38.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">200.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">200.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">238.00</cbc:TaxInclusiveAmount>
    <cbc:PrepaidAmount currencyID="EUR">38.00</cbc:PrepaidAmount>
    <cbc:PayableAmount currencyID="EUR">200.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine><cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="C62">4.000</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Kabeltrommel 25 m</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">25.00</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
  <cac:InvoiceLine><cbc:ID>2</cbc:ID>
    <cbc:InvoicedQuantity unitCode="C62">1000</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Kabelbinder</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">10.00</cbc:PriceAmount>
      <cbc:BaseQuantity unitCode="C62">100</cbc:BaseQuantity></cac:Price>
  </cac:InvoiceLine>
</Invoice>
"""

UBL_CREDIT_NOTE = b"""<?xml version="1.0" encoding="UTF-8"?>
<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>CN-7</cbc:ID>
  <cbc:IssueDate>2024-04-10</cbc:IssueDate>
  <cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>
  <cbc:DocumentCurrencyCode>SEK</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyName><cbc:Name>Fjord AB</cbc:Name></cac:PartyName>
    <cac:PartyTaxScheme><cbc:CompanyID>SE556677889901</cbc:CompanyID>
      <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyName><cbc:Name>Kund AB</cbc:Name></cac:PartyName></cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode><cbc:PaymentDueDate>2024-05-10</cbc:PaymentDueDate></cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="SEK">25.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:TaxExclusiveAmount currencyID="SEK">100.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="SEK">125.00</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="SEK">125.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:CreditNoteLine><cbc:ID>1</cbc:ID>
    <cbc:CreditedQuantity unitCode="C62">2</cbc:CreditedQuantity>
    <cbc:LineExtensionAmount currencyID="SEK">100.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Returned chairs</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="SEK">50.00</cbc:PriceAmount></cac:Price>
  </cac:CreditNoteLine>
</CreditNote>
"""


def _embedded_xml(pdf_path: Path) -> bytes:
    with pikepdf.open(pdf_path) as pdf:
        for name, spec in pdf.attachments.items():
            if name.lower() in ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml"):
                return spec.get_file().read_bytes()
    raise AssertionError(f"no embedded invoice in {pdf_path.name}")


def test_the_zugferd_set_scores_perfectly(shared_data: Path) -> None:
    """All 42 hybrid PDFs (CII D16B, ZUGFeRD 1.0, a pre-release draft) against their labels."""
    from shared.documents.loader import load_content  # the embedded XML as the product finds it

    triples = []
    for pdf_path in sorted((shared_data / "zugferd").glob("*.pdf")):
        content = load_content(pdf_path.read_bytes(), pdf_path.name, "application/pdf", ocr=None)
        assert content.xml is not None, pdf_path.name
        prediction = extract_einvoice(content.xml).to_contract(pdf_path.name)
        label = json.loads(pdf_path.with_suffix(".json").read_text(encoding="utf-8"))
        triples.append((pdf_path.stem, label, prediction))
    report = evaluate(triples)
    assert report.documents == 42
    assert report.misses == []
    assert report.macro_accuracy == 1.0
    assert report.line_items.accuracy == 1.0 and report.line_items.precision == 1.0


@pytest.mark.parametrize(
    "stem",
    [
        "ZUGFeRDv2__correct__FNFE-factur-x-examples__Avoir_FR_type381_BASIC",  # credit note: negated
        "XML-Rechnung__FX__EN16931_Rechnungskorrektur",  # corrective invoice: XML's own minus signs
        "ZUGFeRDv2__correct__intarsys__EXTENDED__zugferd_2p0_EXTENDED_Fremdwaehrung",  # two tax currencies
        "ZUGFeRDv1__correct__Intarsys__ZUGFeRD_1p0_BASIC_Rechnungskorrektur",  # 1.0, a free-text line
    ],
)
def test_special_cases_match_their_labels(shared_data: Path, stem: str) -> None:
    pdf_path = shared_data / "zugferd" / f"{stem}.pdf"
    extraction = extract_einvoice(_embedded_xml(pdf_path))
    label = json.loads(pdf_path.with_suffix(".json").read_text(encoding="utf-8"))
    score = score_document(label, extraction.to_contract(pdf_path.name), stem)
    assert score.misses == []
    assert all(f.confidence == 1.0 and f.provenance.source is Source.XML for f in extraction.fields.values())


def test_credit_note_amounts_carry_a_minus_sign(shared_data: Path) -> None:
    pdf_path = shared_data / "zugferd" / "ZUGFeRDv2__correct__FNFE-factur-x-examples__Avoir_FR_type381_BASIC.pdf"
    extraction = extract_einvoice(_embedded_xml(pdf_path))
    assert extraction.document_type is DocumentType.CREDIT_NOTE
    assert extraction.value("total") == "-233.47"
    assert [item.amount for item in extraction.line_items] == [Decimal("-20.48"), Decimal("-198.00")]
    assert extraction.line_items[0].quantity == Decimal("5")  # quantities and prices keep their sign
    assert extraction.fields["total"].provenance.text == (
        "/CrossIndustryInvoice/SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/"
        "SpecifiedTradeSettlementHeaderMonetarySummation/GrandTotalAmount"
    )


def test_ubl_invoice() -> None:
    extraction = extract_einvoice(UBL_INVOICE)
    assert extraction.document_type is DocumentType.INVOICE
    assert extraction.method is Source.XML
    assert {name: f.value for name, f in extraction.fields.items()} == {
        "invoice_number": "INV-2024-0042",
        "invoice_date": "2024-02-01",
        "due_date": "2024-03-02",
        "currency": "EUR",
        "po_number": "PO-778",
        "vendor_name": "Nordlicht Handels GmbH",  # legal name (BT-27) before the trading name
        "vendor_vat_id": "DE123456789",
        "vendor_address": "Hafenstr. 5, 24103 Kiel, DE",
        "buyer_name": "Kunde AG",
        "iban": "DE02120300000000202051",
        "bic": "BYLADEM1001",
        "subtotal": "200.00",
        "total": "238.00",
        "amount_due": "200.00",
        "tax": "38.00",
        "document_type": "invoice",
    }
    assert [item.as_label() for item in extraction.line_items] == [
        {"description": "Kabeltrommel 25 m", "quantity": "4", "unit_price": "25.00", "amount": "100.00"},
        # price per 100 pieces -> per piece
        {"description": "Kabelbinder", "quantity": "1000", "unit_price": "0.10", "amount": "100.00"},
    ]


def test_ubl_credit_note() -> None:
    extraction = extract_einvoice(UBL_CREDIT_NOTE)
    contract = extraction.to_contract("cn.xml")
    assert contract["document_type"] == "credit_note"
    fields = contract["fields"]
    assert (fields["subtotal"], fields["tax"], fields["total"], fields["amount_due"]) == (
        "-100.00",
        "-25.00",
        "-125.00",
        "-125.00",
    )
    assert fields["due_date"] == "2024-05-10"
    assert fields["vendor_name"] == "Fjord AB"
    assert fields["currency"] == "SEK"
    assert contract["line_items"] == [
        {"description": "Returned chairs", "quantity": "2", "unit_price": "50.00", "amount": "-100.00"}
    ]


def test_ubl_in_a_peppol_envelope() -> None:
    envelope = (
        b'<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader">'
        b"<StandardBusinessDocumentHeader/>" + UBL_INVOICE.split(b"?>", 1)[1] + b"</StandardBusinessDocument>"
    )
    assert extract_einvoice(envelope).value("invoice_number") == "INV-2024-0042"


def test_unsafe_or_foreign_xml_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Invoice>&b;</Invoice>'
    with pytest.raises(EInvoiceError, match="unsafe XML"):
        extract_einvoice(bomb)
    with pytest.raises(EInvoiceError, match="not an e-invoice"):
        extract_einvoice(b"<catalog><book/></catalog>")
    with pytest.raises(EInvoiceError, match="malformed XML"):
        extract_einvoice(b"<Invoice><ID>1</Invoice>")
    assert detect_einvoice(bomb) is None
    assert detect_einvoice(UBL_CREDIT_NOTE) == "ubl_credit_note"
