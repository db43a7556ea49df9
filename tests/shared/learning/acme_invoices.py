"""Invoices of one made-up vendor with a fixed layout, as a PDF text layer, and the records a clerk
corrected: what the learning tests teach and apply. ``rows`` line items push the totals down."""

from __future__ import annotations

from factories import document, field, text_content

from shared.documents.content import DocumentContent
from shared.domain import Correction, Extraction, InvoiceRecord, MailContext, Source

ACME_IBAN = "DE89370400440532013000"
OTHER_IBAN = "GB82WEST12345698765432"
SENDER = "billing@acme-widgets.example"


def acme_invoice(
    number: str = "AW-10023",
    issued: str = "05.03.2024",
    total: str = "1.234,56",
    *,
    rows: int = 2,
    iban: str | None = "DE89 3704 0044 0532 0130 00",
    name: str = "ACME Widgets GmbH",
    vat_id: str = "DE811569869",
) -> DocumentContent:
    lines: list[tuple[float, float, str]] = [
        (50, 40, name),
        (50, 55, "Hafenstrasse 12, 20457 Hamburg"),
        (50, 70, f"USt-IdNr. {vat_id}"),
        (50, 150, "Bill to: Contoso Trading Ltd"),
        (350, 150, "Ref code:"),
        (420, 150, number),
        (350, 165, "Issued:"),
        (420, 165, issued),
        (50, 220, "Description"),
        (450, 220, "Amount"),
    ]
    for row in range(rows):
        lines += [(50, 240 + 15 * row, f"Widget type {row + 1}"), (450, 240 + 15 * row, "10,00")]
    bottom = 240 + 15 * rows + 30
    lines += [(350, bottom, "Amount payable"), (450, bottom, total)]
    if iban:
        lines.append((50, 780, f"IBAN {iban}"))
    return text_content(lines)


def extraction(values: dict[str, str], *, confidence: float = 0.9) -> Extraction:
    return Extraction(
        method=Source.TEXT, fields={name: field(value, confidence=confidence) for name, value in values.items()}
    )


def corrected_record(invoice_id: str, values: dict[str, str], corrections: dict[str, str]) -> InvoiceRecord:
    """A record as the dashboard leaves it: extracted ``values``, then each correction applied."""
    mail = MailContext(sender=SENDER)
    record = InvoiceRecord(id=invoice_id, document=document(invoice_id, mail=mail), extraction=extraction(values))
    assert record.extraction is not None
    for name, new in corrections.items():
        old = record.extraction.value(name)
        record.corrections.append(Correction(field=name, old_value=old, new_value=new, by="clerk"))
        record.extraction.fields[name] = field(new, confidence=1.0, source=Source.USER, page=None)
    return record
