"""One digit out of line inside a printed amount: the scan trace of a single retyped digit.

The digits of one printed number share a font, so they share a height, a top and a baseline. A digit
painted in by an image editor is typed in a font its editor picked by eye: at 150-200 dpi it is
often 2-4 px shorter, higher or lower than its neighbours, where untouched digits agree to a fraction
of a pixel. Each digit's top and bottom are measured to sub-pixel precision (where its ink profile
crosses half and, as a check, 30 % of the word's ink contrast), and the digit furthest from the
others is compared with how well those others agree among themselves.

Measurement fails on broken or faint print (thermal receipts, dot-matrix): a digit whose edges move
between the two contrast levels, a word whose glyphs do not separate into exactly one shape per
digit, or digits under ``MIN_HEIGHT_PX`` are not measured at all: no measurement is no evidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise, product

import cv2
import numpy as np

from shared.forensics.image import Box
from shared.forensics.models import on_line
from shared.forensics.tokens import CURRENCY_SIGNS, GLUED_LABEL, GLUED_WORD, digits, glued_words_dropped

MIN_HEIGHT_PX = 8.0  # below this a pixel is over an eighth of the glyph: edges mean little
MIN_DIGITS = 3  # the odd one needs at least two others to be odd against
TALL = 0.6  # a shape at least this share of the usual tall one is a digit; commas and dots are shorter
MIN_CONTRAST = 50  # grey levels between ink and paper, else the print is too faint to measure
RULE_FILL = 0.9  # a crop row this much ink is a table rule (text rows have gaps between glyphs)
# Digits and the short marks between them, with at most one currency sign or ISO code before or after
# them (OCR often reads "€117,97" or "EUR929,87" as one word): the sign's or code's own shapes are left
# out. Parentheses are not taken: OCR's word box may hold one that the word's text does not (or the reverse).
PLAIN_NUMBER = re.compile(
    rf"(?P<before>[{CURRENCY_SIGNS}]|[A-Z]{{3}})?-?\d[\d.,' \u202f]*\d-?(?P<after>[{CURRENCY_SIGNS}]|[A-Z]{{3}})?"
)
WIDE = 1.6  # a shape this many times the usual digit width is two digits the scan's blur joined
EDGE_LEVELS = (0.5, 0.3)  # ink-profile levels: a glyph's edges at both must agree (solid print)
# Where a number's digits are looked for: at half contrast, else lower, where a digit printed fainter
# or thinner than its neighbours (retyped in another font) is whole instead of broken in specks.
SHAPE_LEVELS = (0.5, 0.3)
MAX_EDGE_SHIFT = 0.10  # of the digit height: more between the two levels means broken or faint ink
# A glyph at most GLYPH_GAP word heights beyond a word box's end, within its rows, belongs to the word
# (glyphs of one word sit closer than that, words further apart); looked for up to GLYPH_REACH heights out.
GLYPH_GAP = 0.3
GLYPH_REACH = 1.5
GLYPH_TALL = 0.5  # of the word's tallest glyph: shorter shapes (dots, commas, dashes) do not widen a box
GLYPH_WIDE = 1.2  # of its own height: a wider shape is a shaded cell's noise or a rule, not a glyph
# A shape one too many at a number's end, SPACE digit heights and SPACE_TO_GAPS times the digits' own
# gaps away from them, is the next word's: a space sets words apart, digits sit closer.
SPACE = 0.5
SPACE_TO_GAPS = 2.0
# Where OCR read a number as one word with a label or the next word, the space it missed is narrower:
# blanks this many digit heights wide are tried as the cut (a cut that is not one leaves the wrong shapes).
GLUED_SPACE = 0.25
# A box moved off a rule keeps at most INK_MARGIN digit heights of paper beside its ink, as an OCR box
# does: narrower, the digits' own measurement loses the paper it reads their edges against.
INK_MARGIN = 0.5
GLYPH_SIZED = 0.4  # of the page's usual word box height: a box moves only onto shapes at least this tall


@dataclass(frozen=True)
class OddDigit:
    """The digit furthest from the others of its number, in the page image's pixels."""

    index: int  # which digit of the number, from the left
    deviation: float  # its largest height / top / bottom difference from the others, in digit heights
    spread: float  # how far the other digits are from each other, same unit
    box: Box  # the digit's own box
    height: float  # its height, px
    others_height: float  # the other digits' median height, px


