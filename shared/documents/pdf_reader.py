"""A PDF's content: the embedded e-invoice (pikepdf), text-layer words (pdfium), and OCR of
pages that have no text layer and of text printed as pictures on the others (pdfium raster ->
OcrEngine), all pages in PDF points."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pikepdf
import pypdfium2

from shared.documents.content import ContentKind, DocumentContent, DocumentRejected, Page, Word
from shared.documents.pdf_attachments import find_einvoice
from shared.documents.pdf_text import TextLayerUnreadable, read_text_pages

if TYPE_CHECKING:
    from PIL import Image

    from shared.ocr import OcrEngine

log = logging.getLogger(__name__)

OCR_DPI = 200
# A page whose text layer has fewer characters than this is a scan (maybe with a stamp or a page
# number on top) and goes to OCR.
MIN_TEXT_CHARS = 20
# Raster cap per page: an absurd MediaBox must not become a multi-gigapixel bitmap.
MAX_RASTER_PIXELS = 40_000_000


def read_pdf(data: bytes, *, ocr: OcrEngine | None, max_pages: int, max_ocr_pages: int) -> DocumentContent:
    content = DocumentContent(kind=ContentKind.PDF)
    structure = _read_structure(data, content)
    pages = _text_pages(structure, max_pages, content)
    if pages is None:
        return content  # warning recorded; the embedded XML is still usable
    expected = min(structure.page_count, max_pages)
    for number in range(len(pages) + 1, expected + 1):  # pages the text layer lost: keep them, for OCR
        width, height = structure.sizes.get(number, (0.0, 0.0))
        pages.append(Page(number=number, width=width, height=height))
    content.page_count = max(structure.page_count, len(pages))
    if content.page_count > len(pages):
        content.warnings.append(f"read first {len(pages)} of {content.page_count} pages")
    content.pages = pages
    _ocr(structure.sources[0], content, ocr, max_ocr_pages)
    return content


@dataclass
class _Structure:
    sources: list[bytes]  # what pdfium should try, best first (qpdf's repair before the original)
    page_count: int = 0
    sizes: dict[int, tuple[float, float]] = field(default_factory=dict)
    error: str | None = None  # why qpdf could not open it, if it could not


def _read_structure(data: bytes, content: DocumentContent) -> _Structure:
    """qpdf (pikepdf) first: it repairs damaged xref tables, decrypts empty-password files, finds the
    embedded XML and counts pages. pdfium then reads words from qpdf's clean rewrite."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            structure = _Structure(sources=[data], page_count=_page_count(pdf), sizes=_page_sizes(pdf))
            found = find_einvoice(pdf)
            if found is not None:
                content.xml_name, content.xml = found
            if pdf.is_encrypted or pdf.get_warnings():
                rewritten = _rewritten(pdf)
                if rewritten is not None:
                    structure.sources.insert(0, rewritten)
            return structure
    except pikepdf.PasswordError as exc:
        raise DocumentRejected("encrypted PDF") from exc
    except (pikepdf.PdfError, RecursionError, ValueError, OSError) as exc:
        # pdfium sometimes reads what qpdf refuses; it gets a chance before the file is rejected.
        content.warnings.append(f"PDF structure damaged: {_short(exc)}")
        return _Structure(sources=[data], error=_short(exc))


def _page_count(pdf: pikepdf.Pdf) -> int:
    try:
        return len(pdf.pages)
    except (pikepdf.PdfError, RecursionError, ValueError):
        return 0


def _page_sizes(pdf: pikepdf.Pdf, limit: int = 500) -> dict[int, tuple[float, float]]:
    sizes: dict[int, tuple[float, float]] = {}
    try:
        for index, page in enumerate(pdf.pages):
            if index >= limit:
                break
            box = page.mediabox
            sizes[index + 1] = (abs(float(box[2]) - float(box[0])), abs(float(box[3]) - float(box[1])))
    except (pikepdf.PdfError, RecursionError, ValueError, TypeError, IndexError, AttributeError):
        pass
    return sizes


def _rewritten(pdf: pikepdf.Pdf) -> bytes | None:
    try:
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()
    except (pikepdf.PdfError, RecursionError, ValueError, OSError) as exc:
        log.info("qpdf could not rewrite the PDF: %s", _short(exc))
        return None


def _text_pages(structure: _Structure, max_pages: int, content: DocumentContent) -> list[Page] | None:
    """Text-layer pages via pdfium, from the source that yields the most pages."""
    expected = max(1, min(structure.page_count, max_pages))
    best: list[Page] = []
    error = structure.error
    for source in structure.sources:
        try:
            pages = read_text_pages(source, max_pages)
        except TextLayerUnreadable as exc:
            error = error or _short(exc)
            continue
        if len(pages) > len(best):
            best = pages
        if len(best) >= expected:
            break
    if best or structure.page_count > 0:
        return best  # pages pdfium could not see are padded by the caller
    if content.xml is not None:
        content.warnings.append(f"text layer unreadable: {error or 'no pages'}")
        return None
    raise DocumentRejected(f"unreadable PDF: {error or 'no pages'}")


