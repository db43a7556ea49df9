"""Printed numbers made like scans, for the glyph and scan-check tests: drawn, blurred, noised, JPEG."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bench.fraud.tamper_generators import scan_words
from shared.documents.content import ContentKind, DocumentContent, Page, Word
from shared.forensics.image import Box

SIZE = 26  # font size in px: digits about 19 px tall, as 10 pt type scanned at 150-200 dpi


def number_scan(
    text: str, *, retyped: tuple[int, float, int] | None = None, ink: int = 30, retyped_ink: int | None = None
) -> tuple[bytes, Box]:
    """``text`` printed at (40, 30) and scanned; ``retyped`` = (character index, size factor, drop in
    px) paints that character over in a smaller font, as an image editor would, in ``retyped_ink``
    (grey level) when given, else in the number's own ink."""
    data, (box,) = numbers_scan([text], retyped=retyped, ink=ink, retyped_ink=retyped_ink)
    return data, box


def numbers_scan(
    texts: list[str], *, retyped: tuple[int, float, int] | None = None, ink: int = 30, retyped_ink: int | None = None
) -> tuple[bytes, list[Box]]:
    """``number_scan`` of one number per line (40 px apart), each retyped alike; their boxes."""
    page = Image.new("L", (400, 60 + 40 * len(texts)), 235)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=SIZE)
    boxes = []
    for row, text in enumerate(texts):
        y = 30 + 40 * row
        draw.text((40, y), text, fill=ink, font=font)
        if retyped is not None:
            index, factor, drop = retyped
            left = 40 + draw.textlength(text[:index], font=font)
            right = 40 + draw.textlength(text[: index + 1], font=font)
            draw.rectangle((left, y - 2, right - 1, y + SIZE + 2), fill=235)
            small = ImageFont.load_default(size=round(SIZE * factor))
            draw.text((left, y + drop), text[index], fill=ink if retyped_ink is None else retyped_ink, font=small)
        x0, top, x1, bottom = draw.textbbox((40, y), text, font=font)
        boxes.append((float(x0), float(top), float(x1), float(bottom)))
    return _scanned(page), boxes


PAPER = 235


def statement_scan(
    lines: list[tuple[str, str]], *, retyped: tuple[int, float, int] | None = None, skew_degrees: float = 0.0
) -> tuple[bytes, list[tuple[str, Box]]]:
    """Label/amount lines (labels at the left, amounts right-aligned) printed in one font and scanned,
    with every word's box. ``retyped`` = (line index, size factor, drop in px) paints that line's whole
    amount over in another size, as an image editor would; ``skew_degrees`` turns the page as a scanner
    feeding it crooked would (boxes turned with it)."""
    width, height = 480, 60 + 44 * len(lines)
    page = Image.new("L", (width, height), PAPER)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=SIZE)
    words: list[tuple[str, Box]] = []
    for row, (label, amount) in enumerate(lines):
        y = 30 + 44 * row
        draw.text((40, y), label, fill=30, font=font)
        for word in label.split():  # each word's own box, as OCR gives them
            start = 40 + draw.textlength(label[: label.index(word)], font=font)
            words.append((word, _box(draw.textbbox((start, y), word, font=font))))
        left = 440 - draw.textlength(amount, font=font)
        draw.text((left, y), amount, fill=30, font=font)
        box = draw.textbbox((left, y), amount, font=font)
        if retyped is not None and retyped[0] == row:
            _, factor, drop = retyped
            draw.rectangle((box[0] - 1, box[1] - 2, box[2] + 1, box[3] + 2), fill=PAPER)
            small = ImageFont.load_default(size=round(SIZE * factor))
            left = 440 - draw.textlength(amount, font=small)
            draw.text((left, y + drop), amount, fill=30, font=small)
            box = draw.textbbox((left, y + drop), amount, font=small)
        words.append((amount, _box(box)))
    if skew_degrees:
        page = page.rotate(skew_degrees, resample=Image.Resampling.BICUBIC, fillcolor=PAPER)
        words = [(text, _turned(box, skew_degrees, width / 2, height / 2)) for text, box in words]
    return _scanned(page), words