@dataclass(frozen=True)
class PrintedNumber:
    """A plain number's digits measured on the page image: each digit's columns and its sub-pixel top
    and bottom (half-contrast edges), in the page's pixels."""

    lefts: np.ndarray
    rights: np.ndarray
    tops: np.ndarray
    bottoms: np.ndarray
    split: np.ndarray  # per digit: cut out of a shape it shared with a neighbour (its edges are less sure)

    @property
    def heights(self) -> np.ndarray:
        heights: np.ndarray = self.bottoms - self.tops
        return heights

    @property
    def height(self) -> float:
        """The usual digit height: its median."""
        return float(np.median(self.heights))

    @property
    def baseline(self) -> float:
        return float(np.median(self.bottoms))

    @property
    def box(self) -> Box:
        """All its digits' ink."""
        return (float(self.lefts.min()), float(self.tops.min()), float(self.rights.max()), float(self.bottoms.max()))


@dataclass(frozen=True)
class InkCrop:
    """A word's ink, from 0 (paper) to 1 (ink), and where its crop sits on the page."""

    ink: np.ndarray
    top: int
    left: int


def ink_crop(grey: np.ndarray, box: Box, pad_share: float) -> InkCrop | None:
    """The word in ``box`` with ``pad_share`` of its height above and below, scaled between its own
    paper and ink levels; None when it is under ``MIN_HEIGHT_PX``, off the page or too faint."""
    x0, top, x1, bottom = box
    if bottom - top < MIN_HEIGHT_PX:
        return None
    pad = max(2, round(pad_share * (bottom - top)))
    ya, xa = max(0, int(top) - pad), max(0, int(x0) - 2)
    crop = grey[ya : int(bottom) + pad + 1, xa : int(x1) + 3].astype(np.float32)
    if crop.size == 0:
        return None
    ink_level, paper_level = np.percentile(crop, 3), np.percentile(crop, 90)
    # A table rule through the crop is not the word's ink: where it is darker than the glyphs it
    # would make them look faint (half of the rule's contrast cuts through their strokes).
    ruled = (crop < (ink_level + paper_level) / 2).mean(axis=1) >= RULE_FILL
    if ruled.any() and not ruled.all():
        ink_level = np.percentile(crop[~ruled], 3)
    if paper_level - ink_level < MIN_CONTRAST:
        return None
    return InkCrop(np.clip((paper_level - crop) / (paper_level - ink_level), 0, 1), ya, xa)


def ink_pieces(ink: np.ndarray, level: float = 0.5) -> list[tuple[int, int, int, int, int]]:
    """Connected shapes at ``level`` of contrast, half by default (columns x0, x1, rows top, bottom,
    area), leaving out specks and shapes cut by the crop's top or bottom (they belong to the lines
    above or below)."""
    count, _labels, stats, _ = cv2.connectedComponentsWithStats((ink >= level).astype(np.uint8), connectivity=8)
    return [
        (int(x), int(x + w), int(y), int(y + h), int(area))
        for x, y, w, h, area in stats[1:count]
        if area >= 3 and y > 0 and y + h < ink.shape[0]
    ]


