"""Invoices rendered to PDF (WeasyPrint) from a label dict in the LABELS.md shape.

Used where a case needs content the dev PDFs do not have (another IBAN, number, date, amount or line):
the document is *re-rendered* from its labels with the change, in one plain A4 layout with the usual
printed labels ("Invoice number", "IBAN", "Total" ...), and read back through Papyr's text path like
any born-digital PDF. The clean dev PDFs themselves are used unchanged as the clean set.
"""

from __future__ import annotations

import hashlib
import html
from decimal import Decimal
from pathlib import Path
from typing import Any

_STYLE = """
@page { size: A4; margin: 18mm; }
body { font-family: sans-serif; font-size: 10pt; }
h1 { font-size: 16pt; margin: 0 0 4mm 0; }
table { border-collapse: collapse; }
.meta td { padding: 1mm 6mm 1mm 0; }
.lines { width: 100%; margin-top: 8mm; }
.lines th, .lines td { border-bottom: 0.3pt solid #999; padding: 1.5mm 2mm; text-align: left; }
.lines .n { text-align: right; }
.totals { margin-top: 6mm; margin-left: auto; }
.totals td { padding: 1mm 0 1mm 8mm; text-align: right; }
.bank { margin-top: 10mm; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _money(value: str | None) -> str:
    return f"{Decimal(value):,.2f}" if value not in (None, "") else ""


def invoice_html(labels: dict[str, Any], *, vendor_address: str = "Hauptstraße 1, 10115 Berlin") -> str:
    currency = labels.get("currency", "EUR")
    meta = [
        ("Invoice number", labels.get("invoice_number")),
        ("Invoice date", labels.get("invoice_date")),
        ("Due date", labels.get("due_date")),
        ("PO number", labels.get("po_number")),
        ("Customer", labels.get("buyer_name")),
    ]
    rows = "".join(f"<tr><td>{_e(k)}:</td><td>{_e(v)}</td></tr>" for k, v in meta if v)
    lines = "".join(
        f"<tr><td>{_e(item.get('description', ''))}</td><td class=n>{_e(item.get('quantity', ''))}</td>"
        f"<td class=n>{_money(item.get('unit_price'))}</td><td class=n>{_money(item.get('amount'))}</td></tr>"
        for item in labels.get("line_items", [])
    )
    line_table = (
        "<table class=lines><tr><th>Description</th><th class=n>Quantity</th><th class=n>Unit price</th>"
        f"<th class=n>Amount</th></tr>{lines}</table>"
        if lines
        else ""
    )
    totals = [("Subtotal", labels.get("subtotal")), ("VAT", labels.get("tax")), ("Total", labels.get("total"))]
    total_rows = "".join(
        f"<tr><td>{k}</td><td>{_money(v)} {_e(currency)}</td></tr>" for k, v in totals if v not in (None, "")
    )
    bank = []
    if labels.get("iban"):
        bank.append(f"IBAN: {_e(labels['iban'])}")
    if labels.get("bic"):
        bank.append(f"BIC: {_e(labels['bic'])}")
    vat = f"<br>VAT ID: {_e(labels['vendor_vat_id'])}" if labels.get("vendor_vat_id") else ""
    return (
        f"<html><head><meta charset=utf-8><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(labels.get('vendor_name', ''))}</h1><p>{_e(vendor_address)}{vat}</p>"
        f"<h2>Invoice</h2><table class=meta>{rows}</table>{line_table}"
        f"<table class=totals>{total_rows}</table>"
        f"<p class=bank>Please pay to {'<br>'.join(bank) if bank else 'the account you have on file'}.</p>"
        "</body></html>"
    )


RENDERS = Path(__file__).resolve().parents[1] / "out" / "fraud" / "renders"


def render_pdf(labels: dict[str, Any]) -> bytes:
    """The PDF, kept by the hash of its HTML: WeasyPrint stamps the time into each file, and the same
    case must be the same bytes on every run (the suite caches parsed documents by content hash)."""
    from weasyprint import HTML

    page = invoice_html(labels)
    cached = RENDERS / f"{hashlib.sha256(page.encode()).hexdigest()}.pdf"
    if cached.exists():
        return cached.read_bytes()
    pdf: bytes = HTML(string=page).write_pdf()
    RENDERS.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(pdf)
    return pdf