def invoice_page_scan(*, font_name: str, retype_total: bool) -> tuple[bytes, list[tuple[str, Box]]]:
    """The test invoice (``pdfs.invoice_pdf``) set in ``font_name``, rendered at 150 dpi and scanned,
    with its words boxed from its text layer. ``retype_total`` paints the total over and types it again
    in another font (Pillow's default sans) with the same digit height, right edge and baseline: no
    size or position trace is left, only the font."""
    import pdfplumber
    import pypdfium2

    from tests.shared.forensics.pdfs import invoice_pdf

    data, scale = invoice_pdf(font_name=font_name), 150 / 72
    document = pypdfium2.PdfDocument(data)
    try:
        page = document[0].render(scale=scale, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        words = [
            (w["text"], (w["x0"] * scale, w["top"] * scale, w["x1"] * scale, w["bottom"] * scale))
            for w in pdf.pages[0].extract_words()
        ]
    if retype_total:
        index = max(i for i, (text, _) in enumerate(words) if text == "1,234.50")
        x0, top, x1, bottom = (round(v) for v in words[index][1])
        ink = np.flatnonzero((np.asarray(page)[top:bottom, x0:x1] < 128).any(axis=1))
        ink_top, ink_bottom = top + int(ink[0]), top + int(ink[-1]) + 1
        draw = ImageDraw.Draw(page)
        draw.rectangle((x0 - 1, top, x1 + 1, bottom), fill=255)
        _, glyph_top, _, glyph_bottom = ImageFont.load_default(size=100).getbbox("0")
        font = ImageFont.load_default(size=round(100 * (ink_bottom - ink_top) / (glyph_bottom - glyph_top)))
        _, glyph_top, _, _ = font.getbbox("0")
        width = draw.textlength("1,234.50", font=font)
        draw.text((x1 - width, ink_top - glyph_top), "1,234.50", fill=0, font=font)
        words[index] = ("1,234.50", _box(draw.textbbox((x1 - width, ink_top - glyph_top), "1,234.50", font=font)))
    return _scanned(page), words


def _scanned(page: Image.Image) -> bytes:
    """The page as a scanner and its JPEG leave it: slightly blurred, sensor noise, quality 85."""
    blurred = page.filter(ImageFilter.GaussianBlur(0.6))
    noisy = np.asarray(blurred, dtype=np.float32) + np.random.default_rng(7).normal(0, 2.5, (page.height, page.width))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _box(box: tuple[float, float, float, float]) -> Box:
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _turned(box: Box, degrees: float, cx: float, cy: float) -> Box:
    """The axis-aligned box around ``box`` after ``Image.rotate(degrees)`` about (cx, cy)."""
    angle = np.radians(degrees)
    x0, top, x1, bottom = box
    corners = np.array([(x0, top), (x1, top), (x0, bottom), (x1, bottom)]) - (cx, cy)
    xs = cx + corners[:, 0] * np.cos(angle) + corners[:, 1] * np.sin(angle)
    ys = cy - corners[:, 0] * np.sin(angle) + corners[:, 1] * np.cos(angle)
    return (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def read_as_ocr(
    source: Path, kind: ContentKind, size: tuple[int, int], pages: int = 1, scale: float = 1.0
) -> DocumentContent:
    """What the reader gives for ``pages`` OCR'd pages of ``size`` scan pixels, each read as the words of
    ``source``'s page 1 (``scan_words``), in page units of ``scale`` per pixel (PDF points: 72 / dpi)."""
    words = [
        Word(text=text, x0=x0 * scale, top=top * scale, x1=x1 * scale, bottom=bottom * scale)
        for text, (x0, top, x1, bottom) in scan_words(source)
    ]
    width, height = size[0] * scale, size[1] * scale
    return DocumentContent(
        kind=kind,
        pages=[Page(number=n, width=width, height=height, ocr=True, words=words) for n in range(1, pages + 1)],
    )


def comma_tail_scan() -> tuple[bytes, Box]:
    """ "235,62" whose comma curls back under the 5's last columns, a pixel below it (as in a scanned
    Intarsys invoice): apart from the 5 at half contrast, joined to it at the lower edge level."""
    page = Image.new("L", (400, 100), PAPER)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=SIZE)
    draw.text((40, 30), "235", fill=30, font=font)
    draw.text((40 + draw.textlength("235,", font=font), 30), "62", fill=30, font=font)
    five = draw.textbbox((40 + draw.textlength("23", font=font), 30), "5", font=font)
    right, below = five[2] - 1, five[3] + 1
    tail = [(right + 1, below - 4), (right + 4, below - 4), (right - 3, below + 5), (right - 6, below + 5)]
    draw.polygon(tail, fill=30)
    return _scanned(page), _box(draw.textbbox((40, 30), "235,62", font=font))
