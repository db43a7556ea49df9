"""An amount typeset unlike the rest of its page: the scan trace of a whole retyped amount.

When an image editor retypes a whole amount, its digits agree with each other (one font, one size),
so ``glyphs.odd_digit`` sees nothing. What gives it away is the page around it: the forger picks the
size and the position by eye, so the new digits are often shorter than every other number on the
page, or sit off the baseline of their own line and fall short of its label's capitals. Untouched
print shares its line's baseline to a few hundredths of a digit height, once the page's skew is
taken out. And the editor's font is rarely the page's: each retyped digit is unlike the same digit
printed elsewhere on the page, where an untouched amount's digits each have a near twin.

These are measurements only; ``check._retyped_amounts`` decides, with the tile model's support.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from shared.forensics.glyphs import PrintedNumber, ink_crop, ink_pieces, measure_number, shape_edges
from shared.forensics.image import Box, evenly
from shared.forensics.tokens import digits

MIN_OTHERS = 2  # numbers besides the amount before "shorter than every other" means anything
LINE_REACH = 25.0  # in digit heights: how far along its line a word still counts as the amount's line mate
MIN_PAIRS = 5  # neighbouring word pairs before the page's skew is estimated from them
MAX_WORDS = 600  # words measured per page: bounded cost on dense pages
_CAPITAL_OR_DIGIT = re.compile(r"[A-Z0-9]")
GLYPH_HEIGHT = 20  # px: digits are compared at this height, centred on a canvas with room for a shift
_CANVAS = (GLYPH_HEIGHT + 6, GLYPH_HEIGHT + 10)
MIN_TWINS = 3  # an amount's digits with the same digit elsewhere on the page, before its shapes are judged
# A digit elsewhere this much shorter or taller, or in a number this much narrower or wider for its
# height (a till's double-width total), is another size of print: not a twin.
TWIN_SIZES = (0.7, 1.4)


@dataclass(frozen=True)
class WordLine:
    """Where a word sits on its line, in the page's pixels."""

    baseline: float  # the median bottom of its tall shapes (descenders are a minority)
    cap: float  # from the baseline up to the top of its tallest shape
    centre: float  # its box's horizontal centre


@dataclass(frozen=True)
class AmountFit:
    """How one amount's print fits its page."""

    number: PrintedNumber  # its digits as measured (box, usual height)
    shorter: float | None  # how much shorter than the shortest other number it is, in its heights (< 0: not shorter)
    shortest_other: float | None  # the shortest other number's digit height, px
    baseline_offset: float | None  # below (+) or above (-) its line's baseline, in digit heights, skew removed
    cap_ratio: float | None  # its digit height over its line's capitals' height, minus 1
    unlike: float | None  # how unlike its digits' nearest twins elsewhere on the page they are (``_unlike``)
    usual_unlike: float | None  # the same for the page's other amounts: their median


def word_line(grey: np.ndarray, box: Box) -> WordLine | None:
    """The baseline and capital height of the word printed in ``box``; None for faint, tiny or
    single-shape words."""
    crop = ink_crop(grey, box, 0.35)
    if crop is None:
        return None
    pieces = ink_pieces(crop.ink)
    if not pieces:
        return None
    tallest = max(piece[3] - piece[2] for piece in pieces)
    found = [shape_edges(crop.ink, piece[:4]) for piece in pieces if piece[3] - piece[2] >= 0.5 * tallest]
    measured = np.array([edge for edge in found if edge is not None], dtype=np.float64)
    if len(measured) < 2:
        return None
    baseline = float(np.median(measured[:, 1])) + crop.top
    return WordLine(
        baseline=baseline, cap=baseline - (float(measured[:, 0].min()) + crop.top), centre=(box[0] + box[2]) / 2
    )


def amount_fits(grey: np.ndarray, boxes: list[Box], texts: list[str], amounts: list[int]) -> dict[int, AmountFit]:
    """For each of the ``amounts`` (indexes into the page's words) that can be measured, how its print
    fits the page's other numbers and its own line."""
    indexes = set(evenly(len(boxes), MAX_WORDS)) | set(amounts)
    numbers = {i: measure_number(grey, boxes[i], texts[i], min_digits=2) for i in indexes}
    measured = {i: number for i, number in numbers.items() if number is not None}
    lines = {i: line for i in indexes if (line := word_line(grey, boxes[i])) is not None}
    slope = _skew(boxes, lines)
    unlike = _unlike(grey, measured, texts, [i for i in amounts if i in measured])
    fits: dict[int, AmountFit] = {}
    for i in amounts:
        number = measured.get(i)
        if number is None:
            continue
        others = [other.height for j, other in measured.items() if j != i]
        shortest = min(others) if len(others) >= MIN_OTHERS else None
        offset, cap = _line_fit(i, number, boxes, texts, lines, slope)
        usual = [value for j, value in unlike.items() if j != i and value is not None]
        fits[i] = AmountFit(
            number=number,
            shorter=shortest / number.height - 1 if shortest is not None else None,
            shortest_other=shortest,
            baseline_offset=offset,
            cap_ratio=cap,
            unlike=unlike.get(i),
            usual_unlike=float(np.median(usual)) if len(usual) >= MIN_OTHERS else None,
        )
    return fits


