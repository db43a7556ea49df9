"""Is this a bill? invoice / credit note / receipt / not an invoice, with a reason a person can read.

An e-invoice decides by its own type code. Otherwise keywords in six languages are weighed with
what bills carry: amounts, a total, dates, an invoice number, VAT ids, an IBAN.
"""

from __future__ import annotations

import re

from defusedxml import ElementTree

from shared.documents.content import ContentKind, DocumentContent
from shared.domain.models import DocumentType
from shared.extraction.layout_lines import fold
from shared.extraction.normalize import find_dates, is_whole_amount

_CREDIT_CODES = {"381", "396", "532", "261", "262", "81", "83"}


def _terms(*words: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z])(?:" + "|".join(words) + r")(?![a-z])")


_INVOICE = _terms(
    r"invoices?",
    r"tax\sinvoice",
    r"[a-z]*-?rechnungs?(?:-?[a-z]+)?",
    r"facture",
    r"factuur",
    r"factura",
    r"fattura",
    r"handelsrechnung",
    r"invoice\snumber",
    r"bill\sto",
    r"rechnungskorrektur",
    r"nota\sfiscal",
)
_CREDIT = _terms(
    r"credit\s?note",
    r"credit\smemo",
    r"gutschrift",
    r"gutschriftsanzeige",
    r"avoir",
    r"facture\sd'avoir",
    r"creditnota",
    r"creditfactuur",
    r"nota\sde\scredito",
    r"nota\sdi\scredito",
    r"abono",
)
_RECEIPT = _terms(
    r"receipt",
    r"cash\sbill",
    r"cash",
    r"change",
    r"tendered",
    r"cashier",
    r"kassenbon",
    r"kassenbeleg",
    r"quittung",
    r"bon",
    r"ticket\sde\scaisse",
    r"kassabon",
    r"recibo",
    r"ticket",
    r"scontrino",
    r"ricevuta",
    r"thank\syou",
    r"rounding",
    r"member",
    r"counter",
    r"table",
    r"pax",
)
_TOTAL = _terms(
    r"total",
    r"grand\stotal",
    r"summe",
    r"gesamtbetrag",
    r"rechnungsbetrag",
    r"totaal",
    r"montant",
    r"ttc",
    r"importe",
    r"totale",
    r"amount\sdue",
    r"zahlbetrag",
    r"te\sbetalen",
)
_INVOICE_ONLY = _terms(
    r"due\sdate",
    r"payment\sterms",
    r"iban",
    r"bill\sto",
    r"invoice\sdate",
    r"rechnungsdatum",
    r"faellig",
    r"falligkeit",
    r"zahlungsziel",
    r"echeance",
    r"vervaldatum",
    r"vencimiento",
    r"scadenza",
    r"ust-?idnr",
    r"tva\sintracom",
    r"btw-?nummer",
    r"purchase\sorder",
    r"bestellnummer",
    r"customer\sno",
)
_AMOUNT = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,' ]\d{3})*[.,]\d{2}(?![\d])")
_VAT_ID = re.compile(r"(?<![A-Z])(?:DE|AT|FR|NL|BE|IT|ES|GB|LU|PL)\s?\d[\d\s]{7,12}")


def classify(content: DocumentContent) -> tuple[DocumentType, str]:
    """The document's type and a plain-language reason for it."""
    if content.xml:
        decided = _classify_xml(content.xml)
        if decided:
            return decided
    text = content.text
    folded = fold(text)
    invoice_words = sorted({m.group(0) for m in _INVOICE.finditer(folded)})
    credit_words = sorted({m.group(0) for m in _CREDIT.finditer(folded)})
    receipt_words = sorted({m.group(0) for m in _RECEIPT.finditer(folded)})
    invoice_only = sorted({m.group(0) for m in _INVOICE_ONLY.finditer(folded)})
    amounts = len(_AMOUNT.findall(text)) + _whole_amounts(text)
    has_total = bool(_TOTAL.search(folded))
    has_date = bool(find_dates(text[:20000]))
    has_vat = bool(_VAT_ID.search(text))

    if not text.strip():
        return DocumentType.NOT_INVOICE, "no readable text: not an invoice"
    if amounts == 0 and not has_total:
        what = f"found {_quote(invoice_words)} but " if invoice_words else "no invoice keywords, "
        return DocumentType.NOT_INVOICE, f"{what}no amounts: not an invoice"

    money = _describe(amounts, has_total, has_date, has_vat)
    if credit_words and (amounts or has_total):
        return DocumentType.CREDIT_NOTE, f"found {_quote(credit_words)} and {money}"

    # A tall narrow photo is a till slip even when it says "TAX INVOICE" (as many do).
    receipt_score = len(receipt_words) + (2 if _looks_like_till_slip(content) else 0)
    invoice_score = (2 if invoice_words else 0) + len(invoice_only)
    if receipt_score >= 2 and receipt_score > invoice_score:
        return DocumentType.RECEIPT, f"found {_quote(receipt_words)} and {money}: a receipt"
    if invoice_words and (has_total or amounts >= 2):
        return DocumentType.INVOICE, f"found {_quote(invoice_words)} and {money}"
    if invoice_only and has_total and amounts:
        return DocumentType.INVOICE, f"found {_quote(invoice_only)} and {money}"
    if receipt_words and has_total and amounts:
        return DocumentType.RECEIPT, f"found {_quote(receipt_words)} and {money}: a receipt"
    if invoice_words:
        return DocumentType.NOT_INVOICE, f"found {_quote(invoice_words)} but no total: not an invoice"
    return DocumentType.NOT_INVOICE, f"no invoice keywords ({money}): not an invoice"


def _whole_amounts(text: str) -> int:
    """Whole numbers printed beside their currency ("Rs 1939", "12.500 EUR"): hotel folios and many
    Indian bills print no cents."""
    words = text.split()
    return sum(
        any(is_whole_amount(word, words[j]) for j in (i - 1, i + 1) if 0 <= j < len(words))
        for i, word in enumerate(words)
    )


def _classify_xml(xml: bytes) -> tuple[DocumentType, str] | None:
    try:
        root = ElementTree.fromstring(xml)
    except Exception:  # malformed or forbidden (entities): decide from the text instead
        return None
    local = root.tag.rsplit("}", 1)[-1]
    if local == "CreditNote":
        return DocumentType.CREDIT_NOTE, "UBL CreditNote e-invoice"
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] in {"TypeCode", "InvoiceTypeCode"} and element.text:
            code = element.text.strip()
            if code in _CREDIT_CODES:
                return DocumentType.CREDIT_NOTE, f"e-invoice with type code {code} (credit note)"
            return DocumentType.INVOICE, f"e-invoice ({local}) with type code {code}"
    if local in {"Invoice", "CrossIndustryInvoice", "CrossIndustryDocument"}:
        return DocumentType.INVOICE, f"e-invoice ({local})"
    return None


def _looks_like_till_slip(content: DocumentContent) -> bool:
    """A photo or scan much taller than wide: the shape of a till receipt."""
    if content.kind != ContentKind.IMAGE or not content.pages:
        return False
    page = content.pages[0]
    return page.width > 0 and page.height / page.width > 1.6


def _describe(amounts: int, has_total: bool, has_date: bool, has_vat: bool) -> str:
    parts = [f"{amounts} amount{'s' if amounts != 1 else ''}"]
    if has_total:
        parts.append("a total")
    if has_date:
        parts.append("a date")
    if has_vat:
        parts.append("a VAT id")
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def _quote(words: list[str]) -> str:
    return ", ".join(f"'{word}'" for word in words[:3])
