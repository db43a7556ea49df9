"""Words with positions from a PDF's text layer (pdfplumber), one ``Page`` per PDF page.

Boxes are in PDF points with the origin at the top-left, as pdfplumber gives them. A page that
pdfminer cannot read becomes an empty page with the right number instead of failing the document.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from shared.documents.content import Page, Word

if TYPE_CHECKING:
    from pdfplumber.pdf import PDF

log = logging.getLogger(__name__)

# x_tolerance 1.5 keeps "1.234,56" or "INV/2023/03/0008" together (glyph gaps are ~0) yet splits
# table columns, whose gaps are many points wide. use_text_flow=False: order by position, because
# extraction pairs labels and values geometrically, and content-stream order is often arbitrary.
_WORD_OPTIONS: dict[str, Any] = {
    "x_tolerance": 1.5,
    "y_tolerance": 3,
    "keep_blank_chars": False,
    "use_text_flow": False,
    "extra_attrs": ["size", "upright"],
}
# Text smaller than this (points) is usually hidden fine print or invisible layer noise.
_MIN_FONT_SIZE = 1.0


def read_text_pages(pdf: PDF, max_pages: int) -> list[Page]:
    """The text-layer words of the first ``max_pages`` pages; a page that raises is returned empty."""
    pages: list[Page] = []
    for index, plumber_page in enumerate(pdf.pages[:max_pages]):
        pages.append(_read_page(plumber_page, index + 1))
    return pages


def _read_page(plumber_page: Any, number: int) -> Page:
    try:
        width, height = float(plumber_page.width), float(plumber_page.height)
    except Exception:  # a broken MediaBox: keep the page, unknown size
        width, height = 0.0, 0.0
    try:
        raw_words = plumber_page.extract_words(**_WORD_OPTIONS)
    except Exception as exc:  # pdfminer raises many kinds on damaged content streams
        log.warning("page %d: text layer unreadable (%s)", number, type(exc).__name__)
        return Page(number=number, width=width, height=height)
    words = [word for raw in raw_words if (word := _to_word(raw, width, height)) is not None]
    words = _join_touching(sorted(words, key=lambda w: (round(w.top), w.x0)))
    return Page(number=number, width=width, height=height, words=words)


def _to_word(raw: dict[str, Any], width: float, height: float) -> Word | None:
    text = str(raw.get("text", "")).strip()
    # Vertical (rotated) text is margin decoration or a filing mark, never a field.
    if not text or not raw.get("upright", True) or float(raw.get("size") or 0.0) < _MIN_FONT_SIZE:
        return None
    x0, top, x1, bottom = (float(raw[key]) for key in ("x0", "top", "x1", "bottom"))
    # Words drawn off the page (clipped printer marks, hidden layers) are not content.
    if width and height and (x1 < 0 or x0 > width or bottom < 0 or top > height):
        return None
    return Word(text=text, x0=x0, top=top, x1=x1, bottom=bottom)


def _join_touching(words: list[Word]) -> list[Word]:
    """Join words that touch on the same line: a space glyph of no width between them (a common
    kerning artefact, "F actuurnummer:") splits a word that a reader sees as one."""
    joined: list[Word] = []
    for word in words:
        last = joined[-1] if joined else None
        if (
            last is not None
            and abs(last.top - word.top) < 0.5
            and abs(last.bottom - word.bottom) < 0.5
            and -0.1 * (word.bottom - word.top) <= word.x0 - last.x1 < 0.08 * (word.bottom - word.top)
        ):
            joined[-1] = Word(text=last.text + word.text, x0=last.x0, top=last.top, x1=word.x1, bottom=last.bottom)
        else:
            joined.append(word)
    return joined
