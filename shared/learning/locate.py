"""Where values sit on a page: find a known value's words (learning), read a value again from a
learned region (applying). Positions are shares of the page size, so they carry across documents of
a layout whatever their units (PDF points or pixels)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from shared.documents.content import DocumentContent, Page
from shared.domain.models import Provenance, Source
from shared.extraction.layout_labels import find_labels
from shared.extraction.layout_lines import TextLine, fold, page_lines
from shared.learning.models import LearnedPosition, NormBox
from shared.learning.values import Reading, matches_shape, read_value, shape_of, shows

MAX_RUN_WORDS = 8
LABEL_WORDS = 4
# How far around the expected box a re-read looks: a share of the page, plus the box's own size.
MARGIN_X, MARGIN_Y = 0.04, 0.008
ANCHORED, UNANCHORED = 0.9, 0.75  # confidence of a re-read whose label was found / not found
NO_SHAPE_PENALTY, AMBIGUOUS_PENALTY = 0.15, 0.15

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Run:
    """Consecutive words of one line: the characters [start, end) of ``line.text``."""

    line: TextLine
    first: int
    last: int

    @property
    def start(self) -> int:
        return self.line.spans[self.first][0]

    @property
    def end(self) -> int:
        return self.line.spans[self.last][1]

    @property
    def text(self) -> str:
        return self.line.text[self.start : self.end].replace("\t", " ")

    @property
    def words(self) -> int:
        return self.last - self.first + 1

    @property
    def box(self) -> Box:
        words = self.line.words[self.first : self.last + 1]
        return (
            min(w.x0 for w in words),
            min(w.top for w in words),
            max(w.x1 for w in words),
            max(w.bottom for w in words),
        )


def runs(line: TextLine, max_words: int = MAX_RUN_WORDS) -> Iterator[Run]:
    for first in range(len(line.words)):
        for last in range(first, min(len(line.words), first + max_words)):
            yield Run(line, first, last)


def normalise(box: Box, page: Page) -> NormBox:
    width, height = page.width or 1.0, page.height or 1.0
    return (box[0] / width, box[1] / height, box[2] / width, box[3] / height)


def _source(page: Page) -> Source:
    return Source.OCR if page.ocr else Source.TEXT


def provenance(run: Run, page: Page) -> Provenance:
    return Provenance(source=_source(page), page=page.number, bbox=run.box, text=run.text)


# --------------------------------------------------------------------------------------------- learning


@dataclass(frozen=True)
class Found:
    run: Run
    page: Page
    lines: list[TextLine]  # the page's lines
    reading: Reading
    labelled: int  # 2: a label of the field left of the value on its line, 1: on the line above, 0: none


def _labelled(name: str, run: Run, above: TextLine | None) -> int:
    if any(name in m.fields and m.end <= run.start for m in find_labels(run.line)):
        return 2
    if above is not None:
        x0, _, x1, _ = run.box
        for match in find_labels(above):
            box = above.bbox(match.start, match.end)
            if name in match.fields and box is not None and box[0] < x1 and x0 < box[2]:
                return 1
    return 0


def find_value(content: DocumentContent, name: str, value: str) -> Found | None:
    """Where ``value`` of field ``name`` is printed: the shortest run showing it, preferring one
    labelled for the field; among equals the first (the last for amounts: totals close a page)."""
    found: list[Found] = []
    for page in content.pages:
        lines = page_lines(page)
        for index, line in enumerate(lines):
            above = lines[index - 1] if index else None
            for run in runs(line):
                reading = shows(name, run.text, value)
                if reading is not None:
                    found.append(Found(run, page, lines, reading, _labelled(name, run, above)))
    if not found:
        return None
    shortest = min(f.run.words for f in found)
    best_label = max(f.labelled for f in found if f.run.words == shortest)
    kept = [f for f in found if f.run.words == shortest and f.labelled == best_label]
    return kept[-1] if name in ("subtotal", "tax", "total", "amount_due") else kept[0]


def _label_of(run: Run, lines: list[TextLine]) -> tuple[str, Box] | None:
    """The words that label a value: the nearest digit-free words left of it on its line, else the
    words of the line above that sit over it."""
    line = run.line
    left: list[int] = []
    gaps = 0  # column gaps crossed: a label sits in the value's column or the one before it
    for index in range(run.first - 1, -1, -1):
        word = line.words[index]
        gaps += "\t" in line.text[line.spans[index][1] : line.spans[index + 1][0]]
        if any(ch.isdigit() for ch in word.text) or len(left) == LABEL_WORDS or gaps > 1:
            break
        left.insert(0, index)
    if left and any(ch.isalpha() for i in left for ch in line.words[i].text):
        label = Run(line, left[0], left[-1])
        return _label_text(label.text), label.box
    above = [candidate for candidate in lines if candidate.bottom <= line.top and candidate.page == line.page]
    if above:
        previous = above[-1]
        x0, _, x1, _ = run.box
        over = [i for i, w in enumerate(previous.words) if w.x0 < x1 and x0 < w.x1]
        if over and any(ch.isalpha() for i in over for ch in previous.words[i].text):
            label = Run(previous, over[0], over[-1])
            return _label_text(label.text), label.box
    return None


def _label_text(text: str) -> str:
    return " ".join(fold(text).split()).strip(" :")


def learn_position(found: Found, name: str, invoice_id: str) -> LearnedPosition:
    run = found.run
    label = _label_of(run, found.lines)
    return LearnedPosition(
        page=found.page.number,
        box=normalise(run.box, found.page),
        label=label[0] if label else None,
        label_box=normalise(label[1], found.page) if label else None,
        shape=shape_of(name, run.text),
        words=run.words,
        day_first=found.reading.day_first,
        negate=found.reading.negate,
        learned_from=invoice_id,
    )


# --------------------------------------------------------------------------------------------- applying


class PageLines:
    """Each page's lines, computed once however many fields are re-read from it."""

    def __init__(self) -> None:
        self._lines: dict[int, list[TextLine]] = {}

    def __call__(self, page: Page) -> list[TextLine]:
        if page.number not in self._lines:
            self._lines[page.number] = page_lines(page)
        return self._lines[page.number]