def _ocr(data: bytes, content: DocumentContent, ocr: OcrEngine | None, max_ocr_pages: int) -> None:
    """OCR of the pages without a text layer, then of text-bearing pictures on the other pages
    (``pdf_images``); every page or picture read counts against ``max_ocr_pages``."""
    if ocr is None:
        return
    scanned = [page for page in content.pages if sum(len(w.text) for w in page.words) < MIN_TEXT_CHARS]
    if len(scanned) > max_ocr_pages:
        content.warnings.append(f"OCR limited to {max_ocr_pages} of {len(scanned)} pages without text")
    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        if scanned:
            content.warnings.append(f"pages could not be rasterised for OCR: {_short(exc)}")
        return
    try:
        for page in scanned[:max_ocr_pages]:
            _ocr_page(document, page, ocr, content)
        budget = max_ocr_pages - min(len(scanned), max_ocr_pages)
        for page in content.pages:
            if budget <= 0:
                break
            if page.pictures and not page.ocr:
                budget -= _ocr_pictures(document, page, ocr, content, budget)
    finally:
        document.close()


def _render(document: pypdfium2.PdfDocument, page: Page, content: DocumentContent) -> Image.Image | None:
    """The page as displayed (crop box, rotation applied: the frame of text-layer words), greyscale
    at ``OCR_DPI``; the page's size is filled in when the text layer could not give it."""
    try:
        pdfium_page = document[page.number - 1]
        width_pt, height_pt = pdfium_page.get_size()
        scale = OCR_DPI / 72.0
        pixels = width_pt * height_pt * scale * scale
        if pixels > MAX_RASTER_PIXELS:
            scale *= (MAX_RASTER_PIXELS / pixels) ** 0.5
        image: Image.Image = pdfium_page.render(scale=scale, grayscale=True).to_pil()
    except (pypdfium2.PdfiumError, ValueError, IndexError, OSError) as exc:
        content.warnings.append(f"page {page.number}: could not be rasterised ({_short(exc)})")
        return None
    if page.width <= 0 or page.height <= 0:
        page.width, page.height = float(width_pt), float(height_pt)
    return image


def _ocr_page(document: pypdfium2.PdfDocument, page: Page, ocr: OcrEngine, content: DocumentContent) -> None:
    image = _render(document, page, content)
    if image is None:
        return
    sx, sy = page.width / image.width, page.height / image.height
    words = ocr.recognize(image)  # greyscale, as rendered: any OcrEngine takes any PIL mode
    page.words = [_scaled(w, sx, sy) for w in words if w.text.strip()]
    page.words.sort(key=lambda w: (round(w.top), w.x0))
    page.ocr = True


def _ocr_pictures(
    document: pypdfium2.PdfDocument, page: Page, ocr: OcrEngine, content: DocumentContent, budget: int
) -> int:
    """Adds the words of the page's text-bearing pictures to its text-layer words; returns how many
    pictures were read."""
    boxes = page.pictures[:budget]
    image = _render(document, page, content) if boxes else None
    if image is None:
        return 0
    sx, sy = page.width / image.width, page.height / image.height
    for x0, top, x1, bottom in boxes:
        left, upper = int(x0 / sx), int(top / sy)
        crop = image.crop((left, upper, max(left + 1, int(x1 / sx)), max(upper + 1, int(bottom / sy))))
        page.words += [_scaled(w, sx, sy, left, upper) for w in ocr.recognize(crop) if w.text.strip()]
    page.words.sort(key=lambda w: (round(w.top), w.x0))
    return len(boxes)


def _scaled(word: Word, sx: float, sy: float, dx: int = 0, dy: int = 0) -> Word:
    """An OCR word from image pixels (of a crop at ``dx``, ``dy``) to page points."""
    return Word(
        text=word.text,
        x0=(word.x0 + dx) * sx,
        top=(word.top + dy) * sy,
        x1=(word.x1 + dx) * sx,
        bottom=(word.bottom + dy) * sy,
        confidence=word.confidence,
    )


def _short(exc: BaseException | None) -> str:
    """One line for the rejection reason, without the "stream <_io.BytesIO ...>:" prefix qpdf adds."""
    if exc is None:
        return "unknown error"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = re.sub(r"^(stream )?<_io\.BytesIO object at 0x[0-9a-f]+>:\s*", "", text)[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
