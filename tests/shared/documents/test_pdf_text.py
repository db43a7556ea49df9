"""Text-layer words with boxes from real PDFs."""

from __future__ import annotations

from pathlib import Path

import pdfplumber

from shared.documents.pdf_text import read_text_pages


def _pages(path: Path, max_pages: int = 10):  # type: ignore[no-untyped-def]
    with pdfplumber.open(path) as pdf:
        return read_text_pages(pdf, max_pages=max_pages)


def test_words_keep_grouped_amounts_and_split_columns(shared_data: Path) -> None:
    page = _pages(shared_data / "invoice2data" / "coolblue2.pdf")[0]
    texts = [w.text for w in page.words]
    assert "2.321,00" in texts and "4.904,94" in texts  # thousands separator kept inside the word
    # Columns of one row are separate words: description, quantity, VAT rate, price.
    row = sorted((w for w in page.words if abs(w.top - 281.6) < 2), key=lambda w: w.x0)
    assert [w.text for w in row][-3:] == ["21%", "€", "2.321,00"]
    assert row[0].text == "Apple"


def test_page_size_in_points_and_boxes_top_left(shared_data: Path) -> None:
    page = _pages(shared_data / "invoice2data" / "AzureInterior.pdf")[0]
    assert (page.number, round(page.width), round(page.height)) == (1, 595, 842)
    assert not page.ocr
    invoice_no = next(w for w in page.words if w.text == "INV/2023/03/0008")
    assert 0 < invoice_no.x0 < invoice_no.x1 < page.width
    assert 0 < invoice_no.top < invoice_no.bottom < page.height / 3  # near the top, origin top-left


def test_kerning_space_does_not_split_a_word(shared_data: Path) -> None:
    texts = [w.text for w in _pages(shared_data / "invoice2data" / "coolblue1.pdf")[0].words]
    assert "Factuurnummer:" in texts and "Klantnummer:" in texts


def test_rotated_margin_text_is_dropped(shared_data: Path) -> None:
    path = shared_data / "zugferd" / "ZUGFeRDv1__correct__Intarsys__ZUGFeRD_1p0_COMFORT_Rechnungskorrektur.pdf"
    page = _pages(path)[0]
    assert not [w for w in page.words if w.x0 < 30]  # the vertical strip at x=18 is gone
    assert any(w.text == "RK21012345" for w in page.words)


def test_max_pages_and_page_numbers(shared_data: Path) -> None:
    path = shared_data / "invoice2data" / "QualityHosting.pdf"
    assert [p.number for p in _pages(path)] == [1, 2]
    assert [p.number for p in _pages(path, max_pages=1)] == [1]


def test_damaged_pdfs_never_raise_from_page_reading(shared_data: Path) -> None:
    folder = shared_data / "robustness" / "pdf_malformed" / "qtest_damaged"
    read = 0
    for path in sorted(folder.glob("*.pdf"))[:25]:
        try:
            pdf = pdfplumber.open(path)
        except Exception:
            continue  # unopenable files are the loader's concern, not page reading
        with pdf:
            try:
                count = len(pdf.pages)
            except Exception:
                continue
            pages = read_text_pages(pdf, max_pages=3)
            assert len(pages) == min(count, 3)
            read += 1
    assert read > 0
