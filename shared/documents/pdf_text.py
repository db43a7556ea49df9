"""Words with positions from a PDF's text layer (pdfium), one ``Page`` per PDF page.

Boxes are in PDF points, origin top-left, in the page as displayed (crop box, /Rotate applied):
the frame pdfium renders page images in, so boxes drawn on them line up. Characters are grouped
into words the way pdfplumber does (lines clustered by top, then x gaps, spaces and size changes
split words); pdfium's C text layer does it ~30x faster than pdfminer, which matters because every
digital invoice is read this way. A page that pdfium cannot read becomes an empty page with the
right number instead of failing the document.
"""

from __future__ import annotations

import bisect
import ctypes
import io
import itertools
import logging
import math
import unicodedata
from dataclasses import dataclass
from typing import Any

import pypdfium2
import pypdfium2.raw as pdfium_c

from shared.documents.content import Page, Word
from shared.documents.pdf_images import picture_boxes

log = logging.getLogger(__name__)

Axis = tuple[float, float]  # (sign, shift) of one displayed coordinate

# 1.5 pt keeps "1.234,56" or "INV/2023/03/0008" together (glyph gaps are ~0) yet splits table
# columns, whose gaps are many points wide; chars within 3 pt of a line's top belong to it.
X_TOLERANCE = 1.5
Y_TOLERANCE = 3.0
# Text smaller than this (points) is usually hidden fine print or invisible layer noise.
_MIN_FONT_SIZE = 1.0
# Off by more than this from the page's reading direction, a char is rotated: a margin mark or a
# filing stamp, never a field.
_MAX_SKEW_RADIANS = math.radians(2)


@dataclass(slots=True)
class _Char:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    baseline: float
    run: int = 0  # the text object drawing it (0: unknown)


class TextLayerUnreadable(Exception):
    """Neither pdfium nor pdfminer could open the PDF."""


def read_text_pages(source: bytes, max_pages: int) -> list[Page]:
    """The text-layer words of the first ``max_pages`` pages; a page that fails is returned empty.

    pdfium reads nearly everything; a file it refuses outright gets pdfminer, which recovers some
    damaged page trees that both qpdf and pdfium give up on (read slowly, but read)."""
    try:
        document = pypdfium2.PdfDocument(source)
    except (pypdfium2.PdfiumError, ValueError, OSError) as pdfium_error:
        return _pdfminer_pages(source, max_pages, pdfium_error)
    try:
        return [_read_page(document, index) for index in range(min(len(document), max_pages))]
    finally:
        document.close()


def _read_page(document: pypdfium2.PdfDocument, index: int) -> Page:
    number = index + 1
    try:
        page = document[index]
    except pypdfium2.PdfiumError as exc:
        log.warning("page %d: could not be opened (%s)", number, exc)
        return Page(number=number, width=0.0, height=0.0)
    try:
        width, height = (float(v) for v in page.get_size())
        try:
            text_page = page.get_textpage()
        except pypdfium2.PdfiumError as exc:
            log.warning("page %d: text layer unreadable (%s)", number, exc)
            return Page(number=number, width=width, height=height)
        frame = display_frame(page)
        try:
            chars = _upright_chars(page, text_page, frame)
        finally:
            text_page.close()
        words = _page_words(chars, width, height)
        pictures = picture_boxes(page, frame, width, height, words)
    finally:
        page.close()
    return Page(number=number, width=width, height=height, words=words, pictures=pictures)


def _page_words(chars: list[_Char], width: float, height: float) -> list[Word]:
    # Drawn off the page (clipped printer marks, hidden layers): not content.
    chars = [c for c in chars if c.x1 >= 0 and c.x0 <= width and c.bottom >= 0 and c.top <= height]
    words = [word for line in _lines(chars) for layer in _layers(line) for word in _words(layer)]
    return _join_touching(sorted(words, key=lambda w: (round(w.top), w.x0)))


def _pdfminer_pages(source: bytes, max_pages: int, pdfium_error: Exception) -> list[Page]:
    import pdfplumber  # only for the rare file pdfium refuses

    try:
        with pdfplumber.open(io.BytesIO(source), password="") as pdf:
            return [_pdfminer_page(page, index + 1) for index, page in enumerate(pdf.pages[:max_pages])]
    except Exception as exc:  # pdfminer raises a zoo of types (PSSyntaxError, KeyError, ...) on damage
        raise TextLayerUnreadable(f"{pdfium_error}; pdfminer: {type(exc).__name__}: {exc}") from exc


