"""UN/CEFACT Cross Industry Invoice: CII D16B (ZUGFeRD 2.x, Factur-X, XRechnung CII; every profile)
and its predecessor, ZUGFeRD 1.0's CrossIndustryDocument. Same business terms, renamed containers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.domain import DocumentType, LineItem
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


@dataclass(frozen=True)
class CiiPaths:
    document: str
    transaction: str
    agreement: str  # relative to transaction
    settlement: str  # relative to transaction
    summation: str  # relative to settlement
    po_id: str  # relative to BuyerOrderReferencedDocument
    line_agreement: str
    line_delivery: str
    line_summation: str


CII_D16B = CiiPaths(
    document="ExchangedDocument",
    transaction="SupplyChainTradeTransaction",
    agreement="ApplicableHeaderTradeAgreement",
    settlement="ApplicableHeaderTradeSettlement",
    summation="SpecifiedTradeSettlementHeaderMonetarySummation",
    po_id="IssuerAssignedID",
    line_agreement="SpecifiedLineTradeAgreement",
    line_delivery="SpecifiedLineTradeDelivery",
    line_summation="SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation",
)
ZUGFERD_1 = CiiPaths(
    document="HeaderExchangedDocument",
    transaction="SpecifiedSupplyChainTradeTransaction",
    agreement="ApplicableSupplyChainTradeAgreement",
    settlement="ApplicableSupplyChainTradeSettlement",
    summation="SpecifiedTradeSettlementMonetarySummation",
    po_id="ID",
    line_agreement="SpecifiedSupplyChainTradeAgreement",
    line_delivery="SpecifiedSupplyChainTradeDelivery",
    line_summation="SpecifiedSupplyChainTradeSettlement/SpecifiedTradeSettlementMonetarySummation",
)


def read_cii(root: Element, paths: CiiPaths, out: ExtractionBuilder) -> DocumentType:
    """Fill ``out`` from a CII document; returns the document type (credit notes are negated)."""
    doc = paths.document
    type_code = text_of(find(root, f"{doc}/TypeCode"))
    document_type = document_type_for(type_code)
    sign = Decimal(-1) if document_type is DocumentType.CREDIT_NOTE else Decimal(1)

    out.set("invoice_number", text_of(find(root, f"{doc}/ID")), f"{doc}/ID")
    out.set("invoice_date", _date(find(root, f"{doc}/IssueDateTime")), f"{doc}/IssueDateTime")

    tx = paths.transaction
    agreement = f"{tx}/{paths.agreement}"
    _read_party(root, f"{agreement}/SellerTradeParty", out, seller=True)
    _read_party(root, f"{agreement}/BuyerTradeParty", out, seller=False)
    po_path = f"{agreement}/BuyerOrderReferencedDocument/{paths.po_id}"
    out.set("po_number", text_of(find(root, po_path)), po_path)

    settlement = f"{tx}/{paths.settlement}"
    currency = text_of(find(root, f"{settlement}/InvoiceCurrencyCode"))
    out.set("currency", currency.upper() if currency else None, f"{settlement}/InvoiceCurrencyCode")
    _read_payment(root, settlement, out)
    for terms in find_all(root, f"{settlement}/SpecifiedTradePaymentTerms"):
        due = find(terms, "DueDateDateTime")
        out.set("due_date", _date(due), f"{settlement}/SpecifiedTradePaymentTerms/DueDateDateTime")

    summation = f"{settlement}/{paths.summation}"
    for name, element in (
        ("subtotal", "TaxBasisTotalAmount"),
        ("total", "GrandTotalAmount"),
        ("amount_due", "DuePayableAmount"),
    ):
        value = to_decimal(text_of(find(root, f"{summation}/{element}")))
        out.set(name, _signed_total(value, sign), f"{summation}/{element}")
    tax = _amount_in_currency(list(find_all(root, f"{summation}/TaxTotalAmount")), currency)
    out.set("tax", _signed_total(tax, sign), f"{summation}/TaxTotalAmount")

    for index, line in enumerate(find_all(root, f"{tx}/IncludedSupplyChainTradeLineItem"), start=1):
        item = _read_line(line, paths, sign, out, index)
        if item is not None:
            out.line_items.append(item)
    return document_type


def _date(element: Element | None) -> str | None:
    """A udt:DateTimeString child, or (pre-release ZUGFeRD) the date as the element's own text."""
    if element is None:
        return None
    inner = find(element, "DateTimeString")
    if inner is not None:
        element = inner
    return parse_date(element.text, element.get("format"))


