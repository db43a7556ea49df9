"""The layout extractor on real invoices' text layers, against their labels."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import pytest

from shared.documents.content import ContentKind, DocumentContent, Page, Word
from shared.documents.pdf_text import read_text_pages
from shared.domain.models import Extraction, Source
from shared.evaluation.scoring import field_correct
from shared.extraction.layout import extract_layout


def _text_content(path: Path) -> DocumentContent:
    pages = read_text_pages(path.read_bytes(), max_pages=20)
    return DocumentContent(kind=ContentKind.PDF, pages=pages, page_count=len(pages))


def _extract(path: Path) -> Extraction:
    return extract_layout(_text_content(path))


def _label(path: Path) -> dict[str, object]:
    return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("stem", "fields"),
    [
        (
            "coolblue1",
            [
                "vendor_name",
                "vendor_vat_id",
                "invoice_number",
                "invoice_date",
                "currency",
                "subtotal",
                "total",
                "iban",
                "bic",
            ],
        ),
        ("AzureInterior", ["vendor_name", "invoice_number", "invoice_date", "due_date", "subtotal", "tax", "total"]),
        ("QualityHosting", ["vendor_name", "vendor_vat_id", "invoice_number", "invoice_date", "currency", "total"]),
        (
            "free_fiber",
            ["vendor_name", "vendor_vat_id", "invoice_number", "invoice_date", "due_date", "subtotal", "total"],
        ),
        ("NetpresseInvoice", ["vendor_name", "invoice_number", "invoice_date", "currency", "subtotal", "total"]),
        ("FlipkartInvoice", ["invoice_number", "invoice_date", "currency", "total", "po_number"]),
    ],
)
def test_header_fields_match_labels(shared_data: Path, stem: str, fields: list[str]) -> None:
    path = shared_data / "invoice2data" / f"{stem}.pdf"
    extraction = _extract(path)
    label = _label(path)
    wrong = {
        name: (label[name], extraction.value(name))
        for name in fields
        if not field_correct(name, label[name], extraction.value(name))
    }
    assert wrong == {}


def test_totals_reconcile_and_carry_confidence_and_provenance(shared_data: Path) -> None:
    extraction = _extract(shared_data / "invoice2data" / "AzureInterior.pdf")
    assert extraction.method == Source.TEXT
    assert extraction.pages == 1
    assert (extraction.value("subtotal"), extraction.value("tax"), extraction.value("total")) == (
        "262.90",
        "16.94",
        "279.84",
    )
    total = extraction.fields["total"]
    assert total.confidence >= 0.8  # labelled, parsed and reconciled
    assert total.provenance.source == Source.TEXT
    assert total.provenance.page == 1
    assert total.provenance.text == "279.84"
    x0, top, x1, bottom = total.provenance.bbox or (0, 0, 0, 0)
    assert 500 < x0 < x1 < 595 and 570 < top < bottom < 600  # "Total $ 279.84" near the bottom right


def test_guessed_fields_have_lower_confidence_than_labelled_ones(shared_data: Path) -> None:
    extraction = _extract(shared_data / "invoice2data" / "QualityHosting.pdf")
    # "Total EUR 34,73" is labelled; the subtotal is inferred (no tax printed, lines add up).
    assert extraction.value("subtotal") == extraction.value("total") == "34.73"
    assert extraction.fields["subtotal"].confidence < extraction.fields["total"].confidence


def test_line_items_from_table_with_multi_line_descriptions(shared_data: Path) -> None:
    extraction = _extract(shared_data / "invoice2data" / "AzureInterior.pdf")
    items = extraction.line_items
    assert [str(item.amount) for item in items] == ["42.00", "70.00", "0.90", "150.00"]
    assert items[0].description is not None and "Acme beeswax" in items[0].description  # second line joined
    assert items[3].quantity is not None and items[3].quantity == 15
    assert str(items[2].unit_price) == "1.00"


def test_line_items_whose_cells_are_centred_in_a_taller_row(shared_data: Path) -> None:
    """The FeRD layout: each row's number, article and description sit on the line above its amount
    (the amount cell is centred in a row two lines tall), rows 28 pt apart, the header's "Art-Nr"
    cell stacked over four lines beside the one-line column names."""
    items = _extract(shared_data / "zugferd" / "XML-Rechnung__FX__EN16931_Einfach.pdf").line_items
    got = [(item.description, item.quantity, item.unit_price, item.amount) for item in items]
    assert [(d.split()[:2] if d else d, q, p, a) for d, q, p, a in got] == [
        (["Trennblätter", "A4"], Decimal("20"), Decimal("9.9"), Decimal("198.00")),
        (["Joghurt", "Banane"], Decimal("50"), Decimal("5.5"), Decimal("275.00")),
    ]


def _words_at(x0: float, top: float, text: str, size: float = 10.0) -> list[Word]:
    """Words of one printed run starting at ``x0`` (0.5 em per character, a space between words)."""
    words, x = [], x0
    for token in text.split():
        width = 0.5 * size * len(token)
        words.append(Word(text=token, x0=x, top=top, x1=x + width, bottom=top + size))
        x += width + 0.5 * size
    return words


def test_two_line_descriptions_around_centred_numbers_and_a_stacked_header() -> None:
    """Rows whose description wraps to two lines with quantity, price and amount centred between them
    (lines overlap), rows 10 pt apart; "Unit" / "price" stacked in the header."""
    words = _words_at(450, 216, "Unit") + _words_at(62, 222, "Description")
    words += _words_at(360, 222, "Quantity") + _words_at(505, 222, "Amount") + _words_at(450, 228, "price")
    rows = [("Small Business Standard fee", "user strukan May", "3.89"), ("Quality fee", "user minar May", "5.39")]
    top = 248.0
    for first, second, price in rows:
        words += _words_at(62, top, first) + _words_at(62, top + 11.6, second)
        words += _words_at(380, top + 5.8, "1") + _words_at(450, top + 5.8, price) + _words_at(505, top + 5.8, price)
        top += 32.1
    words += _words_at(400, top + 20, "Total") + _words_at(505, top + 20, "9.28")
    page = Page(number=1, width=595, height=842, words=words)
    items = extract_layout(DocumentContent(kind=ContentKind.PDF, pages=[page], page_count=1)).line_items
    assert [(i.description, i.quantity, i.unit_price, i.amount) for i in items] == [
        ("Small Business Standard fee user strukan May", Decimal(1), Decimal("3.89"), Decimal("3.89")),
        ("Quality fee user minar May", Decimal(1), Decimal("5.39"), Decimal("5.39")),
    ]


def test_german_e_invoice_text_layer_parties_and_amounts(shared_data: Path) -> None:
    path = shared_data / "zugferd" / "XML-Rechnung__FX__EN16931_Einfach.pdf"
    extraction = _extract(path)
    label = _label(path)
    for name in (
        "vendor_name",
        "vendor_vat_id",
        "buyer_name",
        "invoice_number",
        "invoice_date",
        "subtotal",
        "tax",
        "total",
        "amount_due",
    ):
        assert field_correct(name, label[name], extraction.value(name)), name


def test_credit_note_totals_are_negative(shared_data: Path) -> None:
    path = shared_data / "zugferd" / "ZUGFeRDv2__correct__FNFE-factur-x-examples__Avoir_FR_type381_BASIC.pdf"
    extraction = _extract(path)
    assert extraction.document_type.value == "credit_note"
    total = extraction.decimal("total")
    assert total is not None and total < 0


def test_empty_document_gives_an_empty_extraction() -> None:
    extraction = extract_layout(DocumentContent(kind=ContentKind.PDF, pages=[]))
    assert extraction.fields == {}
    assert extraction.warnings == ["no text on any page"]


def test_a_skewed_scan_keeps_a_label_and_its_value_on_one_line() -> None:
    """OCR boxes are in the scan's own pixels: on a page scanned 1° askew, a label at the left and its value
    at the right edge are ~20 px apart in height, more than half a text height. Lines of a scanned page are
    formed with the skew (read from neighbouring words of one line) taken out; a text layer is left as is."""
    from shared.documents.content import Page, Word
    from shared.extraction.layout_lines import page_lines

    slope = math.tan(math.radians(1.0))
    words = []
    for row in range(12):
        y = 100 + 40 * row
        for x, text in ((100, f"Label{row}"), (160, "of"), (186, "the"), (220, "row"), (1300, f"{row},00")):
            centre = y + slope * x
            words.append(Word(text=text, x0=x, top=centre - 6, x1=x + 8 * len(text), bottom=centre + 6, confidence=0.9))
    scanned = page_lines(Page(number=1, width=1654, height=2339, words=words, ocr=True))
    assert len(scanned) == 12
    assert all(line.text.endswith(f"\t{index},00") for index, line in enumerate(scanned))
    text_layer = page_lines(Page(number=1, width=1654, height=2339, words=words, ocr=False))
    assert len(text_layer) > 12  # no skew correction for a text layer (it is never scanned askew)


def test_issuer_printed_as_a_picture_is_read_by_ocr(shared_data: Path) -> None:
    """saeco.pdf: the issuer's name, VAT id, IBAN and BIC exist only in an image on a text page; the
    real reading path (bounded child, RapidOCR in the parent) reads them, and the delivery address
    block ("Afleveradres": bosd) is not taken for the vendor."""
    from shared.pipeline import extract_document
    from shared.settings import get_settings

    path = shared_data / "invoice2data" / "saeco.pdf"
    extraction = extract_document(path.read_bytes(), path.name, "application/pdf", get_settings())
    label = _label(path)
    fields = ["vendor_name", "vendor_vat_id", "iban", "bic", "invoice_number", "total"]
    wrong = {n: (label[n], extraction.value(n)) for n in fields if not field_correct(n, label[n], extraction.value(n))}
    assert wrong == {}
    assert extraction.fields["iban"].provenance is not None
    assert extraction.fields["iban"].provenance.source is Source.OCR