def widened_to_glyphs(grey: np.ndarray, box: Box, left_limit: float, right_limit: float) -> Box:
    """``box`` widened over whole glyphs its ends leave out, never past ``left_limit`` or ``right_limit``
    (the neighbouring words). OCR cuts a line's box into words by character position, and can leave a
    word's first or last glyph outside its box (RapidOCR put "1,23" right of its "1"): the glyph a forger
    retyped is the one the tiles must cover. Rules and the lines above and below are not glyphs: shapes
    reaching past the word's rows are left out (``ink_pieces``)."""
    x0, top, x1, bottom = box
    height = bottom - top
    wide = (max(left_limit, x0 - GLYPH_REACH * height), top, min(right_limit, x1 + GLYPH_REACH * height), bottom)
    crop = ink_crop(grey, wide, 0.35)
    if crop is None:
        return box
    width = crop.ink.shape[1]
    shapes = [
        (left + crop.left, right + crop.left, lower - upper)
        for left, right, upper, lower, _ in ink_pieces(crop.ink)
        if left > 0
        and right < width  # a shape cut by the crop's side belongs to a neighbour
        and right - left <= GLYPH_WIDE * (lower - upper)
    ]
    own = [tall for left, right, tall in shapes if x0 <= (left + right) / 2 <= x1]
    if not own:
        return box
    glyphs = sorted((left, right) for left, right, tall in shapes if tall >= GLYPH_TALL * max(own))
    gap = GLYPH_GAP * height
    for left, right in reversed(glyphs):  # right to left: each glyph joins when it reaches the box
        if left < x0 and right >= x0 - gap:
            x0 = left
    for left, right in glyphs:
        if right > x1 and left <= x1 + gap:
            x1 = right
    return (float(x0), top, float(x1), bottom)


def moved_to_glyphs(grey: np.ndarray, box: Box, usual: float, others: Sequence[Box] = ()) -> Box:
    """``box`` moved onto its glyphs' rows when it holds none of them whole: OCR takes a word's rows from
    the strongest run of ink in its line's crop, which a rule above or below the line can win (a box on
    the rule and the glyphs' top, the glyphs under it). The glyphs are the whole shapes, no wider than
    ``GLYPH_WIDE`` of their height, centred in the box's columns within ``usual`` (the page's usual word
    height) above or below it; the box takes the rows of those nearest its centre.

    A box that holds its glyphs and also glyphs inside ``others`` (the page's other word boxes) is cut to
    its own: a box on a rule, redrawn a word and a half tall (``check.page_boxes``), can reach the number
    printed over the rule, and measuring both lines as one number measures nothing.

    The box stays where it is when another word's box is where it would go, on that line and over those
    columns: the glyphs there are that word's (thermal print breaks up, and OCR boxes its pieces)."""
    moved = _onto_glyphs(grey, box, usual, others)
    if moved != box and any(
        on_line(moved, other) and min(moved[2], other[2]) > max(moved[0], other[0]) for other in others
    ):
        return box
    return moved


def _onto_glyphs(grey: np.ndarray, box: Box, usual: float, others: Sequence[Box]) -> Box:
    """``moved_to_glyphs`` before its check that no other word's box is there."""
    x0, top, x1, bottom = box
    crop = ink_crop(grey, (x0, top - usual, x1, bottom + usual), 0.0)
    if crop is None:
        return box
    pieces = [
        (left + crop.left, right + crop.left, upper + crop.top, lower + crop.top)
        for left, right, upper, lower, _ in ink_pieces(_bridged(crop.ink))
        if x0 <= (left + right) / 2 + crop.left <= x1 and right - left <= GLYPH_WIDE * (lower - upper)
    ]
    tallest = max((lower - upper for _, _, upper, lower in pieces), default=0)
    if tallest < GLYPH_SIZED * usual:  # commas and specks only: no glyph to move onto
        return box
    glyphs = [piece for piece in pieces if piece[3] - piece[2] >= GLYPH_TALL * tallest]
    pad = 0.25 * (bottom - top)  # as measured: the digits' crop is padded by a quarter of the box height
    held = [glyph for glyph in glyphs if glyph[2] >= top - pad and glyph[3] <= bottom + pad]
    own = [glyph for glyph in held if not any(_inside(glyph, other) for other in others)]
    if own and len(own) < len(held):
        upper, lower = min(glyph[2] for glyph in own), max(glyph[3] for glyph in own)
        if all(glyph[3] <= upper or glyph[2] >= lower for glyph in held if glyph not in own):
            return _columns_of(crop, upper, lower, box)  # the other word's glyphs are on another line
    if not glyphs or held:
        return box
    centre = (top + bottom) / 2
    _, _, upper, lower = min(glyphs, key=lambda glyph: abs((glyph[2] + glyph[3]) / 2 - centre))
    if abs((upper + lower) / 2 - centre) > usual:
        return box
    line = [(a, b) for _, _, a, b in glyphs if a < lower and b > upper]  # the nearest glyph's line
    return _columns_of(crop, min(a for a, _ in line), max(b for _, b in line), box)


