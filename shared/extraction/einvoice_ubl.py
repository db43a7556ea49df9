"""OASIS UBL 2.x Invoice and CreditNote (XRechnung UBL, Peppol BIS Billing 3.0)."""

from __future__ import annotations

from decimal import Decimal

from shared.domain import DocumentType, LineItem, Provenance
from shared.extraction.einvoice_common import (
    Element,
    ExtractionBuilder,
    document_type_for,
    find,
    find_all,
    format_amount,
    format_quantity,
    normalize_bic,
    normalize_iban,
    normalize_vat_id,
    parse_date,
    text_of,
    to_decimal,
)


def read_ubl(root: Element, out: ExtractionBuilder, *, credit_note_root: bool) -> DocumentType:
    """Fill ``out`` from a UBL Invoice or CreditNote; returns the document type."""
    type_element = "CreditNoteTypeCode" if credit_note_root else "InvoiceTypeCode"
    type_code = text_of(find(root, type_element))
    document_type = DocumentType.CREDIT_NOTE if credit_note_root else document_type_for(type_code)
    sign = Decimal(-1) if document_type is DocumentType.CREDIT_NOTE else Decimal(1)

    out.set("invoice_number", text_of(find(root, "ID")), "ID")
    out.set("invoice_date", parse_date(text_of(find(root, "IssueDate"))), "IssueDate")
    out.set("due_date", parse_date(text_of(find(root, "DueDate"))), "DueDate")
    for means in find_all(root, "PaymentMeans"):
        out.set("due_date", parse_date(text_of(find(means, "PaymentDueDate"))), "PaymentMeans/PaymentDueDate")
    currency = text_of(find(root, "DocumentCurrencyCode"))
    out.set("currency", currency.upper() if currency else None, "DocumentCurrencyCode")
    out.set("po_number", text_of(find(root, "OrderReference/ID")), "OrderReference/ID")

    _read_party(root, "AccountingSupplierParty/Party", out, seller=True)
    _read_party(root, "AccountingCustomerParty/Party", out, seller=False)
    _read_payment(root, out)

    totals = "LegalMonetaryTotal"
    for name, element in (
        ("subtotal", "TaxExclusiveAmount"),
        ("total", "TaxInclusiveAmount"),
        ("amount_due", "PayableAmount"),
    ):
        value = to_decimal(text_of(find(root, f"{totals}/{element}")))
        out.set(name, _signed_total(value, sign), f"{totals}/{element}")
    tax = _tax_total(root, currency)
    out.set("tax", _signed_total(tax, sign), "TaxTotal/TaxAmount")

    line_name = "CreditNoteLine" if credit_note_root else "InvoiceLine"
    quantity_name = "CreditedQuantity" if credit_note_root else "InvoicedQuantity"
    for index, line in enumerate(find_all(root, line_name), start=1):
        out.line_items.append(_read_line(line, quantity_name, sign, out.provenance(f"{line_name}[{index}]")))
    return document_type


def _signed_total(value: Decimal | None, sign: Decimal) -> str | None:
    if value is None:
        return None
    return format_amount(-abs(value) if sign < 0 else value)


def _tax_total(root: Element, currency: str | None) -> Decimal | None:
    """TaxTotal repeats when the tax currency differs (BT-111): take the document currency's."""
    amounts = [a for total in find_all(root, "TaxTotal") if (a := find(total, "TaxAmount")) is not None]
    for amount in amounts:
        if currency and (amount.get("currencyID") or "").upper() == currency.upper():
            return to_decimal(text_of(amount))
    return to_decimal(text_of(amounts[0])) if amounts else None


def _read_party(root: Element, path: str, out: ExtractionBuilder, *, seller: bool) -> None:
    party = find(root, path)
    if party is None:
        return
    prefix = "vendor" if seller else "buyer"
    # EN 16931 BT-27/BT-44 (legal name) first, the trading name otherwise.
    for sub in ("PartyLegalEntity/RegistrationName", "PartyName/Name"):
        out.set(f"{prefix}_name", text_of(find(party, sub)), f"{path}/{sub}")
    if not seller:
        return
    for scheme in find_all(party, "PartyTaxScheme"):
        if (text_of(find(scheme, "TaxScheme/ID")) or "").upper() == "VAT":
            vat_path = f"{path}/PartyTaxScheme/CompanyID"
            out.set("vendor_vat_id", normalize_vat_id(text_of(find(scheme, "CompanyID"))), vat_path)
    address = find(party, "PostalAddress")
    if address is not None:
        out.set("vendor_address", _address_line(address), f"{path}/PostalAddress")


def _address_line(address: Element) -> str | None:
    street = [text_of(find(address, name)) for name in ("StreetName", "AdditionalStreetName")]
    street.append(text_of(find(address, "AddressLine/Line")))
    city = " ".join(t for t in (text_of(find(address, "PostalZone")), text_of(find(address, "CityName"))) if t)
    country = text_of(find(address, "Country/IdentificationCode"))
    parts = [p for p in [*street, city, country] if p]
    return ", ".join(parts) or None


def _read_payment(root: Element, out: ExtractionBuilder) -> None:
    for means in find_all(root, "PaymentMeans"):
        account = find(means, "PayeeFinancialAccount")
        if account is None:
            continue
        out.set("iban", normalize_iban(text_of(find(account, "ID"))), "PaymentMeans/PayeeFinancialAccount/ID")
        for sub in ("FinancialInstitutionBranch/ID", "FinancialInstitutionBranch/FinancialInstitution/ID"):
            bic = normalize_bic(text_of(find(account, sub)))
            out.set("bic", bic, f"PaymentMeans/PayeeFinancialAccount/{sub}")


def _read_line(line: Element, quantity_name: str, sign: Decimal, provenance: Provenance) -> LineItem:
    name = text_of(find(line, "Item/Name")) or text_of(find(line, "Item/Description"))
    quantity = to_decimal(text_of(find(line, quantity_name)))
    amount = to_decimal(text_of(find(line, "LineExtensionAmount")))
    price = to_decimal(text_of(find(line, "Price/PriceAmount")))
    basis = to_decimal(text_of(find(line, "Price/BaseQuantity")))
    if price is not None and basis is not None and basis > 0 and basis != 1:
        price = (price / basis).quantize(Decimal("0.0001")).normalize()
    return LineItem(
        description=name,
        quantity=Decimal(format_quantity(quantity)) if quantity is not None else None,
        unit_price=Decimal(format_amount(price)) if price is not None else None,
        amount=Decimal(format_amount(sign * amount)) if amount is not None else None,
        provenance=provenance,
    )
