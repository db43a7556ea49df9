"""check_tampering / run_checks on real bytes: the bounded analysis, OCR of the rendered key fields,
the vendor's producer history on a real SQLite repository, and scans through the ONNX model."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pikepdf
import pytest

from bench.fraud.pdf_edit import add_overlay, find_amount
from bench.fraud.tamper_generators import generate_scan_clean, generate_scan_edit, scan_words
from shared.adapters.local.sqlite import SqliteRepository
from shared.checks import run_checks
from shared.documents.content import ContentKind, DocumentContent, Page, Word
from shared.domain import Finding, InvoiceRecord, Severity
from shared.forensics.check import (
    AMOUNT_SUPPORT,
    FAINT_SUPPORT,
    LEANING_SUPPORT,
    THREE_REASONS_SUPPORT,
    TWO_REASONS_SUPPORT,
    OriginalDocument,
    _misfit,
    check_tampering,
)
from shared.forensics.glyphs import PrintedNumber
from shared.forensics.typeset import AmountFit
from shared.pipeline import classify_and_extract, read_document
from shared.settings import Settings
from tests.factories import document
from tests.shared.forensics.pdfs import LINES, invoice_pdf
from tests.shared.forensics.scans import invoice_page_scan, number_scan, numbers_scan, statement_scan


def checked(data: bytes, repo: SqliteRepository, settings: Settings, name: str = "invoice.pdf") -> list[str]:
    content = read_document(data, name, "application/pdf", settings)
    sha = hashlib.sha256(data).hexdigest()
    record = InvoiceRecord(id=sha, document=document(sha, filename=name, size=len(data)))
    record.extraction = classify_and_extract(content)
    findings = run_checks(record, repo=repo, original=OriginalDocument(data, content, settings))
    return [f"{f.code}:{f.severity.value}" for f in findings if f.code.startswith("tamper.")]


def test_a_clean_invoice_gets_no_serious_tamper_finding(repo: SqliteRepository, settings: Settings) -> None:
    codes = checked(invoice_pdf(), repo, settings)
    assert not [c for c in codes if c.endswith((":medium", ":high"))]


def test_an_image_pasted_over_the_total_is_caught_by_reading_the_pixels(
    repo: SqliteRepository, settings: Settings
) -> None:
    """The text layer keeps 1,234.50; an opaque image showing 9,234.50 covers it. No text overlaps,
    nothing is flat: only the OCR of the rendered place shows the difference."""
    from PIL import Image, ImageDraw, ImageFont

    patch = Image.new("L", (240, 48), 255)
    ImageDraw.Draw(patch).text((2, 4), "9,234.50", fill=0, font=ImageFont.load_default(size=40))
    data = invoice_pdf()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        image = pikepdf.Stream(pdf, patch.tobytes())
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height, image.BitsPerComponent = 240, 48, 8
        image.ColorSpace = pikepdf.Name.DeviceGray
        page = pdf.pages[0]
        page.obj.Resources["/XObject"] = pikepdf.Dictionary(Im1=image)
        page.contents_add(pdf.make_stream(b"q 60 0 0 12 448 637 cm /Im1 Do Q"), prepend=False)
        out = io.BytesIO()
        pdf.save(out)
    codes = checked(out.getvalue(), repo, settings)
    assert "tamper.pdf.text_layer_mismatch:high" in codes


def test_a_producer_the_vendor_never_used_is_low_and_shown(repo: SqliteRepository, settings: Settings) -> None:
    for number in range(3):
        lines = [*LINES[:1], (50, 740, 11, f"Invoice INV-{number}"), *LINES[2:]]
        assert checked(invoice_pdf(lines=lines, producer="SAP NetWeaver 7.5"), repo, settings, f"{number}.pdf") == []
    other = invoice_pdf(producer="PDFescape Online Editor")
    assert "tamper.pdf.producer_changed:low" in checked(other, repo, settings)
    assert "tamper.pdf.producer_changed:low" in checked(other, repo, settings)  # a retried activity: same answer
    assert len(repo.get_item("vendor_pdf_profile", "acmesupplies")["documents"]) == 4  # type: ignore[index]


def test_an_overlay_edit_is_found_through_run_checks(repo: SqliteRepository, settings: Settings) -> None:
    data = invoice_pdf()
    amount = find_amount(data, "1234.50")
    assert amount is not None
    with pikepdf.open(io.BytesIO(data)) as pdf:
        add_overlay(pdf, amount, "9,234.50")
        out = io.BytesIO()
        pdf.save(out)
    assert "tamper.pdf.overprint:high" in checked(out.getvalue(), repo, settings)


def test_scans_go_through_the_onnx_model(repo: SqliteRepository, settings: Settings, shared_data: Path) -> None:
    source = shared_data / "invoice2data" / "FlipkartInvoice.pdf"
    words = scan_words(source)
    for case, expected in (
        (generate_scan_edit(source, random.Random(3))[0], True),
        (generate_scan_clean(source, random.Random(3))[0], False),
    ):
        from PIL import Image

        width, height = Image.open(io.BytesIO(case.data)).size
        page = Page(
            number=1,
            width=width,
            height=height,
            ocr=True,
            words=[Word(text=t, x0=b[0], top=b[1], x1=b[2], bottom=b[3]) for t, b in words],
        )
        content = DocumentContent(kind=ContentKind.IMAGE, pages=[page])
        sha = hashlib.sha256(case.data).hexdigest()
        record = InvoiceRecord(id=sha, document=document(sha, filename=case.filename, size=len(case.data)))
        findings = check_tampering(record, OriginalDocument(case.data, content, settings), repo=repo)
        edited = [f for f in findings if f.code == "tamper.image.edited_region"]
        assert bool(edited) is expected
        if edited:
            assert edited[0].severity is Severity.HIGH
            assert edited[0].evidence["locations"][0]["page"] == 1


def test_an_unreadable_pdf_is_reported_not_raised(repo: SqliteRepository, settings: Settings) -> None:
    record = InvoiceRecord(id="x" * 64, document=document("x" * 64, filename="bad.pdf", size=10))
    findings = check_tampering(
        record, OriginalDocument(b"%PDF-1.4 garbage", DocumentContent(kind=ContentKind.PDF), settings), repo=repo
    )
    assert all(f.severity is not Severity.HIGH for f in findings)


def test_a_squashed_ocr_box_is_redrawn_around_its_glyphs() -> None:
    from shared.forensics.check import page_boxes

    words = [Word(text=f"w{i}", x0=10.0 * i, top=100.0, x1=10.0 * i + 8, bottom=120.0) for i in range(5)]
    words.append(Word(text="1,23", x0=60.0, top=98.0, x1=90.0, bottom=101.0))  # a rule's 3 rows won the crop
    page = Page(number=1, width=200.0, height=400.0, words=words, ocr=True)
    boxes = page_boxes(page, (800, 400))  # the decoded image is twice the OCR'd page
    assert boxes[0] == (0.0, 200.0, 16.0, 240.0)
    assert boxes[-1] == (120.0, 199.0 - 30.0, 180.0, 199.0 + 30.0)  # 1.5 x the median height (40 px), same centre


def test_a_box_is_moved_onto_glyphs_no_other_word_holds() -> None:
    """A box that holds none of its glyphs whole moves onto the nearest ones, unless another word's box
    is there: on thermal receipts the print breaks into pieces, and the glyphs near are the next line's."""
    from shared.forensics.check import _widened
    from shared.forensics.image import load_grey

    data, (above, number) = numbers_scan(["1,33", "2,40"])
    grey = load_grey(data)
    inside = (number[0], above[1] + 5, number[2], above[1] + 12)  # on the glyphs of the line above
    elsewhere = (300.0, 10.0, 330.0, 30.0)
    assert _widened(grey, [above, inside, elsewhere], [1])[1] == inside
    _, top, _, bottom = _widened(grey, [elsewhere, inside, elsewhere], [1])[1]
    assert (top, bottom) == (above[1], above[3] - 3)  # the digits' rows, the comma's tail left out