def _columns_of(crop: InkCrop, upper: int, lower: int, box: Box) -> Box:
    """``box`` on the rows from ``upper`` to ``lower``, its sides no further than ``INK_MARGIN`` past the
    ink on those rows: a box OCR drew on a rule also took the rule's columns, which can reach past the
    word, and a tile on that blank paper measures nothing of the print."""
    # Never empty: the glyphs that gave these rows are ink at half contrast.
    inked = np.flatnonzero((crop.ink[upper - crop.top : lower - crop.top] >= 0.5).any(axis=0))
    margin = INK_MARGIN * (lower - upper)
    left, right = crop.left + int(inked[0]) - margin, crop.left + int(inked[-1]) + 1 + margin
    return (max(box[0], float(left)), float(upper), min(box[2], float(right)), float(lower))


def _bridged(ink: np.ndarray) -> np.ndarray:
    """``ink`` with each one-row gap inside a stroke filled (the lesser of the rows above and below it):
    print lighter than the crop's darkest ink (grey digits under a bold label) breaks across a row at
    half contrast, and each half is then a shape of its own."""
    out = ink.copy()
    out[1:-1] = np.maximum(ink[1:-1], np.minimum(ink[:-2], ink[2:]))
    return out


def _inside(glyph: tuple[int, int, int, int], box: Box) -> bool:
    """The glyph (columns, rows) lies in ``box``: its centre row within the box's rows, its columns overlapping."""
    left, right, upper, lower = glyph
    return box[0] < right and box[2] > left and box[1] <= (upper + lower) / 2 <= box[3]


def measure_number(grey: np.ndarray, box: Box, text: str, *, min_digits: int = MIN_DIGITS) -> PrintedNumber | None:
    """The digits of the plain number printed in ``box``; None when it has fewer than ``min_digits``
    digits, holds more than digits and separators, or cannot be measured reliably. A number OCR read as one
    word with a label or the next word is measured without them (``_between_glued_words``)."""
    plain = PLAIN_NUMBER.fullmatch(text.strip())
    if plain is None:  # a plain number once its glued label or word is dropped, or not one at all
        bare = glued_words_dropped(text)
        return _between_glued_words(grey, box, text, bare, min_digits) if PLAIN_NUMBER.fullmatch(bare) else None
    if plain["before"] and plain["after"]:
        return None
    count = len(digits(text))
    crop = ink_crop(grey, box, 0.25) if count >= min_digits else None
    if crop is None:
        return None
    ink, ya, xa = crop.ink, crop.top, crop.left
    signs = len(plain["before"] or plain["after"] or "")  # one shape per sign or letter
    for level in SHAPE_LEVELS:
        whole = _digit_shapes(ink, level)
        shapes = _set_apart_dropped(ink >= level, _split_touching(ink, whole, count + signs), count + signs)
        if len(shapes) == count + signs:
            break
    else:
        return None
    if signs:  # the sign's or code's shapes are the first or the last ones
        shapes = shapes[signs:] if plain["before"] else shapes[:-signs]
    edges = [shape_edges(ink, shape) for shape in shapes]
    if any(edge is None for edge in edges):
        return None
    measured = np.array(edges, dtype=np.float64)  # per digit: top, bottom at 0.5; top, bottom at 0.3
    heights = measured[:, 1] - measured[:, 0]
    if np.median(heights) < MIN_HEIGHT_PX:
        return None
    limit = MAX_EDGE_SHIFT * np.median(heights)
    shifted = np.flatnonzero(np.abs(measured[:, 2:] - measured[:, :2]).max(axis=1) > limit)
    marks = _marks(ink, level, shapes) if len(shifted) else []
    for i in shifted:
        # Only the lower level's edge on a mark's side may be the mark's doing: the digit's own
        # (half-contrast) edges stay, and so does its other side (a worn top is still worn).
        for edge, below in ((2, False), (3, True)):
            skipped = _mark_columns(marks, shapes[i], below=below)
            beside = shape_edges(ink, shapes[i], skipped) if skipped else None
            if beside is not None:
                measured[i, edge] = beside[edge]
    if np.max(np.abs(measured[:, 2:] - measured[:, :2])) > limit:
        return None
    return PrintedNumber(
        lefts=np.array([shape[0] + xa for shape in shapes], dtype=np.float64),
        rights=np.array([shape[1] + xa for shape in shapes], dtype=np.float64),
        tops=measured[:, 0] + ya,
        bottoms=measured[:, 1] + ya,
        split=np.array([shape not in whole for shape in shapes], dtype=bool),
    )


