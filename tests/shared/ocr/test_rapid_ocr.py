"""The OCR engine on real scanned receipts and rendered pages (slow-ish: real OCR)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from shared.documents.content import ContentKind, DocumentContent, Page, Word
from shared.documents.images import read_image
from shared.domain.models import DocumentType
from shared.extraction.classify import classify
from shared.ocr import OcrEngine
from shared.ocr.models import cache_dir, int8_is_exact, model_set, quantized_model
from shared.ocr.rapid import RapidOcrEngine, UnreadablePage, default_ocr_engine, estimate_skew


def test_words_with_boxes_from_a_receipt(shared_data: Path) -> None:
    image = Image.open(shared_data / "sroie" / "007.jpg")
    engine: OcrEngine = default_ocr_engine()
    words = engine.recognize(image)
    texts = [w.text for w in words]
    for expected in ("RESTORAN", "WAN", "SHENG", "Cashier:"):
        assert expected in texts
    assert any("7.20" in t for t in texts)  # the labelled total
    restoran = next(w for w in words if w.text == "RESTORAN")
    assert 0 <= restoran.x0 < restoran.x1 <= image.width and 0 <= restoran.top < restoran.bottom <= image.height
    assert restoran.top < image.height / 4  # the shop name heads the slip
    assert 0.5 <= restoran.confidence <= 1.0
    # Runs are split into words: "RESTORAN WAN SHENG" gives three boxes side by side.
    wan = next(w for w in words if w.text == "WAN")
    assert restoran.x1 <= wan.x0 + 2


def test_receipt_scan_classifies_as_receipt(shared_data: Path) -> None:
    image = Image.open(shared_data / "sroie" / "009.jpg")
    words = default_ocr_engine().recognize(image)
    page = Page(number=1, width=image.width, height=image.height, words=words, ocr=True)
    kind, reason = classify(DocumentContent(kind=ContentKind.IMAGE, pages=[page]))
    assert kind == DocumentType.RECEIPT, reason


def test_skew_is_estimated_and_boxes_map_back(shared_data: Path) -> None:
    image = Image.open(shared_data / "sroie" / "007.jpg").convert("L")
    assert abs(estimate_skew(image)) < 0.5
    tilted = image.rotate(-2.0, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    assert 1.25 <= estimate_skew(tilted) <= 2.75  # rotating back by about +2 degrees straightens it
    words = default_ocr_engine().recognize(tilted)
    assert "RESTORAN" in [w.text for w in words]
    assert all(0 <= w.x0 <= w.x1 <= tilted.width and 0 <= w.top <= w.bottom <= tilted.height for w in words)


# --- page preparation inside the engine: orientation, skew, resolution ---------------------------


def _letter() -> Image.Image:
    """A rendered page with a few lines of invoice text, 150 dpi-like."""
    page = Image.new("RGB", (900, 700), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(30)
    for y, text in (
        (60, "INVOICE 2024-0815"),
        (140, "Total amount 1,234.56 EUR"),
        (220, "Payable within 30 days"),
        (300, "IBAN DE89 3704 0044 0532 0130 00"),
        (380, "Thank you for your order"),
    ):
        draw.text((60, y), text, fill="black", font=font)
    return page


def _text(words: list[Word]) -> str:
    return " ".join(w.text for w in sorted(words, key=lambda w: (round(w.top / 20), w.x0)))


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_a_page_scanned_sideways_or_upside_down_is_read_upright(turns: int) -> None:
    upright = default_ocr_engine().recognize(_letter())
    turned = _letter().transpose(
        {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}[turns]
    )
    words = default_ocr_engine().recognize(turned)
    assert "INVOICE" in _text(words) and "1,234.56" in _text(words)
    assert len(words) == len(upright)
    # Boxes are in the turned image's pixels: the heading sits along the edge the page's top went to.
    heading = next(w for w in words if w.text == "INVOICE")
    assert 0 <= heading.x0 < heading.x1 <= turned.width and 0 <= heading.top < heading.bottom <= turned.height
    edge = {1: heading.top > turned.height / 2, 2: heading.top > turned.height / 2, 3: heading.x0 > turned.width / 2}
    assert edge[turns], heading


def test_a_skewed_page_is_straightened_before_reading() -> None:
    tilted = _letter().rotate(2.5, resample=Image.Resampling.BICUBIC, fillcolor="white")
    words = default_ocr_engine().recognize(tilted)
    texts = [w.text for w in words]
    for expected in ("Total", "amount", "1,234.56", "EUR", "DE89", "0130", "INVOICE"):
        assert expected in texts
    # Boxes are in the tilted source's pixels: turned 2.5° counter-clockwise, a line rises to the right.
    total, eur = next(w for w in words if w.text == "Total"), next(w for w in words if w.text == "EUR")
    assert eur.top < total.top - 5  # ~245 px apart: tan(2.5°) × 245 ≈ 11 px, less the boxes' own slant


def test_a_small_scan_is_enlarged_for_detection() -> None:
    small = _letter().resize((300, 233), Image.Resampling.LANCZOS)  # ~50 dpi: lines ~10 px high
    words = default_ocr_engine().recognize(small)
    assert "INVOICE" in _text(words)
    assert all(0 <= w.x0 <= w.x1 <= small.width and 0 <= w.top <= w.bottom <= small.height for w in words)


def test_a_sliver_is_refused_as_not_a_page() -> None:
    with pytest.raises(UnreadablePage):
        default_ocr_engine().recognize(Image.new("RGB", (40000, 3), "white"))


def test_pages_are_read_in_parallel_and_one_bad_page_fails_alone(shared_data: Path) -> None:
    engine = default_ocr_engine()
    assert isinstance(engine, RapidOcrEngine)
    results = engine.recognize_pages([_letter(), Image.new("RGB", (5, 5000)), _letter().convert("L")])
    assert isinstance(results[1], UnreadablePage)
    first, third = results[0], results[2]
    assert not isinstance(first, Exception) and not isinstance(third, Exception)
    assert _text(first) == _text(third) == _text(engine.recognize(_letter()))


def test_a_three_page_tiff_gives_three_pages() -> None:
    buffer = io.BytesIO()
    pages = [_letter(), _letter().transpose(Image.Transpose.ROTATE_180), Image.new("RGB", (900, 700), "white")]
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    content = read_image(buffer.getvalue(), ocr=default_ocr_engine(), max_pages=10, max_ocr_pages=10)
    assert content.page_count == 3 and [p.number for p in content.pages] == [1, 2, 3]
    assert "INVOICE" in content.pages[0].text and "INVOICE" in content.pages[1].text
    assert content.pages[2].words == []


def test_the_int8_models_are_built_once_from_the_packaged_ones() -> None:
    import onnx

    path = quantized_model("det")
    assert path.parent == cache_dir() and path.exists()
    built_at = path.stat().st_mtime
    assert quantized_model("det") == path and path.stat().st_mtime == built_at  # cached, not rebuilt
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops


@pytest.mark.parametrize(
    ("flags", "machine", "exact"),
    [
        ("fpu sse2 avx2 fma", "x86_64", False),  # vpmaddubsw: u8 x s8 pair sums saturate int16
        ("fpu sse2 avx2 avx512f avx512_vnni", "x86_64", True),
        ("fpu sse2 avx2 avx_vnni", "x86_64", True),
        ("fp asimd asimddp", "aarch64", True),
    ],
)
def test_int8_is_used_only_where_it_is_exact(tmp_path: Path, flags: str, machine: str, exact: bool) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: a CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    assert int8_is_exact(cpuinfo, machine) is exact
    assert int8_is_exact(tmp_path / "missing", "x86_64") is False  # unknown x86: float, slower but right


def test_without_vnni_the_float_detector_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.ocr.models as models

    monkeypatch.setattr(models, "int8_is_exact", lambda: False)
    chosen = model_set(int8=True, int8_rec=True)
    assert not chosen.int8 and chosen.det == models.packaged_model("det")
    assert chosen.rec == models.pruned_rec_model()


def test_the_recogniser_reads_latin_and_greek_only() -> None:
    """The recogniser's head is cut to the scripts invoices here are written in (a quarter of its time went
    into scoring 18,710 characters at every step of every line)."""
    import onnxruntime as ort

    from shared.ocr.models import pruned_rec_model

    for path in (pruned_rec_model(),):  # the int8 copy (``int8_rec``) is cut from this one
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        characters = session.get_modelmeta().custom_metadata_map["character"].splitlines()
        assert session.get_outputs()[0].shape[-1] == len(characters) + 2  # + CTC blank and space
        for expected in ("A", "z", "0", "€", "£", "$", "ß", "é", "Ø", "ł", "Ω", "%", "–", "™"):
            assert expected in characters
        assert not {"中", "の", "한", "ก"} & set(characters)
        assert len(characters) < 1500


def _two_columns(font: ImageFont.FreeTypeFont) -> tuple[Image.Image, dict[str, tuple[int, int, int, int]]]:
    """A 200 dpi-like page with a header row whose columns are far apart and a value below the middle one;
    returns the page and each word's inked box (x0, top, x1, bottom) as drawn."""
    page = Image.new("L", (1600, 500), 255)
    draw = ImageDraw.Draw(page)
    drawn = {}
    for text, x, y in (("Beschreibung", 100, 200), ("Fälligkeit", 700, 200), ("Teilzahlung", 1000, 200),
                       ("05.03.2019", 700, 250)):  # fmt: skip
        draw.text((x, y), text, fill=0, font=font)
        drawn[text] = draw.textbbox((x, y), text, font=font)
    return page, drawn


