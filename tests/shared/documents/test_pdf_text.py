"""Text-layer words with boxes from real PDFs."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest

from shared.documents.content import Page
from shared.documents.pdf_text import TextLayerUnreadable, read_text_pages


def _pages(path: Path, max_pages: int = 10) -> list[Page]:
    return read_text_pages(path.read_bytes(), max_pages=max_pages)


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
            pages = read_text_pages(path.read_bytes(), max_pages=3)
        except TextLayerUnreadable:
            continue  # unopenable files are the loader's concern (qpdf's repair comes first)
        assert 0 < len(pages) <= 3
        assert [p.number for p in pages] == list(range(1, len(pages) + 1))
        read += 1
    assert read > 0


def test_a_page_tree_pdfium_refuses_is_read_by_pdfminer(shared_data: Path) -> None:
    path = shared_data / "robustness" / "pdf_edgecases" / "017-unreadable-meta-data" / "unreadablemetadata.pdf"
    pages = _pages(path)
    assert pages and pages[0].words  # pdfminer recovers the first page's words


def test_garbage_is_unreadable() -> None:
    with pytest.raises(TextLayerUnreadable):
        read_text_pages(b"%PDF-1.4 nothing else", max_pages=3)


def _turned_page(data: bytes) -> bytes:
    """The same page stored landscape (content turned a quarter counter-clockwise) with /Rotate 90,
    as a scanner or a landscape template writes it: it displays exactly as the original."""
    pdf = pikepdf.open(io.BytesIO(data))
    page = pdf.pages[0]
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    width, height = x1 - x0, y1 - y0
    page.contents_add(pdf.make_stream(f"q 0 1 -1 0 {height:g} 0 cm 1 0 0 1 {-x0:g} {-y0:g} cm".encode()), prepend=True)
    page.contents_add(pdf.make_stream(b"Q"))
    page.mediabox = pikepdf.Array([0, 0, height, width])
    page.Rotate = 90
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_a_rotated_page_reads_in_the_frame_it_is_displayed_in(shared_data: Path) -> None:
    data = (shared_data / "invoice2data" / "AzureInterior.pdf").read_bytes()
    upright = read_text_pages(data, max_pages=1)[0]
    turned = read_text_pages(_turned_page(data), max_pages=1)[0]
    assert (round(turned.width), round(turned.height)) == (round(upright.width), round(upright.height))
    assert [w.text for w in turned.words] == [w.text for w in upright.words]
    for a, b in zip(upright.words, turned.words, strict=True):
        assert max(abs(a.x0 - b.x0), abs(a.top - b.top), abs(a.x1 - b.x1), abs(a.bottom - b.bottom)) < 0.5, a.text


def _drawn_over(data: bytes, word_box: tuple[float, float, float, float], text: str, size: float) -> bytes:
    """``text`` drawn in Helvetica right over the word at ``word_box`` (top-left origin): the covered-
    amount edit, without the white box (the text layer does not see paint anyway)."""
    pdf = pikepdf.open(io.BytesIO(data))
    page = pdf.pages[0]
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    )
    page.obj.Resources.Font["/FOver"] = font
    x0, _top, _x1, bottom = word_box
    baseline = float(page.mediabox[3]) - bottom + 0.2 * size
    page.contents_add(pdf.make_stream(b"q\n"), prepend=True)  # the page's own state must not leak into ours
    overlay = f"\nQ\nBT /FOver {size:g} Tf {x0:.2f} {baseline:.2f} Td ({text}) Tj ET\n"
    page.contents_add(pdf.make_stream(overlay.encode()))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_text_drawn_over_other_text_stays_a_word_of_its_own(shared_data: Path) -> None:
    data = (shared_data / "invoice2data" / "AzureInterior.pdf").read_bytes()
    original = read_text_pages(data, max_pages=1)[0]
    target = next(w for w in original.words if w.text == "INV/2023/03/0008")
    size = target.bottom - target.top
    edited = read_text_pages(
        _drawn_over(data, (target.x0, target.top, target.x1, target.bottom), "INV/2023/03/9999", size), 1
    )
    texts = [w.text for w in edited[0].words]
    assert "INV/2023/03/0008" in texts and "INV/2023/03/9999" in texts  # not one interleaved word