def _between_glued_words(grey: np.ndarray, box: Box, text: str, bare: str, min_digits: int) -> PrintedNumber | None:
    """The number ``bare`` that OCR read as one word ``text`` with a label before it or the next word after
    it ("USt:971,04", "EUR629,87wird"), measured in its box cut at a space: a blank between shapes
    ``GLUED_SPACE`` shape heights wide. Cuts are tried nearest the glued words first; the first that holds
    exactly the number's shapes (``measure_number``) is the number's."""
    crop = ink_crop(grey, box, 0.25)
    shapes = _digit_shapes(crop.ink) if crop is not None and len(digits(bare)) >= min_digits else []
    if crop is None or len(shapes) < 2:
        return None
    tall = float(np.median([bottom - top for _, _, top, bottom in shapes]))
    columns = np.any(crop.ink[min(shape[2] for shape in shapes) : max(shape[3] for shape in shapes)] >= 0.5, axis=0)
    spaces = [
        crop.left + (a[1] + b[0]) / 2
        for a, b in pairwise(shapes)
        if _longest_blank(columns[a[1] : b[0]]) >= GLUED_SPACE * tall
    ]
    lefts = spaces if GLUED_LABEL.match(text.strip()) else [box[0]]
    rights = spaces[::-1] if GLUED_WORD.search(text.strip()) else [box[2]]
    for left, right in product(lefts, rights):
        if left >= right:
            continue
        number = measure_number(grey, (left, box[1], right, box[3]), bare, min_digits=min_digits)
        if number is not None:
            return number
    return None


def odd_digit(grey: np.ndarray, box: Box, text: str) -> OddDigit | None:
    """The digit of the number printed in ``box`` that is least like the others; None when the number
    cannot be measured (``measure_number``)."""
    number = measure_number(grey, box, text)
    return None if number is None else odd_digit_of(number)


def odd_digit_of(number: PrintedNumber) -> OddDigit | None:
    """The digit of a measured number least like the others; None under ``MIN_DIGITS`` digits. A digit
    cut out of a joined shape is never the odd one: a comma or a neighbour's stroke may have stayed
    with it (a retyped digit stands apart anyway)."""
    if len(number.heights) < MIN_DIGITS:
        return None
    tops, bottoms, heights = number.tops, number.bottoms, number.heights
    best: OddDigit | None = None
    for i in map(int, np.flatnonzero(~number.split)):
        rest = np.arange(len(heights)) != i
        usual = float(np.median(heights[rest]))
        deviation = max(_off(heights, rest, i), _off(tops, rest, i), _off(bottoms, rest, i)) / usual
        spread = max(_spread(heights[rest]), _spread(tops[rest]), _spread(bottoms[rest])) / usual
        if best is None or deviation > best.deviation:
            best = OddDigit(
                index=i,
                deviation=deviation,
                spread=spread,
                box=(float(number.lefts[i]), float(tops[i]), float(number.rights[i]), float(bottoms[i])),
                height=float(heights[i]),
                others_height=usual,
            )
    return best


def _off(values: np.ndarray, rest: np.ndarray, i: int) -> float:
    return float(abs(values[i] - np.median(values[rest])))


def _spread(values: np.ndarray) -> float:
    return float(np.max(np.abs(values - np.median(values))))


Shape = tuple[int, int, int, int]  # columns x0, x1 and rows top, bottom (exclusive) of a digit's ink