@dataclass(frozen=True)
class Reread:
    value: str
    confidence: float
    provenance: Provenance


def _find_label(lines: list[TextLine], position: LearnedPosition, page: Page) -> NormBox | None:
    """The learned label on this page, the occurrence nearest to where it was learned."""
    if not position.label or position.label_box is None:
        return None
    best: tuple[float, NormBox] | None = None
    for line in lines:
        folded = " ".join(line.folded.replace("\t", " ").split())
        if position.label not in folded:
            continue
        # map the collapsed-text hit back to the line's words by matching word by word
        target = position.label.split()
        words = [" ".join(fold(w.text).split()).strip(" :") for w in line.words]
        for first in range(len(words) - len(target) + 1):
            window = " ".join(words[first : first + len(target)]).strip(" :")
            if window != position.label:
                continue
            box = normalise(Run(line, first, first + len(target) - 1).box, page)
            distance = abs(box[0] - position.label_box[0]) + abs(box[1] - position.label_box[1])
            if best is None or distance < best[0]:
                best = (distance, box)
    return best[1] if best else None


def reread(
    content: DocumentContent, name: str, position: LearnedPosition, lines_of: PageLines | None = None
) -> Reread | None:
    """The value of field ``name`` read again where ``position`` says it sits on this document: near
    its label when the label is found (moved with it), else at the learned place; it must have the
    learned shape and parse as the field's type."""
    page = next((p for p in content.pages if p.number == position.page), None)
    if page is None or not page.words:
        return None
    lines = (lines_of or PageLines())(page)
    label = _find_label(lines, position, page)
    dx = dy = 0.0
    if label is not None and position.label_box is not None:
        dx, dy = label[0] - position.label_box[0], label[1] - position.label_box[1]
    x0, top, x1, bottom = position.box
    expected = (x0 + dx, top + dy, x1 + dx, bottom + dy)
    margin_x = MARGIN_X + (x1 - x0) / 2
    margin_y = MARGIN_Y + (bottom - top) / 2
    reading = Reading(day_first=position.day_first, negate=position.negate)
    candidates: list[tuple[float, int, Run, str]] = []
    for line in lines:
        for run in runs(line, position.words + 2):
            box = normalise(run.box, page)
            center_y = (box[1] + box[3]) / 2
            if not expected[1] - margin_y <= center_y <= expected[3] + margin_y:
                continue
            if box[2] < expected[0] - margin_x or box[0] > expected[2] + margin_x:
                continue
            if not matches_shape(position.shape, name, run.text):
                continue
            value = read_value(name, run.text, reading)
            if value is None:
                continue
            aligned = min(abs(box[0] - expected[0]), abs(box[2] - expected[2]))
            distance = 4 * abs(box[1] - expected[1]) + aligned
            candidates.append((distance, abs(run.words - position.words), run, value))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (c[0], c[1]))
    _, _, run, value = candidates[0]
    confidence = ANCHORED if label is not None else UNANCHORED
    if position.shape is None:
        confidence -= NO_SHAPE_PENALTY
    if len({c[3] for c in candidates}) > 1:
        confidence -= AMBIGUOUS_PENALTY
    return Reread(value=value, confidence=round(confidence, 3), provenance=provenance(run, page))


def locate_text(content: DocumentContent, name: str, value: str) -> Provenance | None:
    """Where a known constant (a VAT id, a name) is printed on this document, if it is."""
    found = find_value(content, name, value)
    return provenance(found.run, found.page) if found else None