def _pdfminer_page(page: Any, number: int) -> Page:
    try:
        width, height = float(page.width), float(page.height)
        chars = [
            _Char(c["text"], c["x0"], c["top"], c["x1"], c["bottom"], round(c["size"], 3), c["bottom"])
            for c in page.chars
            if c.get("upright", True) and (c["text"] == " " or c["size"] > _MIN_FONT_SIZE)
        ]
    except Exception as exc:  # a damaged content stream: keep the page, empty
        log.warning("page %d: text layer unreadable (%s)", number, type(exc).__name__)
        return Page(number=number, width=0.0, height=0.0)
    return Page(number=number, width=width, height=height, words=_page_words(chars, width, height))


def _upright_chars(
    page: pypdfium2.PdfPage, text_page: pypdfium2.PdfTextPage, frame: tuple[bool, Axis, Axis]
) -> list[_Char]:
    """Every char readable left to right in the displayed page, in its frame; spaces kept (they split
    words), pdfium's generated spaces and line breaks dropped (the geometry decides those).

    This loop runs for every char of every digital invoice (~2 us each): the page's text comes in one
    call, pdfium's functions and the out-parameters are bound once outside the loop, and the change to
    the displayed frame is written out inline."""
    handle = text_page.raw
    count = pdfium_c.FPDFText_CountChars(handle)
    codes = _char_codes(handle, count)
    swap, (x_sign, x_shift), (y_sign, y_shift) = frame
    rotation = math.radians(page.get_rotation())
    box, matrix = pdfium_c.FS_RECTF(), pdfium_c.FS_MATRIX()
    origin_x, origin_y = ctypes.c_double(), ctypes.c_double()
    # Plain addresses for the per-char calls (see _by_address).
    page_address = ctypes.cast(handle, ctypes.c_void_p).value
    box_out, x_out, y_out = ctypes.addressof(box), ctypes.addressof(origin_x), ctypes.addressof(origin_y)
    is_generated = pdfium_c.FPDFText_IsGenerated
    chars: list[_Char] = []
    object_address: int | None = 0
    size = None
    index = 0
    while index < count:
        first = index
        code = codes[index]
        index += 1
        if 0x20 < code < 0x7F:
            text = chr(code)
        else:
            if 0xD800 <= code < 0xDC00 and index < count:  # UTF-16 surrogate pair: one character
                low = codes[index]
                if 0xDC00 <= low < 0xE000:
                    code, index = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00), index + 1
            other = _char_text(code)
            if other is None or (other == " " and is_generated(handle, first) == 1):
                continue
            text = other
        address = _get_text_object(page_address, first)
        if not address or address != object_address:
            # Chars of one text object share its matrix and size: read them once per object.
            object_address = address
            size = _drawn_size(handle, first, matrix, rotation)
        if size is None or (size <= _MIN_FONT_SIZE and text != " ") or not _get_loose_box(page_address, first, box_out):
            continue
        _get_origin(page_address, first, x_out, y_out)
        if swap:  # a quarter turn: displayed x comes from PDF y and displayed y from PDF x
            u0, v0, u1, v1, u, v = box.top, box.left, box.bottom, box.right, origin_y.value, origin_x.value
        else:
            u0, v0, u1, v1, u, v = box.left, box.top, box.right, box.bottom, origin_x.value, origin_y.value
        left, top, right, bottom = (
            x_sign * u0 + x_shift,
            y_sign * v0 + y_shift,
            x_sign * u1 + x_shift,
            y_sign * v1 + y_shift,
        )
        start, baseline = x_sign * u + x_shift, y_sign * v + y_shift
        x0, x1 = (left, right) if left <= right else (right, left)
        # pdfminer's (and a reader's) char starts at its origin; the loose box may overhang ("f").
        if x0 - X_TOLERANCE <= start <= x1:
            x0 = start
        # pdfminer's char is one em tall from the descent; pdfium's loose box is the font's
        # (often taller) bounding box. The extractor's line geometry was tuned on the former.
        bottom = bottom if bottom >= top else top
        chars.append(_Char(text, x0, bottom - size, x1, bottom, round(size, 3), baseline, address or 0))
    _end_at_next_origin(chars)
    return chars