def _digit_shapes(ink: np.ndarray, level: float = 0.5) -> list[Shape]:
    """The digits' ink shapes, left to right: connected shapes at ``level`` of contrast (half by
    default) at least ``TALL`` of the usual tall one, plus glyphs broken in two (thin strokes: two stacked
    pieces in the same columns). Shapes cut by the crop's top or bottom belong to the lines above or
    below and are left out."""
    pieces = ink_pieces(ink, level)
    if not pieces:
        return []
    # The usual tall shape, not the tallest: a "$" or a parenthesis outgrows the digits, and a digit
    # retyped a third smaller must still count as one.
    heights = [p[3] - p[2] for p in pieces]
    tall = round(float(np.median([h for h in heights if h >= max(heights) / 2])))
    shapes = [p[:4] for p in pieces if p[3] - p[2] >= TALL * tall]
    short = [p for p in pieces if p[3] - p[2] < TALL * tall]
    used: set[int] = set()
    for a, first in enumerate(short):
        for b in range(a + 1, len(short)):
            second = short[b]
            if a in used or b in used:
                continue
            if _stacked(first, second, tall):
                shapes.append(
                    (
                        min(first[0], second[0]),
                        max(first[1], second[1]),
                        min(first[2], second[2]),
                        max(first[3], second[3]),
                    )
                )
                used |= {a, b}
    return sorted(shapes)


def _split_touching(ink: np.ndarray, shapes: list[Shape], expected: int) -> list[Shape]:
    """Digits the scan's blur joined into one shape, split again: while there are fewer shapes than
    ``expected``, the widest one, when ``WIDE`` times the others' median width, is cut into as many
    digits as its width holds, each cut at the column near the even split where the ink is weakest
    (a blurred bridge between two digits is fainter than any stroke)."""
    shapes = list(shapes)
    while 2 <= len(shapes) < expected:
        widths = [shape[1] - shape[0] for shape in shapes]
        widest = int(np.argmax(widths))
        usual = float(np.median([w for i, w in enumerate(widths) if i != widest]))
        parts = min(round(widths[widest] / usual), expected - len(shapes) + 1)
        if widths[widest] < WIDE * usual or parts < 2:
            break
        x0, x1, top, bottom = shapes[widest]
        region = ink[top:bottom, x0:x1]
        weakness = region.max(axis=0) + 0.01 * region.sum(axis=0) / max(1, bottom - top)
        reach = max(1, round(0.3 * usual))
        cuts = [x0]
        for k in range(1, parts):
            middle = round(k * (x1 - x0) / parts)
            window = range(max(1, middle - reach), min(x1 - x0 - 1, middle + reach + 1))
            if window:
                cuts.append(x0 + min(window, key=lambda column: float(weakness[column])))
        cuts.append(x1)
        if len(cuts) != parts + 1 or any(b <= a for a, b in pairwise(cuts)):
            break  # the others are specks (a comma, noise), not digits: no width to split by
        shapes[widest : widest + 1] = [_rows(ink, (a, b, top, bottom)) for a, b in pairwise(cuts)]
    return shapes


def _set_apart_dropped(inked: np.ndarray, shapes: list[Shape], expected: int) -> list[Shape]:
    """The shapes without one too many at an end, when a space sets it apart: blank columns ``SPACE``
    digit heights wide, ``SPACE_TO_GAPS`` times the widest blank between the other shapes (separators
    are ink: a comma splits its gap). OCR's box can reach the next word's first glyph ("39.99" and the
    side of the "€" after it)."""
    if len(shapes) != expected + 1 or len(shapes) < 3:
        return shapes
    tall = float(np.median([bottom - top for _, _, top, bottom in shapes]))
    band = inked[min(shape[2] for shape in shapes) : max(shape[3] for shape in shapes)]
    columns = np.any(band, axis=0)
    blanks = [_longest_blank(columns[a[1] : b[0]]) for a, b in pairwise(shapes)]
    for end, rest in ((0, blanks[1:]), (len(blanks) - 1, blanks[:-1])):
        if blanks[end] >= SPACE * tall and blanks[end] >= SPACE_TO_GAPS * max(max(rest), 1):
            return shapes[1:] if end == 0 else shapes[:-1]
    return shapes


def _longest_blank(columns: np.ndarray) -> int:
    """The longest run of columns without ink."""
    longest = run = 0
    for has_ink in columns:
        run = 0 if has_ink else run + 1
        longest = max(longest, run)
    return longest


