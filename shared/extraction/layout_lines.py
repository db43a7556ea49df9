"""Reading geometry for the layout extractor: words grouped into lines, lines into segments.

A *line* is the words that share a baseline band. A *segment* is a run of words in a line without a
column-sized gap: "Invoice Number:" and "42183017" at the far right are two segments of one line.
Each line keeps a plain text (segments joined by a tab) with the character span of every word, so
label regexes can run over text and their matches map back to boxes.
"""

from __future__ import annotations

import functools
import statistics
import unicodedata
from dataclasses import dataclass, field

from shared.documents.content import DocumentContent, Page, Word

BBox = tuple[float, float, float, float]


@dataclass
class TextLine:
    page: int
    ocr: bool
    index: int  # position of the line on its page, top to bottom
    words: list[Word]
    text: str = ""
    folded: str = ""  # same length as text: lower case, no accents (for label matching)
    spans: list[tuple[int, int]] = field(default_factory=list)
    page_height: float = 0.0
    page_width: float = 0.0

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def height(self) -> float:
        return statistics.median(w.bottom - w.top for w in self.words)

    @property
    def rel_top(self) -> float:
        """Vertical position as a share of the page height (0 top, 1 bottom)."""
        return self.top / self.page_height if self.page_height else 0.5

    def word_indexes(self, start: int, end: int) -> list[int]:
        return [i for i, (a, b) in enumerate(self.spans) if a < end and b > start]

    def bbox(self, start: int, end: int) -> BBox | None:
        """Box of the characters [start, end); a part of a word gets a proportional share of it."""
        boxes: list[BBox] = []
        for i in self.word_indexes(start, end):
            word, (a, b) = self.words[i], self.spans[i]
            width = (word.x1 - word.x0) / max(1, b - a)
            x0 = word.x0 + max(0, start - a) * width
            x1 = word.x1 - max(0, b - end) * width
            boxes.append((x0, word.top, x1, word.bottom))
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))

    def x_at(self, position: int) -> float:
        """The x coordinate where character ``position`` starts."""
        for word, (a, b) in zip(self.words, self.spans, strict=True):
            if position < b:
                share = max(0, position - a) / max(1, b - a)
                return word.x0 + share * (word.x1 - word.x0)
        return self.words[-1].x1

    def segment_end(self, position: int) -> int:
        """End of the segment (tab-delimited column run) that contains ``position``."""
        tab = self.text.find("\t", position)
        return len(self.text) if tab < 0 else tab

    def segments(self) -> list[tuple[int, int]]:
        """(start, end) character spans of the line's segments."""
        out: list[tuple[int, int]] = []
        start = 0
        for part in self.text.split("\t"):
            out.append((start, start + len(part)))
            start += len(part) + 1
        return out


def fold(text: str) -> str:
    """Lower case and accents removed, one character for one character (spans stay valid)."""
    if text.isascii():  # most invoice text: str.lower keeps ASCII one for one
        return text.lower()
    return "".join(_fold_char(ch) for ch in text)


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    low = ch.lower()
    if len(low) != 1:
        low = ch
    base = "".join(c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c))
    return base if len(base) == 1 else low


def page_lines(page: Page) -> list[TextLine]:
    """The page's words as lines, top to bottom, each line's words left to right. On a scanned page,
    words are grouped by their centres with the page's skew taken out (``_ocr_slope``): a label at the
    left and its value at the right edge of a page scanned 1° askew are 20 px apart in height."""
    slope = _ocr_slope(page.words) if page.ocr else 0.0

    def level(word: Word) -> float:
        return (word.top + word.bottom) / 2 - slope * (word.x0 + word.x1) / 2

    words = sorted((w for w in page.words if w.text.strip()), key=lambda w: (level(w), w.x0))
    groups: list[list[Word]] = []
    for word in words:
        center = level(word)
        height = max(1.0, word.bottom - word.top)
        for group in reversed(groups[-3:]):
            ref = group[0]
            ref_center = level(ref)
            if abs(center - ref_center) < 0.45 * max(height, ref.bottom - ref.top) and not _overlaps_any(group, word):
                group.append(word)
                break
        else:
            groups.append([word])
    lines = [_make_line(page, sorted(group, key=lambda w: w.x0)) for group in groups]
    lines.sort(key=lambda line: (line.top, line.words[0].x0))
    for index, line in enumerate(lines):
        line.index = index
    return lines


def _ocr_slope(words: list[Word]) -> float:
    """The page's skew as a slope (dy / dx), from neighbouring words of one text line: OCR reads a line
    as a run whose words follow it, so the centres of two words side by side (a gap under two text
    heights, about the same height, centres less than half a height apart) rise or fall with the page.
    0 when fewer than eight such pairs say otherwise (a straight page, or too little text to tell)."""

    def centre(word: Word) -> float:
        return (word.top + word.bottom) / 2

    ordered = sorted((w for w in words if w.text.strip()), key=centre)
    slopes: list[float] = []
    for index, word in enumerate(ordered):
        height = max(1.0, word.bottom - word.top)
        for other in ordered[index + 1 : index + 12]:
            if centre(other) - centre(word) > 0.5 * height:
                break
            left, right = (word, other) if word.x0 <= other.x0 else (other, word)
            run = (right.x0 + right.x1 - left.x0 - left.x1) / 2
            if (
                -2 <= right.x0 - left.x1 < 2 * height
                and abs((other.bottom - other.top) - height) < 0.25 * height
                and run > height
            ):
                slopes.append((centre(right) - centre(left)) / run)
    if len(slopes) < 8:
        return 0.0
    slope = statistics.median(slopes)
    return slope if abs(slope) <= 0.05 else 0.0  # at most ~3°: more is not a skew the engine leaves


def _overlaps_any(group: list[Word], word: Word) -> bool:
    return any(w.x0 < word.x1 - 1 and word.x0 < w.x1 - 1 for w in group)


def _make_line(page: Page, words: list[Word]) -> TextLine:
    heights = [w.bottom - w.top for w in words]
    # A gap wider than ~1.2 character heights separates columns; OCR gaps are noisier, so wider.
    column_gap = (2.0 if page.ocr else 1.2) * statistics.median(heights)
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    cursor = 0
    previous: Word | None = None
    for word in words:
        if previous is not None:
            separator = "\t" if word.x0 - previous.x1 > column_gap else " "
            parts.append(separator)
            cursor += 1
        text = word.text.replace("\t", " ")
        spans.append((cursor, cursor + len(text)))
        parts.append(text)
        cursor += len(text)
        previous = word
    text = "".join(parts)
    return TextLine(
        page=page.number,
        # Text-layer words carry confidence 1; a line with OCR'd words (a picture on a text page) is OCR.
        ocr=page.ocr or any(w.confidence < 1.0 for w in words),
        index=0,
        words=words,
        text=text,
        folded=fold(text),
        spans=spans,
        page_height=page.height,
        page_width=page.width,
    )


def document_lines(content: DocumentContent) -> list[TextLine]:
    lines: list[TextLine] = []
    for page in content.pages:
        lines.extend(page_lines(page))
    return lines