def _unlike(
    grey: np.ndarray, measured: dict[int, PrintedNumber], texts: list[str], amounts: list[int]
) -> dict[int, float | None]:
    """Per amount: the median over its digits of how far each is from its nearest twin, the same digit
    in another number of about its size and width (``TWIN_SIZES``; mean absolute ink difference over
    mean ink, best of one-pixel shifts); None with fewer than ``MIN_TWINS`` digits that have a twin."""
    if not amounts:
        return {}
    # Each measured digit once: (its digit, its height, its glyph), per number.
    shapes = {
        j: [(char, float(number.heights[k]), _glyph(grey, number, k)) for k, char in enumerate(digits(texts[j]))]
        for j, number in measured.items()
    }
    by_digit: dict[str, list[tuple[int, float, np.ndarray]]] = {}
    for j, row in shapes.items():
        for char, height, glyph in row:
            if glyph is not None:
                by_digit.setdefault(char, []).append((j, height, glyph))
    widths = {j: float(np.median(number.rights - number.lefts)) / number.height for j, number in measured.items()}
    low, high = TWIN_SIZES
    out: dict[int, float | None] = {}
    for i in amounts:
        distances = []
        for char, height, own in shapes[i]:
            twins = [
                g
                for j, h, g in by_digit.get(char, [])
                if j != i and low < h / height < high and low < widths[j] / widths[i] < high
            ]
            if own is not None and twins:
                distances.append(_nearest(own, np.stack(twins)))
        out[i] = float(np.median(distances)) if len(distances) >= MIN_TWINS else None
    return out


def _glyph(grey: np.ndarray, number: PrintedNumber, k: int) -> np.ndarray | None:
    """Digit ``k`` of a measured number as ink (0-1, scaled between its crop's paper and ink), resized
    to ``GLYPH_HEIGHT`` with its own proportions and centred on the canvas."""
    top, bottom = float(number.tops[k]), float(number.bottoms[k])
    crop = grey[
        max(0, int(top) - 1) : int(np.ceil(bottom)) + 1, max(0, int(number.lefts[k]) - 1) : int(number.rights[k]) + 1
    ]
    if crop.size == 0 or bottom <= top:
        return None
    crop = crop.astype(np.float32)
    ink_level, paper_level = np.percentile(crop, 2), np.percentile(crop, 95)
    ink = np.clip((paper_level - crop) / max(1.0, paper_level - ink_level), 0, 1)
    scale = GLYPH_HEIGHT / (bottom - top)
    height, width = (min(limit, max(1, round(side * scale))) for side, limit in zip(ink.shape, _CANVAS, strict=True))
    canvas = np.zeros(_CANVAS, dtype=np.float32)
    y0, x0 = (_CANVAS[0] - height) // 2, (_CANVAS[1] - width) // 2
    canvas[y0 : y0 + height, x0 : x0 + width] = cv2.resize(ink, (width, height), interpolation=cv2.INTER_AREA)
    return canvas


def _nearest(glyph: np.ndarray, twins: np.ndarray) -> float:
    """The smallest difference between ``glyph`` and any of ``twins`` (stacked), each twin moved by up to
    a pixel each way: mean absolute difference over their mean ink."""
    best = np.inf
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            moved = np.roll(twins, (dy, dx), axis=(1, 2))
            ink = np.maximum(0.05, (glyph.mean() + moved.mean(axis=(1, 2))) / 2)
            best = min(best, float((np.abs(moved - glyph).mean(axis=(1, 2)) / ink).min()))
    return best


def _line_fit(
    i: int, number: PrintedNumber, boxes: list[Box], texts: list[str], lines: dict[int, WordLine], slope: float
) -> tuple[float | None, float | None]:
    """The amount's baseline offset from its line mates (skew removed) and its digits' height against
    their capitals, both over its digit height; None where it has no measurable line mate."""
    height = number.height
    middle = (float(np.median(number.tops)) + number.baseline) / 2
    x0, _, x1, _ = boxes[i]
    centre = (x0 + x1) / 2
    mates = [
        j
        for j, line in lines.items()
        if j != i
        and abs((boxes[j][1] + boxes[j][3]) / 2 - middle) <= 0.5 * height
        and min(abs(boxes[j][0] - x1), abs(x0 - boxes[j][2])) < LINE_REACH * height
    ]
    if not mates:
        return None, None
    offset = float(np.median([number.baseline - lines[j].baseline - slope * (centre - lines[j].centre) for j in mates]))
    caps = [lines[j].cap for j in mates if _CAPITAL_OR_DIGIT.search(texts[j])]
    return offset / height, height / float(np.median(caps)) - 1 if caps else None


def _skew(boxes: list[Box], lines: dict[int, WordLine]) -> float:
    """The page's skew as a baseline slope (px per px): the median over each word and its right-hand
    neighbour on the same line; 0 with too few pairs."""
    if len(lines) < 2:
        return 0.0
    order = list(lines)
    x0, top, x1, bottom = (np.array([boxes[i][k] for i in order]) for k in range(4))
    middle, height = (top + bottom) / 2, bottom - top
    slopes = []
    for a, i in enumerate(order):
        right = (x0 > x1[a]) & (x0 < x1[a] + 3 * height[a]) & (np.abs(middle - middle[a]) < 0.5 * height[a])
        if right.any():
            j = order[int(np.flatnonzero(right)[np.argmin(x0[right])])]
            slopes.append((lines[j].baseline - lines[i].baseline) / (lines[j].centre - lines[i].centre))
    return float(np.median(slopes)) if len(slopes) >= MIN_PAIRS else 0.0