def _char_codes(handle: pdfium_c.FPDF_TEXTPAGE, count: int) -> list[int]:
    """Each char's code (UTF-16 unit) as FPDFText_GetUnicode gives it, the page's text read in one call.

    FPDFText_GetText agrees with it char for char when it returns one unit per char (checked on every
    page of the dev sets), except that its text has U+FFFE where the char is pdfium's line-end hyphen
    mark (0x02): those are read one by one. Where the lengths differ (right-to-left runs reordered),
    every char is."""
    if count <= 0:
        return []
    get_unicode = pdfium_c.FPDFText_GetUnicode
    buffer = (ctypes.c_ushort * (count + 1))()
    if pdfium_c.FPDFText_GetText(handle, 0, count, buffer) != count + 1:
        return [get_unicode(handle, index) for index in range(count)]
    codes = buffer[:count]
    if 0xFFFE in codes:
        for index, code in enumerate(codes):
            if code == 0xFFFE:
                codes[index] = get_unicode(handle, index)
    return codes


def _by_address(function: Any, restype: Any, *argtypes: Any) -> Any:
    """A pdfium function taking (and, for pointers, returning) plain addresses as ints: pypdfium2's
    bindings check and convert typed pointers, which is most of the cost of a call made for every
    char (FPDFText_GetCharOrigin: 0.76 -> 0.41 us)."""
    address = ctypes.cast(function, ctypes.c_void_p).value or 0
    return ctypes.CFUNCTYPE(restype, *argtypes)(address)


_VOID_P, _INT = ctypes.c_void_p, ctypes.c_int
_get_text_object = _by_address(pdfium_c.FPDFText_GetTextObject, _VOID_P, _VOID_P, _INT)
_get_loose_box = _by_address(pdfium_c.FPDFText_GetLooseCharBox, _INT, _VOID_P, _INT, _VOID_P)
_get_origin = _by_address(pdfium_c.FPDFText_GetCharOrigin, _INT, _VOID_P, _INT, _VOID_P, _VOID_P)


def _drawn_size(
    handle: pdfium_c.FPDF_TEXTPAGE, index: int, matrix: pdfium_c.FS_MATRIX, rotation: float
) -> float | None:
    """The char's font size as drawn (the size operand scaled by the text and graphics matrices), or
    None for text that is not upright as displayed: mirrored (negative determinant), degenerate, or
    turned (the page turns clockwise by /Rotate, undoing text turned the other way)."""
    if not pdfium_c.FPDFText_GetMatrix(handle, index, ctypes.byref(matrix)):
        return None
    a, b, c, d = matrix.a, matrix.b, matrix.c, matrix.d
    determinant = a * d - b * c
    if determinant <= 0 or ((b or c or rotation) and _skew(math.atan2(b, a) - rotation) > _MAX_SKEW_RADIANS):
        return None
    return float(pdfium_c.FPDFText_GetFontSize(handle, index)) * math.sqrt(determinant)


def _char_text(code: int) -> str | None:
    """The char's text; None for line breaks, control codes and broken surrogates."""
    if code == 0x02:
        return "-"  # pdfium's mark for a hyphen that breaks a word at the end of a line
    if code >= 0x110000 or 0xD800 <= code < 0xE000 or code in (0xFFFE, 0xFFFF):
        return None
    text = chr(code)
    if text.isspace():
        return " " if code not in (0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029) else None
    return None if unicodedata.category(text) == "Cc" else text


def _end_at_next_origin(chars: list[_Char]) -> None:
    """A char drawn right after another on the same baseline ends where the next one starts: its
    advance, as pdfminer measures it, where the loose box would overhang into the next word."""
    for this, following in itertools.pairwise(chars):
        if abs(following.baseline - this.baseline) < 0.01 and this.x0 < following.x0 < this.x1:
            this.x1 = following.x0


def _skew(radians: float) -> float:
    """How far an angle is from upright, in radians (0 for 0 and 2 pi)."""
    turn = radians % (2 * math.pi)
    return min(turn, 2 * math.pi - turn)


