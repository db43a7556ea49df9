"""Layout extraction rules on small synthetic pages: receipts' header block and till arithmetic, totals
tables read down to their sum row, tax printed per rate, payment deadlines in words, inferred signs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.documents.content import ContentKind, DocumentContent, Page, Word
from shared.domain.models import DocumentType, ExtractedField, Extraction
from shared.extraction.layout import extract_layout

Row = tuple[float, list[tuple[float, str]]]  # (top, [(x0, text), ...]); a text's words are spread 6 pt per char


def _page(rows: list[Row], *, width: float = 600, height: float = 840, ocr: bool = False) -> Page:
    words: list[Word] = []
    for top, cells in rows:
        for x0, text in cells:
            x = x0
            for token in text.split():
                words.append(Word(text=token, x0=x, top=top, x1=x + 6 * len(token), bottom=top + 10))
                x += 6 * len(token) + 4
    return Page(number=1, width=width, height=height, words=words, ocr=ocr)


def _extract(rows: list[Row], **page: float | bool) -> Extraction:
    kind = ContentKind.IMAGE if page.get("ocr") else ContentKind.PDF
    return extract_layout(DocumentContent(kind=kind, pages=[_page(rows, **page)], page_count=1))  # type: ignore[arg-type]


def _receipt() -> list[Row]:
    return [
        (20, [(20, "KEDAI MAJU JAYA SDN BHD")]),
        (35, [(20, "(123456-X)")]),
        (50, [(20, "GST REG NO : 001234567890")]),
        (65, [(20, "NO. 5, JALAN BUNGA 3/2,")]),
        (80, [(20, "43000 KAJANG, SELANGOR")]),
        (95, [(20, "TEL: 03-8736 1234")]),
        (120, [(20, "CASH RECEIPT")]),
        (140, [(20, "Cashier: ALI")]),
        (160, [(20, "MILO 1KG"), (200, "1"), (260, "17.90")]),
        (175, [(20, "ROTI"), (200, "2"), (260, "3.00")]),
        (200, [(20, "SUB TOTAL"), (260, "20.90")]),
        (215, [(20, "ROUNDING ADJ"), (260, "0.00")]),
        (230, [(20, "NET TOTAL"), (260, "20.90")]),
        (245, [(20, "CASH"), (260, "50.00")]),
        (260, [(20, "CHANGE"), (260, "29.10")]),
        (300, [(20, "THANK YOU, PLEASE COME AGAIN")]),
        (320, [(20, "21/03/2018 14:05:11")]),
    ]


def test_receipt_header_block_gives_the_merchant_and_its_address() -> None:
    extraction = _extract(_receipt(), width=300, height=600, ocr=True)
    assert extraction.document_type is DocumentType.RECEIPT or extraction.fields["vendor_name"]
    fields = extraction.fields
    assert fields["vendor_name"].value == "KEDAI MAJU JAYA SDN BHD"
    assert fields["vendor_address"].value == "NO. 5, JALAN BUNGA 3/2 43000 KAJANG, SELANGOR"
    assert fields["invoice_date"].value == "2018-03-21"  # the unlabelled print time at the foot
    assert fields["invoice_date"].confidence < 0.9


def test_a_shops_trade_name_gives_way_to_the_legal_name_under_it() -> None:
    rows = [(20, [(20, "Win Soon Cafe")]), (35, [(20, "Pacific Asian Food Delights S/B")]), *_receipt()[3:]]
    fields = _receipt_fields(rows)
    assert fields["vendor_name"].value == "Pacific Asian Food Delights S/B"  # who bills, not the sign
    assert fields["vendor_address"].value.startswith("NO. 5, JALAN BUNGA 3/2")


def test_a_code_printed_above_the_shop_name_is_not_its_name() -> None:
    rows = [(5, [(20, "AOS080")]), (20, [(20, "Royaltea")]), (35, [(20, "(1199794-K)")]), *_receipt()[3:]]
    assert _receipt_fields(rows)["vendor_name"].value == "Royaltea"


def test_the_owner_printed_under_the_shop_is_not_where_its_header_starts() -> None:
    rows = [
        (20, [(20, "SANYU STATIONERY SHOP")]),
        (35, [(20, "NO. 31G&33G, JALAN SETIA INDAH X")]),
        (50, [(20, "40170 SETIA ALAM")]),
        (65, [(20, "Tel: +603-3362 4137")]),
        (80, [(20, "TAX INVOICE")]),
        (95, [(20, "Owned By :")]),
        (110, [(20, "SANYU SUPPLY SDN BHD (1135772-K)")]),
        *_receipt()[6:],
    ]
    fields = _receipt_fields(rows)
    assert fields["vendor_name"].value == "SANYU STATIONERY SHOP"
    assert fields["vendor_address"].value == "NO. 31G&33G, JALAN SETIA INDAH X 40170 SETIA ALAM"


def test_receipt_total_is_what_tendered_minus_change_confirms() -> None:
    fields = _extract(_receipt(), width=300, height=600, ocr=True).fields
    assert Decimal(fields["total"].value) == Decimal("20.90")
    assert fields["total"].confidence >= 0.9  # two independent readings agree


def _receipt_fields(rows: list[Row]) -> dict[str, ExtractedField]:
    """The fields read from a till slip's photo (tall, narrow) printed with ``rows``."""
    return _extract(rows, width=300, height=600, ocr=True).fields