def test_a_box_reaching_another_words_line_is_cut_to_its_own_glyphs() -> None:
    """A box OCR drew on a rule, redrawn a word and a half tall, reaches the number over the rule: the
    number's box is that word's, so the box keeps only the glyphs under it."""
    from shared.forensics.check import _widened
    from shared.forensics.image import load_grey

    data, (above, number) = numbers_scan(["49,99", "79,99"])
    grey = load_grey(data)
    reaching = (number[0], above[1] - 1, number[2], number[3])  # holds both lines' glyphs whole
    elsewhere = (300.0, 10.0, 330.0, 30.0)
    _, top, _, bottom = _widened(grey, [above, reaching], [1])[1]
    assert abs(top - number[1]) <= 2 and abs(bottom - (number[3] - 3)) <= 2  # the digits' rows, the comma's tail out
    assert _widened(grey, [elsewhere, reaching], [1])[1] == reaching  # no word there: both lines may be its own


class _Scores:
    """The tile model's answer, fixed: the rule that joins it with the digit measure is under test."""

    threshold, version = 0.628, "fixed"

    def __init__(self, score: float) -> None:
        self.score = score

    def score_regions(self, features: list[object]) -> list[float]:
        return [self.score] * len(features)


ScanWords = list[tuple[str, tuple[float, float, float, float]]]
ScanFindings = Callable[[bytes, ScanWords, tuple[int, int], float], list[Finding]]