def display_frame(page: pypdfium2.PdfPage) -> tuple[bool, Axis, Axis]:
    """PDF user space -> displayed page (points, origin top-left), as pdfium renders the page, as
    (swap, x axis, y axis): displayed x = sign · (PDF y if swap else PDF x) + shift, displayed y
    likewise from the other coordinate. The per-char loop writes it out inline (a function call per
    point was a tenth of its time)."""
    crop_left, crop_bottom, crop_right, crop_top = (float(v) for v in page.get_cropbox())
    rotation = page.get_rotation() % 360
    if rotation == 90:
        return True, (1.0, -crop_bottom), (1.0, -crop_left)
    if rotation == 180:
        return False, (-1.0, crop_right), (1.0, -crop_bottom)
    if rotation == 270:
        return True, (-1.0, crop_top), (-1.0, crop_right)
    return False, (1.0, -crop_left), (-1.0, crop_top)


def _lines(chars: list[_Char]) -> list[list[_Char]]:
    """Chars clustered into lines by top (a chain: each within ``Y_TOLERANCE`` of the previous), each
    line read left to right."""
    lines: list[list[_Char]] = []
    last_top = -math.inf
    for char in sorted(chars, key=lambda c: c.top):
        if char.top - last_top > Y_TOLERANCE or not lines:
            lines.append([])
        lines[-1].append(char)
        last_top = char.top
    for line in lines:
        line.sort(key=lambda c: c.x0)
    return lines


def _layers(line: list[_Char]) -> list[list[_Char]]:
    """A line's chars as layers, each read left to right: one, unless a text object's glyphs sit on top
    of another's (a new amount drawn over a covered one). Interleaving those would make one word of
    both ("652299,8,877"); apart, each is read as drawn."""
    if not any(_drawn_over(a, b) for a, b in itertools.pairwise(line)):
        return [line]  # the usual line: x-sorted, no glyph of one object on top of another's
    runs: dict[int, list[_Char]] = {}
    for char in line:
        runs.setdefault(char.run, []).append(char)
    layers: list[_Layer] = []
    for run in runs.values():
        layer = next((layer for layer in layers if not layer.overlaps(run)), None)
        if layer is None:
            layer = _Layer()
            layers.append(layer)
        layer.add(run)
    return [sorted(layer.chars, key=lambda c: c.x0) for layer in layers]


def _drawn_over(a: _Char, b: _Char) -> bool:
    """Neighbours (by x) from different text objects whose glyphs overlap by over half a glyph."""
    if a.run == b.run or a.text == " " or b.text == " ":
        return False
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 * min(a.x1 - a.x0, b.x1 - b.x0) > 0


class _Layer:
    """Chars that do not overlap each other, with their extents sorted for quick overlap tests."""

    def __init__(self) -> None:
        self.chars: list[_Char] = []
        self._starts: list[float] = []
        self._spans: list[tuple[float, float]] = []

    def overlaps(self, run: list[_Char]) -> bool:
        for char in run:
            width = char.x1 - char.x0
            if char.text == " " or width <= 0:
                continue
            # Glyphs further left than one char width cannot reach this one.
            index = bisect.bisect_left(self._starts, char.x0 - 2 * width)
            for x0, x1 in self._spans[index:]:
                if x0 >= char.x1:
                    break
                if min(x1, char.x1) - max(x0, char.x0) > 0.5 * min(width, x1 - x0):
                    return True
        return False

    def add(self, run: list[_Char]) -> None:
        self.chars.extend(run)
        for char in run:
            if char.text != " " and char.x1 > char.x0:
                index = bisect.bisect_left(self._starts, char.x0)
                self._starts.insert(index, char.x0)
                self._spans.insert(index, (char.x0, char.x1))


def _words(line: list[_Char]) -> list[Word]:
    words: list[Word] = []
    current: list[_Char] = []
    for char in line:
        if char.text.isspace():
            _flush(current, words)
            current = []
            continue
        if current and _begins_new_word(current[-1], char):
            _flush(current, words)
            current = []
        current.append(char)
    _flush(current, words)
    return words


def _begins_new_word(previous: _Char, char: _Char) -> bool:
    return (
        char.size != previous.size
        or char.x0 < previous.x0 - X_TOLERANCE
        or char.x0 > previous.x1 + X_TOLERANCE
        or abs(char.top - previous.top) > Y_TOLERANCE
    )


def _flush(chars: list[_Char], words: list[Word]) -> None:
    if not chars:
        return
    words.append(
        Word(
            text="".join(c.text for c in chars),
            x0=min(c.x0 for c in chars),
            top=min(c.top for c in chars),
            x1=max(c.x1 for c in chars),
            bottom=max(c.bottom for c in chars),
        )
    )


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