def _till_fields(*totals: Row) -> dict[str, ExtractedField]:
    """A receipt's header and items, then ``totals`` (the rows from the subtotal on): its fields."""
    return _receipt_fields([*_receipt()[:10], *totals])


@pytest.mark.parametrize(
    "label", ["Total Sales Inclusive GST", "Total RM inc.GST:", "Total Inci of GST", "Total Includes GST 0%"]
)
def test_a_receipt_total_including_tax_is_a_total_not_a_tax(label: str) -> None:
    fields = _till_fields(
        (200, [(20, label), (260, "20.90")]),
        (215, [(20, "Cash"), (260, "21.00")]),
        (230, [(20, "Change"), (260, "0.10")]),
    )
    assert fields["total"].value == "20.90" and fields["total"].confidence >= 0.9  # the till agrees
    assert "tax" not in fields


def test_the_till_beats_a_subtotal_and_tax_that_add_up_before_cash_rounding() -> None:
    fields = _till_fields(
        (200, [(20, "Sub-total"), (260, "24.11")]),
        (215, [(20, "Total Sales Incl GST"), (260, "24.11")]),
        (230, [(20, "Total After Adj Incl GST"), (260, "24.10")]),
        (245, [(20, "Total"), (200, "23.59"), (260, "0.52")]),
        (260, [(20, "CASH"), (260, "25.10")]),
        (275, [(20, "Change Amt"), (260, "1.00")]),
        (290, [(20, "Total Rounding:"), (260, "-0.01")]),
    )
    assert fields["total"].value == "24.10" and fields["total"].confidence >= 0.9


def test_cash_paid_exactly_rounded_to_five_cents_is_the_total() -> None:
    fields = _till_fields((200, [(20, "Total :"), (260, "2.99")]), (215, [(20, "Amount To Be Paid :"), (260, "3.00")]))
    assert fields["total"].value == "3.00" and fields["total"].confidence < 0.9  # a convention, not a reading


def test_with_no_total_label_a_receipts_net_amount_is_its_total() -> None:
    fields = _till_fields((200, [(20, "Net Amt :"), (260, "28.80")]), (215, [(20, "GST(6%):"), (260, "1.63")]))
    assert fields["total"].value == "28.80" and "subtotal" not in fields


def test_the_till_finds_a_total_no_label_names() -> None:
    fields = _till_fields(
        (200, [(20, "TL:RM"), (260, "33.80")]),
        (215, [(20, "CASH"), (260, "50.00")]),
        (230, [(20, "CASH CHANGE"), (260, "16.20")]),
    )
    assert fields["total"].value == "33.80" and fields["total"].confidence >= 0.9


