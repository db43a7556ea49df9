"""Text printed as a picture on a page that has a text layer.

Some invoices carry the issuer's name, address, VAT id and bank account only as an image (a pasted
letterhead block, a scanned stamp), beside an ordinary text layer: without reading the picture, the
vendor and its account are unknown. A page's image is read (rendered, cropped, OCR) when it covers
enough of the page to hold lines of text rather than a logo, and no text-layer words lie on it (a
background picture under real text adds nothing). Logos measured 0.5-3.7 % of the page on the dev
PDFs, the one letterhead block 7.7 %.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING

import pypdfium2
import pypdfium2.raw as pdfium_c

from shared.documents.content import Word

if TYPE_CHECKING:
    from shared.documents.pdf_text import Axis

MIN_PAGE_SHARE = 0.05
MAX_TEXT_WORDS_ON_IT = 2

BBox = tuple[float, float, float, float]  # displayed page points, origin top-left


def picture_boxes(
    page: pypdfium2.PdfPage, frame: tuple[bool, Axis, Axis], width: float, height: float, words: list[Word]
) -> list[BBox]:
    """Boxes of the page's top-level images that are worth reading (see the module docstring), in
    the displayed frame (``pdf_text.display_frame``). Images nested in form XObjects are not looked at."""
    area = width * height
    if area <= 0:
        return []
    swap, (x_sign, x_shift), (y_sign, y_shift) = frame
    boxes: list[BBox] = []
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    for index in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        handle = pdfium_c.FPDFPage_GetObject(page.raw, index)
        if pdfium_c.FPDFPageObj_GetType(handle) != pdfium_c.FPDF_PAGEOBJ_IMAGE:
            continue
        if not pdfium_c.FPDFPageObj_GetBounds(handle, left, bottom, right, top):
            continue
        xs = sorted(x_sign * v + x_shift for v in ((bottom.value, top.value) if swap else (left.value, right.value)))
        ys = sorted(y_sign * v + y_shift for v in ((left.value, right.value) if swap else (bottom.value, top.value)))
        box = (max(0.0, xs[0]), max(0.0, ys[0]), min(width, xs[1]), min(height, ys[1]))
        if (box[2] - box[0]) * (box[3] - box[1]) < MIN_PAGE_SHARE * area:
            continue
        if sum(1 for w in words if _centre_in(w, box)) > MAX_TEXT_WORDS_ON_IT:
            continue
        boxes.append(box)
    return boxes


def _centre_in(word: Word, box: BBox) -> bool:
    x, y = (word.x0 + word.x1) / 2, (word.top + word.bottom) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]