@pytest.fixture
def scan_findings(repo: SqliteRepository, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> ScanFindings:
    """The tampering findings of one scanned page (bytes, read as words, of a size), the tile model
    fixed at a score."""
    import shared.forensics.model

    def findings(data: bytes, words: ScanWords, size: tuple[int, int], score: float) -> list[Finding]:
        monkeypatch.setattr(shared.forensics.model, "default_model", lambda: _Scores(score))
        page = Page(
            number=1,
            width=size[0],
            height=size[1],
            ocr=True,
            words=[Word(text=text, x0=x0, top=top, x1=x1, bottom=bottom) for text, (x0, top, x1, bottom) in words],
        )
        content = DocumentContent(kind=ContentKind.IMAGE, pages=[page])
        record = InvoiceRecord(id="s" * 64, document=document("s" * 64, filename="scan.jpg", size=len(data)))
        return check_tampering(record, OriginalDocument(data, content, settings), repo=repo)

    return findings


@pytest.mark.parametrize(
    ("retyped", "score", "codes"),
    [
        ((0, 0.8, 3), 0.5, ["tamper.image.odd_digit"]),  # digit out of line, tiles somewhat unusual
        ((0, 0.8, 3), 0.2, []),  # digit out of line alone: too weak at scan resolution
        (None, 0.5, []),  # tiles somewhat unusual alone: below the model's threshold
        ((0, 0.8, 3), 0.9, ["tamper.image.edited_region"]),  # the model flags it: one finding, not two
    ],
)
def test_a_retyped_digit_counts_with_tile_support(
    retyped: tuple[int, float, int] | None,
    score: float,
    codes: list[str],
    scan_findings: ScanFindings,
) -> None:
    data, (x0, top, x1, bottom) = number_scan("871,04", retyped=retyped)
    words = [("Total", (2.0, top, 36.0, bottom)), ("871,04", (x0, top, x1, bottom))]
    findings = scan_findings(data, words, (400, 100), score)
    assert [f.code for f in findings] == codes
    if codes == ["tamper.image.odd_digit"]:
        (finding,) = findings
        assert finding.severity is Severity.HIGH
        (amount,) = finding.evidence["amounts"]
        assert amount["text"] == "871,04" and amount["digit"] == 1 and amount["deviation"] > 0.15
        (location,) = finding.evidence["locations"]
        assert location["page"] == 1 and location["bbox"][0] < x0 + 15


@pytest.mark.parametrize(
    ("texts", "codes"),
    [
        (["871,04"], ["tamper.image.odd_digit"]),  # the page's only amount out of line: less support needed
        (["871,04", "653,27"], []),  # two amounts out of line: print that jitters, the usual support
        (["2,13"], []),  # three digits: two others agree by chance, the usual support
    ],
)
def test_a_lone_odd_digit_needs_less_tile_support(
    texts: list[str], codes: list[str], scan_findings: ScanFindings
) -> None:
    data, boxes = numbers_scan(texts, retyped=(0, 0.8, 3))
    words = [(text, box) for text, box in zip(texts, boxes, strict=True)]
    score = 0.3  # 0.48 x the threshold: under DIGIT_SUPPORT, over LONE_DIGIT_SUPPORT
    findings = scan_findings(data, words, (400, 60 + 40 * len(texts)), score)
    assert [f.code for f in findings] == codes
    if codes:
        (amount,) = findings[0].evidence["amounts"]
        assert amount["only_amount_out_of_line"] is True and amount["tile_score"] == score


def test_a_retyped_digit_ocr_left_outside_its_word_box_is_measured(scan_findings: ScanFindings) -> None:
    """OCR read "871,04" but its box starts after the retyped "8" (RapidOCR cuts a line into words by
    character position): the box is widened over that glyph, so the digit is measured and its tiles scored."""
    data, (x0, top, x1, bottom) = number_scan("871,04", retyped=(0, 0.8, 3))
    findings = scan_findings(data, [("871,04", (x0 + 14, top, x1, bottom))], (400, 100), 0.5)
    assert [f.code for f in findings] == ["tamper.image.odd_digit"]
    ((left, _, _, _),) = [location["bbox"] for location in findings[0].evidence["locations"]]
    assert left < x0 + 14  # the retyped digit itself, left of OCR's box


@pytest.mark.parametrize("split", [2, 3])
def test_an_amount_ocr_read_in_two_pieces_is_measured_whole(split: int, scan_findings: ScanFindings) -> None:
    """OCR read "$579.84" as "$5" "79.84" (the retyped "5" set a little apart) or "$57" "9.84": the
    pieces are measured as one amount, and it counts once."""
    data, (x0, top, x1, bottom) = number_scan("$579.84", retyped=(1, 0.68, 4))
    text = "$579.84"
    cut = x0 + (x1 - x0) * split / len(text)
    words = [(text[:split], (x0, top, cut - 1, bottom)), (text[split:], (cut + 1, top, x1, bottom))]
    findings = scan_findings(data, words, (400, 100), 0.5)
    assert [f.code for f in findings] == ["tamper.image.odd_digit"]
    (amount,) = findings[0].evidence["amounts"]
    assert amount["text"] == text and amount["only_amount_out_of_line"] is True


def test_a_retyped_digit_under_a_rule_ocr_boxed_on_the_rule_is_measured(scan_findings: ScanFindings) -> None:
    """A total under its sum line: OCR's box holds the rule and the gap under it, the digits below."""
    from PIL import Image, ImageDraw

    data, (x0, top, x1, bottom) = number_scan("871,04", retyped=(0, 0.8, 3))
    page = Image.open(io.BytesIO(data))
    ImageDraw.Draw(page).rectangle((x0 - 6, top - 9, x1 + 6, top - 6), fill=30)
    buffer = io.BytesIO()
    page.save(buffer, format="JPEG", quality=90)
    words = [("Total", (2.0, top, 36.0, bottom)), ("871,04", (x0, top - 12, x1, top - 1))]
    findings = scan_findings(buffer.getvalue(), words, (400, 100), 0.5)
    assert [f.code for f in findings] == ["tamper.image.odd_digit"]


@pytest.mark.parametrize(("read", "codes"), [("g71,04", ["tamper.image.odd_digit"]), ("Bg1,04", [])])
def test_a_retyped_digit_ocr_read_as_a_letter_is_measured(
    read: str, codes: list[str], scan_findings: ScanFindings
) -> None:
    """OCR read the retyped "8" as "g": the word is still an amount, and its digits are measured. Two
    letters make a word, not a misread amount."""
    data, box = number_scan("871,04", retyped=(0, 0.8, 3))
    assert [f.code for f in scan_findings(data, [(read, box)], (400, 100), 0.5)] == codes


@pytest.mark.parametrize(("beside", "codes"), [("Rs", ["tamper.image.odd_digit"]), ("Nights", [])])
def test_a_whole_amount_is_measured_beside_its_currency_only(
    beside: str, codes: list[str], scan_findings: ScanFindings
) -> None:
    """ "Rs 1939" is an amount printed without cents; "Nights 1939" is not an amount at all."""
    data, (x0, top, x1, bottom) = number_scan("1939", retyped=(0, 0.8, 3))
    words = [(beside, (2.0, top, 36.0, bottom)), ("1939", (x0, top, x1, bottom))]
    assert [f.code for f in scan_findings(data, words, (400, 100), 0.5)] == codes


@pytest.mark.parametrize(
    ("retyped", "score", "codes"),
    [
        ((3, 0.75, 3), 0.45, ["tamper.image.retyped_amount"]),  # shorter and off its line, tiles somewhat unusual
        ((3, 0.75, 3), 0.3, ["tamper.image.retyped_amount"]),  # two reasons: over TWO_REASONS_SUPPORT (0.48 x)
        ((3, 0.75, 3), 0.2, []),  # the print alone: labels and footers legitimately differ
        (None, 0.45, []),  # tiles somewhat unusual alone: below the model's threshold
        ((3, 0.75, 3), 0.9, ["tamper.image.edited_region"]),  # the model flags it: one finding, not two
    ],
)
def test_a_retyped_amount_counts_with_tile_support(
    retyped: tuple[int, float, int] | None,
    score: float,
    codes: list[str],
    scan_findings: ScanFindings,
) -> None:
    lines = [("Net amount", "1,234.56"), ("VAT at 19 %", "234.56"), ("Shipping", "12.00"), ("Total due", "1,481.12")]
    data, boxes = statement_scan(lines, retyped=retyped)
    findings = scan_findings(data, boxes, (480, 60 + 44 * len(lines)), score)
    assert [f.code for f in findings] == codes
    if codes == ["tamper.image.retyped_amount"]:
        (finding,) = findings
        assert finding.severity is Severity.HIGH
        assert "shorter than every other number" in finding.message and "above its line" in finding.message
        (amount,) = finding.evidence["amounts"]
        assert amount["text"] == "1,481.12" and amount["shortest_other_px"] > amount["digit_height_px"] + 3
        (location,) = finding.evidence["locations"]
        x0, top, x1, bottom = boxes[-1][1]  # the retyped total's own digits are drawn, inside its box
        left, upper, right, lower = location["bbox"]
        assert location["page"] == 1 and x0 - 2 <= left < right <= x1 + 2 and top - 2 <= upper < lower <= bottom + 2


def test_unusual_tiles_count_on_amounts_and_the_words_beside_them_only(scan_findings: ScanFindings) -> None:
    """Page numbers, dates and phone numbers were the model's only false alarms on clean scans; a digit
    OCR read apart from its amount ("6" "127.50", "7" ".904,94") still counts, and so does an amount
    with its code or its label joined on."""
    data, _ = number_scan("871,04")
    placed = {
        "2": (40.0, 4.0, 48.0, 20.0),  # "Page 2": no amount beside it
        "+49": (300.0, 4.0, 340.0, 20.0),
        "EUR129,87": (40.0, 40.0, 150.0, 56.0),
        "USt:971,04": (200.0, 40.0, 290.0, 56.0),
        "6": (200.0, 70.0, 208.0, 86.0),
        "127.50": (212.0, 70.0, 270.0, 86.0),
        "7": (20.0, 70.0, 28.0, 86.0),  # its rest does not read as an amount on its own
        ".904,94": (31.0, 70.0, 80.0, 86.0),
        "31": (120.0, 70.0, 136.0, 86.0),  # a day of the month further along that line
    }
    (finding,) = scan_findings(data, list(placed.items()), (400, 100), 0.9)
    assert finding.code == "tamper.image.edited_region"
    located = {tuple(location["bbox"]) for location in finding.evidence["locations"]}
    assert located == {placed[text] for text in ("EUR129,87", "USt:971,04", "6", "127.50", "7", ".904,94")}


def test_a_word_beside_an_amount_counts_only_when_it_is_a_piece_of_a_number(scan_findings: ScanFindings) -> None:
    """Clean Intarsys scans read through the float detector: a tax label OCR read with its rate
    ("MwSt.-%19,0,") 7 px right of an amount, and a line of vertical print at the margin (box 11 px wide,
    166 px tall) level with amounts, both took unusual tiles for an edited amount."""
    data, _ = number_scan("871,04")
    placed = {
        "280,00,": (130.0, 40.0, 190.0, 56.0),
        "MwSt.-%19,0,": (196.0, 40.0, 290.0, 56.0),
        "Z2G  - s 014": (100.0, 0.0, 111.0, 96.0),
        "€6": (200.0, 70.0, 208.0, 86.0),
        "1.234,00": (212.0, 70.0, 270.0, 86.0),
    }
    (finding,) = scan_findings(data, list(placed.items()), (400, 100), 0.9)
    located = {tuple(location["bbox"]) for location in finding.evidence["locations"]}
    assert located == {placed[text] for text in ("280,00,", "1.234,00", "€6")}


def test_the_service_and_the_embedded_model_give_the_same_scan_findings(
    repo: SqliteRepository, settings: Settings, inference_service_url: str, shared_data: Path
) -> None:
    """One real edited scan through both paths: the worker's bounded child measures the page and its
    digits either way; only the tile scores come from the service or from in-process ONNX Runtime."""
    source = shared_data / "invoice2data" / "FlipkartInvoice.pdf"
    case = generate_scan_edit(source, random.Random(3))[0]
    from PIL import Image

    width, height = Image.open(io.BytesIO(case.data)).size
    words = [Word(text=t, x0=b[0], top=b[1], x1=b[2], bottom=b[3]) for t, b in scan_words(source)]
    content = DocumentContent(
        kind=ContentKind.IMAGE, pages=[Page(number=1, width=width, height=height, ocr=True, words=words)]
    )
    record = InvoiceRecord(id="f" * 64, document=document("f" * 64, filename=case.filename, size=len(case.data)))
    served = settings.model_copy(update={"inference_url": inference_service_url})
    embedded = check_tampering(record, OriginalDocument(case.data, content, settings), repo=repo)
    through_service = check_tampering(record, OriginalDocument(case.data, content, served), repo=repo)
    assert [f.code for f in embedded] == [f.code for f in through_service] == ["tamper.image.edited_region"]
    assert embedded[0].evidence["locations"] == through_service[0].evidence["locations"]


@pytest.mark.parametrize(
    ("font_name", "retype_total", "score", "codes"),
    [
        ("Courier", True, 0.45, ["tamper.image.retyped_amount"]),  # sans digits among Courier ones
        ("Courier", False, 0.45, []),  # the same page untouched: every digit has a near twin
        ("Helvetica", False, 0.45, []),
        ("Courier", True, 0.2, []),  # the font alone: pages legitimately mix fonts
        ("Courier", True, 0.3, []),  # one reason at 0.48 x the threshold: under AMOUNT_SUPPORT
    ],
)
def test_an_amount_retyped_in_another_font_counts_with_tile_support(
    font_name: str,
    retype_total: bool,
    score: float,
    codes: list[str],
    scan_findings: ScanFindings,
) -> None:
    """Same height, right edge and baseline as the print it covers: only the digits' shapes tell."""
    data, words = invoice_page_scan(font_name=font_name, retype_total=retype_total)
    findings = scan_findings(data, words, (1240, 1755), score)
    assert [f.code for f in findings] == codes
    if codes:
        (finding,) = findings
        assert "shaped unlike the same digits elsewhere on the page" in finding.message
        assert "shorter" not in finding.message and "its line" not in finding.message
        (amount,) = finding.evidence["amounts"]
        assert amount["text"] == "1,234.50"
        assert amount["unlike_twins"] >= 2.5 * amount["others_unlike_twins"]


def _fit(
    unlike: float, usual_unlike: float, *, shorter: float = -0.1, offset: float = 0.0, caps: float = 0.0
) -> AmountFit:
    """An amount's print fit with its digits ``unlike`` their twins, the page's other amounts ``usual_unlike``."""
    ones = np.ones(4)
    number = PrintedNumber(lefts=ones * 10, rights=ones * 18, tops=ones * 100, bottoms=ones * 120, split=ones == 0)
    return AmountFit(number, shorter, 22.0, offset, caps, unlike, usual_unlike)


@pytest.mark.parametrize(
    ("fit", "count", "support"),
    [
        (_fit(0.1, 0.1, shorter=0.3), 1, AMOUNT_SUPPORT),
        (_fit(0.1, 0.1, shorter=0.3, offset=0.2, caps=-0.3), 2, TWO_REASONS_SUPPORT),
        (_fit(0.36, 0.1, shorter=0.3, offset=0.2, caps=-0.3), 3, THREE_REASONS_SUPPORT),  # oyo's total, seed 79
    ],
)
def test_each_further_reason_needs_less_tile_support(fit: AmountFit, count: int, support: float) -> None:
    reasons, needed = _misfit(fit)
    assert (len(reasons), needed) == (count, support)
    assert AMOUNT_SUPPORT > TWO_REASONS_SUPPORT > THREE_REASONS_SUPPORT > 0


@pytest.mark.parametrize(
    ("fit", "support"),
    [
        (_fit(0.45, 0.15), AMOUNT_SUPPORT),  # another font, three times as unlike as the page's amounts
        (_fit(0.37, 0.15), LEANING_SUPPORT),  # leaning: 2.45 times, under 2.5: the tiles must say more
        (_fit(0.29, 0.06), FAINT_SUPPORT),  # under 0.30 unlike, far over the page's: only near-flagged tiles
        (_fit(0.29, 0.14), None),  # under 0.30 and only 2.1 times the page's: nothing
        (_fit(0.24, 0.06), None),  # under 0.25 unlike: nothing, however far over the page's
        (_fit(0.37, 0.20), None),  # 1.85 times the page's: worn receipts' digits vary that much
        (_fit(0.37, 0.15, shorter=0.3), AMOUNT_SUPPORT),  # a clear reason: leaning adds nothing to it
    ],
)
def test_digits_leaning_to_another_font_need_more_tile_support(fit: AmountFit, support: float | None) -> None:
    reasons, needed = _misfit(fit)
    assert (needed if reasons else None) == support
    assert len(reasons) <= 1