def test_word_boxes_are_the_printed_words_whatever_size_detection_ran_at() -> None:
    """Boxes are measured on the full-resolution line: each word's own columns (a wide gap inside one detected
    run stays wide) and its line's inked rows plus 35 % above and below, as the layout extractor expects."""
    font = ImageFont.truetype("DejaVuSans.ttf", 28)
    page, drawn = _two_columns(font)
    words = {w.text: w for w in default_ocr_engine().recognize(page)}
    assert set(drawn) <= set(words)
    for text, (x0, top, x1, bottom) in drawn.items():
        word = words[text]
        assert abs(word.x0 - x0) <= 4 and abs(word.x1 - x1) <= 4, (text, word, drawn[text])
        ink = bottom - top
        assert top - 0.5 * ink <= word.top <= top and bottom <= word.bottom <= bottom + 0.5 * ink, (text, word)
    # "Fälligkeit" ends 300 px before "Teilzahlung" starts: the gap is the printed one, not a CTC guess.
    assert words["Teilzahlung"].x0 - words["Fälligkeit"].x1 > 100


def test_a_monospaced_page_is_not_turned_upside_down() -> None:
    """The orientation vote reads pieces of lines at full resolution (a whole 37:1 line squeezed into the
    classifier's 4:1 input read Courier print as turned 180°)."""
    font = ImageFont.truetype("DejaVuSansMono.ttf", 26)
    page = Image.new("L", (1654, 1200), 255)
    draw = ImageDraw.Draw(page)
    for row, text in enumerate(
        (
            "MUSTERLIEFERANT GMBH          Beleg-Nr      : R87654321012345",
            "BAHNHOFSTRASSE 99             Beleg-Datum   : 06.08.2013",
            "99199 MUSTERHAUSEN            Bestell-Nr    : B123456789",
            "USt-IdNr : DE123456789        Lieferschein-Nr : L87654321012345",
            "4123456000014 ZS997   100,0000 Stk.   1   1,0000   19,0   100,00",
            "Rechnungsrabatt 1: 2,00% Basisbetrag: 280,00, MwSt.-% 19,0",
        )
    ):
        draw.text((60, 80 + 60 * row), text, fill=0, font=font)
    engine = default_ocr_engine()
    assert isinstance(engine, RapidOcrEngine)
    for turns, expected in ((0, 0), (2, 2)):
        words = engine.recognize(page.rotate(90 * turns))
        assert "MUSTERLIEFERANT" in [w.text for w in words]
        heading = next(w for w in words if w.text == "MUSTERLIEFERANT")
        assert (heading.top < 600) == (expected == 0)