def _signed_total(value: Decimal | None, sign: Decimal) -> str | None:
    """Credit notes print their totals negative whatever sign the XML uses."""
    if value is None:
        return None
    return format_amount(-abs(value) if sign < 0 else value)


def _amount_in_currency(elements: list[Element], currency: str | None) -> Decimal | None:
    """TaxTotalAmount may repeat (invoice currency and tax currency): take the invoice currency's."""
    for element in elements:
        if currency and element.get("currencyID", "").upper() == currency.upper():
            return to_decimal(text_of(element))
    for element in elements:
        if not element.get("currencyID"):
            return to_decimal(text_of(element))
    return to_decimal(text_of(elements[0])) if elements else None


def _read_party(root: Element, path: str, out: ExtractionBuilder, *, seller: bool) -> None:
    party = find(root, path)
    if party is None:
        return
    prefix = "vendor" if seller else "buyer"
    out.set(f"{prefix}_name", text_of(find(party, "Name")), f"{path}/Name")
    if not seller:
        return
    for registration in find_all(party, "SpecifiedTaxRegistration/ID"):
        if (registration.get("schemeID") or "").upper() == "VA":
            vat_path = f"{path}/SpecifiedTaxRegistration/ID[@schemeID='VA']"
            out.set("vendor_vat_id", normalize_vat_id(text_of(registration)), vat_path)
    address = find(party, "PostalTradeAddress")
    if address is not None:
        out.set("vendor_address", _address_line(address), f"{path}/PostalTradeAddress")


def _address_line(address: Element) -> str | None:
    street = [text_of(find(address, name)) for name in ("LineOne", "LineTwo", "LineThree")]
    city = " ".join(t for t in (text_of(find(address, "PostcodeCode")), text_of(find(address, "CityName"))) if t)
    parts = [p for p in [*street, city, text_of(find(address, "CountryID"))] if p]
    return ", ".join(parts) or None


def _read_payment(root: Element, settlement: str, out: ExtractionBuilder) -> None:
    """Payee IBAN/BIC of the first payment means that has them (a debtor account is not the payee's)."""
    means_path = f"{settlement}/SpecifiedTradeSettlementPaymentMeans"
    for means in find_all(root, means_path):
        iban = normalize_iban(text_of(find(means, "PayeePartyCreditorFinancialAccount/IBANID")))
        out.set("iban", iban, f"{means_path}/PayeePartyCreditorFinancialAccount/IBANID")
        bic = normalize_bic(text_of(find(means, "PayeeSpecifiedCreditorFinancialInstitution/BICID")))
        out.set("bic", bic, f"{means_path}/PayeeSpecifiedCreditorFinancialInstitution/BICID")


def _read_line(line: Element, paths: CiiPaths, sign: Decimal, out: ExtractionBuilder, index: int) -> LineItem | None:
    name = text_of(find(line, "SpecifiedTradeProduct/Name"))
    quantity = to_decimal(text_of(find(line, f"{paths.line_delivery}/BilledQuantity")))
    amount = to_decimal(text_of(find(line, f"{paths.line_summation}/LineTotalAmount")))
    if name is None and quantity is None and amount is None:
        return None  # a free-text line (note), not a billed item
    net_price = find(line, f"{paths.line_agreement}/NetPriceProductTradePrice")
    unit_price = _unit_price(net_price)
    return LineItem(
        description=name,
        quantity=Decimal(format_quantity(quantity)) if quantity is not None else None,
        unit_price=Decimal(format_amount(unit_price)) if unit_price is not None else None,
        amount=Decimal(format_amount(sign * amount)) if amount is not None else None,
        provenance=out.provenance(f"{paths.transaction}/IncludedSupplyChainTradeLineItem[{index}]"),
    )


def _unit_price(net_price: Element | None) -> Decimal | None:
    """Net price per one unit: ChargeAmount is the price of BasisQuantity units (default 1)."""
    charge = to_decimal(text_of(find(net_price, "ChargeAmount")))
    if charge is None:
        return None
    basis = to_decimal(text_of(find(net_price, "BasisQuantity")))
    if basis is not None and basis > 0 and basis != 1:
        return (charge / basis).quantize(Decimal("0.0001")).normalize()
    return charge