def test_totals_table_is_read_down_to_its_sum_row() -> None:
    rows: list[Row] = [
        (20, [(20, "Muster Handel GmbH")]),
        (40, [(20, "Rechnungsnummer"), (150, "R-1001")]),
        (55, [(20, "Rechnungsdatum"), (150, "06.08.2013")]),
        (300, [(50, "Nettobetrag"), (150, "MwSt-Betrag"), (250, "Endbetrag")]),
        (312, [(60, "321,40"), (160, "61,07"), (260, "382,47")]),
        (324, [(60, "127,59"), (160, "8,93"), (260, "136,52")]),
        (340, [(60, "448,99"), (160, "70,00"), (260, "518,99")]),
    ]
    fields = _extract(rows).fields
    assert (fields["subtotal"].value, fields["tax"].value, fields["total"].value) == ("448.99", "70.00", "518.99")
    assert fields["amount_due"].value == "518.99"  # nothing prepaid: the total is due
    assert fields["amount_due"].confidence < 0.9  # ... but that is an inference


def test_tax_printed_per_rate_is_summed_when_that_closes_the_totals() -> None:
    rows: list[Row] = [
        (20, [(20, "Muster Handel GmbH")]),
        (40, [(20, "Rechnungsnummer"), (150, "471102")]),
        (300, [(20, "Rechnungssumme Netto"), (300, "473,00")]),
        (315, [(20, "Steuerbasisbetrag USt. 7%"), (220, "275,00"), (300, "19,25")]),
        (330, [(20, "Steuerbasisbetrag USt. 19%"), (220, "198,00"), (300, "37,62")]),
        (345, [(20, "Rechnungssumme Brutto"), (300, "529,87")]),
    ]
    fields = _extract(rows).fields
    assert fields["tax"].value == "56.87"
    assert fields["total"].value == "529.87"


def test_payment_deadline_in_words_is_the_due_date() -> None:
    rows: list[Row] = [
        (20, [(20, "Bei Spiel GmbH")]),
        (40, [(20, "Rechnung # RE-20140522/501 vom 22.05.2014")]),
        (300, [(20, "Summe netto: 496,00 €")]),
        (315, [(20, "Zuzügl. USt: 75,04 €")]),
        (330, [(20, "Bitte überweisen Sie bis zum 12.06.2014:")]),
        (345, [(20, "Summe inkl. USt: 571,04 €")]),
    ]
    fields = _extract(rows).fields
    assert fields["due_date"].value == "2014-06-12"
    assert (fields["subtotal"].value, fields["tax"].value, fields["total"].value) == ("496.00", "75.04", "571.04")


def test_credit_note_sign_inferred_from_the_title_stays_below_high_confidence() -> None:
    rows: list[Row] = [
        (20, [(20, "Muster Handel GmbH")]),
        (40, [(20, "GUTSCHRIFT")]),
        (55, [(20, "Gutschriftsnummer"), (150, "G-77")]),
        (300, [(20, "Gesamtbetrag netto"), (250, "100,00")]),
        (315, [(20, "MwSt. 19%"), (250, "19,00")]),
        (330, [(20, "Gesamtbetrag brutto"), (250, "119,00")]),
    ]
    extraction = _extract(rows)
    assert extraction.document_type is DocumentType.CREDIT_NOTE
    total = extraction.fields["total"]
    assert total.value == "-119.00"
    assert total.confidence < 0.9


def test_rival_readings_of_an_order_number_lower_its_confidence() -> None:
    rows: list[Row] = [
        (20, [(20, "Muster Handel GmbH")]),
        (40, [(20, "Rechnungsnummer"), (150, "471102")]),
        (55, [(20, "Bestellung:"), (150, "2013-471331")]),
        (200, [(20, "Rechnung gemäß Bestellung Nr. 2018-471331 vom 01.03.2018.")]),
    ]
    po = _extract(rows).fields["po_number"]
    assert po.confidence < 0.9
