"""Exact reading of structured e-invoices: UN/CEFACT CII (ZUGFeRD 2.x, Factur-X, XRechnung CII),
ZUGFeRD 1.0 (CrossIndustryDocument) and UBL 2.x Invoice / CreditNote (XRechnung UBL, Peppol BIS).

Every value comes straight from the XML, so confidence is 1.0 and the provenance is the element's
path. Values use the formats of LABELS.md; credit notes carry a minus sign on money.
"""

from __future__ import annotations

from enum import StrEnum

from shared.domain import Extraction, Source
from shared.extraction.einvoice_cii import CII_D16B, ZUGFERD_1, read_cii
from shared.extraction.einvoice_common import EInvoiceError, Element, ExtractionBuilder, local_name, parse_xml
from shared.extraction.einvoice_ubl import read_ubl


class EInvoiceSyntax(StrEnum):
    CII = "cii"  # CrossIndustryInvoice (D16B)
    ZUGFERD_1 = "zugferd1"  # CrossIndustryDocument
    UBL_INVOICE = "ubl_invoice"
    UBL_CREDIT_NOTE = "ubl_credit_note"


_ROOTS: dict[str, EInvoiceSyntax] = {
    "CrossIndustryInvoice": EInvoiceSyntax.CII,
    "CrossIndustryDocument": EInvoiceSyntax.ZUGFERD_1,
    "Invoice": EInvoiceSyntax.UBL_INVOICE,
    "CreditNote": EInvoiceSyntax.UBL_CREDIT_NOTE,
}


def _syntax(element: Element) -> EInvoiceSyntax | None:
    """By structure first: pre-release ZUGFeRD drafts use an <Invoice> root with CII content."""
    children = {local_name(child) for child in element}
    if "HeaderExchangedDocument" in children:
        return EInvoiceSyntax.ZUGFERD_1
    if "ExchangedDocument" in children and "SupplyChainTradeTransaction" in children:
        return EInvoiceSyntax.CII
    return _ROOTS.get(local_name(element))


def invoice_element(root: Element) -> Element | None:
    """The invoice element itself: the root, or the document inside a Peppol SBD envelope."""
    if _syntax(root) is not None:
        return root
    if local_name(root) == "StandardBusinessDocument":
        return next((child for child in root if _syntax(child) is not None), None)
    return None


def syntax_of(root: Element) -> EInvoiceSyntax | None:
    """Which e-invoice syntax a parsed document is (envelope unwrapped), or None for any other XML."""
    element = invoice_element(root)
    return _syntax(element) if element is not None else None


def detect_einvoice(xml: bytes) -> EInvoiceSyntax | None:
    """The syntax of ``xml`` if it is an e-invoice; None for other or unreadable XML."""
    try:
        return syntax_of(parse_xml(xml))
    except EInvoiceError:
        return None


def extract_einvoice(xml: bytes) -> Extraction:
    """Read an e-invoice exactly. Raises EInvoiceError for unsafe, malformed or non-invoice XML."""
    document = parse_xml(xml)
    root = invoice_element(document)
    if root is None:
        raise EInvoiceError(f"not an e-invoice: root element <{local_name(document)}>")
    syntax = _syntax(root)
    assert syntax is not None  # invoice_element only returns elements with a syntax
    out = ExtractionBuilder(local_name(root))
    if syntax is EInvoiceSyntax.CII:
        document_type = read_cii(root, CII_D16B, out)
    elif syntax is EInvoiceSyntax.ZUGFERD_1:
        document_type = read_cii(root, ZUGFERD_1, out)
    else:
        document_type = read_ubl(root, out, credit_note_root=syntax is EInvoiceSyntax.UBL_CREDIT_NOTE)
    out.set("document_type", document_type.value, "TypeCode")
    return Extraction(
        document_type=document_type,
        classification_reason=f"e-invoice XML ({syntax.value})",
        fields=out.fields,
        line_items=out.line_items,
        method=Source.XML,
    )


__all__ = ["EInvoiceError", "EInvoiceSyntax", "detect_einvoice", "extract_einvoice", "invoice_element", "syntax_of"]