def _rows(ink: np.ndarray, shape: Shape) -> Shape:
    """The shape narrowed to the rows its own columns have ink in (a split half may be shorter)."""
    x0, x1, top, bottom = shape
    rows = np.flatnonzero(ink[top:bottom, x0:x1].max(axis=1) >= 0.5)
    return (x0, x1, top + int(rows[0]), top + int(rows[-1]) + 1) if len(rows) else shape


def _stacked(first: tuple[int, ...], second: tuple[int, ...], tallest: int) -> bool:
    """Two pieces of one glyph: sharing most columns, close above each other, together digit-tall, and
    each a real stroke (not a speck or a dot)."""
    shared = min(first[1], second[1]) - max(first[0], second[0])
    gap = max(first[2], second[2]) - min(first[3], second[3])
    span = max(first[3], second[3]) - min(first[2], second[2])
    solid = min(first[4], second[4]) >= 0.08 * tallest**2
    narrow = min(first[1] - first[0], second[1] - second[0])
    return shared >= 0.7 * narrow and gap <= 0.2 * tallest and span >= TALL * tallest and solid


def _marks(ink: np.ndarray, level: float, shapes: list[Shape]) -> list[Shape]:
    """The shapes at ``level`` inside none of the digits' ``shapes``: separators, specks, rules."""
    return [
        piece[:4]
        for piece in ink_pieces(ink, level)
        if not any(s[0] <= piece[0] and piece[1] <= s[1] and s[2] <= piece[2] and piece[3] <= s[3] for s in shapes)
    ]


def _mark_columns(marks: list[Shape], digit: Shape, *, below: bool) -> frozenset[int]:
    """The digit's columns that a mark beside it shares, one column of blur around the mark: the
    comma after "235" reaches under the 5's last columns, and at the lower edge level it joins the 5's
    bottom (which then looks faint). A mark (``_marks``) counts when it is narrower and shorter than
    the digit (a table rule is neither), reaches out of its columns (worn print breaks a stroke into
    pieces within them), and reaches ``below`` the digit's rows, or above."""
    x0, x1, top, bottom = digit
    beside = [
        piece
        for piece in marks
        if piece[1] - piece[0] <= x1 - x0
        and (piece[0] < x0 or piece[1] > x1)  # beside it: a piece within its columns is its own broken stroke
        and piece[3] - piece[2] < TALL * (bottom - top)
        and (piece[3] > bottom if below else piece[2] < top)
    ]
    return frozenset(x for m in beside for x in range(max(x0, m[0] - 1), min(x1, m[1] + 1)))


def shape_edges(
    ink: np.ndarray, shape: Shape, skipped: frozenset[int] = frozenset()
) -> tuple[float, float, float, float] | None:
    """Sub-pixel top and bottom of a digit at each of ``EDGE_LEVELS``: from its shape's rows outwards
    while its columns' ink profile stays above the level; None when the ink runs into the crop's edge,
    or when the ``skipped`` columns (a mark's, ``_mark_columns``) leave under half of the digit's."""
    x0, x1, top, bottom = shape
    if skipped:  # rare (a mark beside a digit whose edges disagree): gather the columns left
        columns = [x for x in range(x0, x1) if x not in skipped]
        if 2 * len(columns) < x1 - x0:
            return None
        profile = ink[:, columns].max(axis=1)
    else:  # every digit of every measured number: a view, no copy
        profile = ink[:, x0:x1].max(axis=1)
    found: list[float] = []
    for level in EDGE_LEVELS:
        y = top
        while y > 0 and profile[y - 1] >= level:
            y -= 1
        end = bottom - 1
        while end < len(profile) - 1 and profile[end + 1] >= level:
            end += 1
        if y == 0 or end == len(profile) - 1:
            return None
        found.append(_crossing(profile[y - 1], profile[y], level) + y - 1)
        found.append(end + 1 - _crossing(profile[end + 1], profile[end], level))
    return found[0], found[1], found[2], found[3]


def _crossing(outside: float, inside: float, level: float) -> float:
    """Where between an outside pixel (below ``level``) and its inside neighbour the profile crosses
    ``level``, as a fraction of the pixel step from the outside one."""
    return float((level - outside) / (inside - outside)) if inside > outside else 1.0
