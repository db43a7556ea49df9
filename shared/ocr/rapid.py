"""In-process OCR on RapidOCR's PP-OCR ONNX models (the gpu-inference service runs this same code).

Where the time goes, and what this engine does about it (measured on SROIE receipts, one core):
recognition of the text lines is ~60 % and detection ~35 % of a page, nearly all of it convolutions.
- Models (shared.ocr.models): the detector in int8 (about 2× faster convolutions on CPUs with VNNI);
  the recogniser's output cut to Latin and Greek (a quarter of its time), kept in float by default
  (``int8_rec``: 40 % faster, but SROIE field accuracy 0.904 → 0.894).
- Detection runs at a normalised resolution: a first pass at ≤ 960 px measures the text-line height;
  a page whose lines come out smaller than ``_DET_LINE_PX`` is detected again, enlarged to it. Text
  lines are cropped from the full-resolution page (capped so lines are at most ``_MAX_LINE_PX`` high),
  so recognition never sees the detector's smaller image.
- No per-line angle classifier: orientation (0/90/180/270) is decided once per page, from the shape
  of the detected lines (90/270) and the classifier's vote on a few long lines (180). Running it on
  every line costs time and, on SROIE, flipped upright lines (CER 0.0438 with it, 0.0376 without).
- Sessions run single-threaded; parallelism is across pages (``recognize_pages``) or, for a single
  page, across its recognition batches, on a pool of one thread per core. ONNX Runtime releases the
  GIL, so this uses the cores without one intra-op pool per session fighting the others.

Words, not text runs: the recogniser reads one text run per detected box ("Invoice No: 123"); its CTC
columns say where each word lies, and each word's box is then measured on the line's full-resolution
crop (``_line_words``: the text's inked rows and the word's inked columns), so that the layout
extractor, which pairs labels and values by position, gets geometry like a PDF text layer's whatever
resolution detection ran at. A run is kept whole where its words do not add up to its text.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from shared.documents.content import Word
from shared.ocr.models import model_set
from shared.ocr.prepare import (
    PageFrame,
    decode_grey,
    estimate_skew,
    greyscale,
    straighten,
    turn,
    upright,
)

if TYPE_CHECKING:
    from shared.ocr import OcrEngine

__all__ = ["RapidOcrEngine", "UnreadablePage", "default_ocr_engine", "estimate_skew"]

log = logging.getLogger(__name__)

_FIRST_PASS_SIDE = 960  # long side of the first detection pass
_DET_LINE_PX = 13.0  # median text-line height the detector is given (below ~10 px it misses lines)
_MAX_DET_SIDE = 2600
_MAX_LINE_PX = 40.0  # recognition resizes lines to 48 px high: more source pixels than this is waste
_MIN_SKEW = 0.5  # degrees; smaller skews are read as they are (crops follow each line's own angle)
_REC_BATCH = 8
# RapidOCR pads every batch to at least 320 px (6.7 × the height); receipts are full of short runs
# ("7.20", "RM") that need a third of that (SROIE: CPU -15 %, same CER).
_REC_MIN_WIDTH = 96
_REC_HEIGHT = 48  # fixed by the model
# Word boxes: the text's inked rows plus this share of their height above and below (~1.25 × the font size
# of mixed-case print, as the detector gave at full resolution and as the layout extractor was tuned on).
_BAND_PAD = 0.35


_MIN_SIDE = 8
_MAX_ASPECT = 100


class UnreadablePage(ValueError):
    """The image cannot be a page of text (too small or too thin to read)."""


@dataclass
class _Line:
    quad: np.ndarray  # 4 points on the prepared page
    crop: np.ndarray
    text: str = ""
    score: float = 0.0
    word_info: Any = None


class RapidOcrEngine:
    """OcrEngine on RapidOCR's models; sessions are built once, on first use, behind a lock."""

    def __init__(
        self,
        *,
        min_score: float = 0.5,
        int8: bool = True,
        int8_rec: bool = False,
        workers: int | None = None,
        orientation: bool = True,
        deskew: bool = True,
        use_cuda: bool = False,
    ) -> None:
        self._min_score = min_score
        self._int8 = int8
        self._int8_rec = int8_rec
        self.workers = max(1, workers or len(os.sched_getaffinity(0)))
        self._orientation = orientation
        self._deskew = deskew
        self._use_cuda = use_cuda
        self._engine: Any = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ocr")

    # --- public -------------------------------------------------------------------------------

    def recognize(self, image: Image.Image) -> list[Word]:
        """Words of one page image, boxes in that image's pixels (origin top-left)."""
        return self._read(image, parallel=self.workers > 1)

    def recognize_pages(self, images: Sequence[Image.Image]) -> list[list[Word] | Exception]:
        """Words of each page, in order, pages read in parallel; a page that fails gives its error (the
        others are unaffected)."""
        if len(images) == 1:
            return [self._guarded(images[0], parallel=self.workers > 1)]
        return list(self._pool.map(lambda image: self._guarded(image, parallel=False), images))

    def warm_up(self) -> None:
        """Load the models (and build the int8 copies if not cached)."""
        self._get_engine()

    # --- pipeline -----------------------------------------------------------------------------

    def _guarded(self, image: Image.Image, *, parallel: bool) -> list[Word] | Exception:
        try:
            return self._read(image, parallel=parallel)
        except Exception as error:  # one unreadable page must not fail the others
            return error

    def _read(self, image: Image.Image, *, parallel: bool) -> list[Word]:
        width, height = image.size
        if min(width, height) < _MIN_SIDE or max(width, height) > _MAX_ASPECT * min(width, height):
            raise UnreadablePage(f"not a page: {width}x{height} pixels")
        engine = self._get_engine()
        frame, page, quads = self._prepare(engine, greyscale(upright(decode_grey(image))))
        if not len(quads):
            return []
        from rapidocr.utils.process_img import get_rotate_crop_image

        pixels = np.asarray(page)  # greyscale; lines are cropped from the working page, not the det copy
        lines = [_Line(quad, get_rotate_crop_image(pixels, quad.astype(np.float32).copy())) for quad in quads]
        self._recognize_lines(engine, lines, parallel=parallel)
        lines = [line for line in lines if line.text.strip() and line.score >= self._min_score]
        return self._words(lines, frame) if lines else []

    def _prepare(self, engine: Any, source: Image.Image) -> tuple[PageFrame, Image.Image, np.ndarray]:
        """Orientation, working resolution, skew and text lines of a page: (frame, working page, quads on
        the working page). Detection runs once on most pages: again only when the page had to be turned
        or straightened, or its text is too small for the first pass."""
        first = _first_pass(engine, source)
        if first is None:
            return PageFrame(source.width, source.height), source, _NO_QUADS
        quads, det_scale = first
        turns = self._quarter_turns(engine, source, quads, det_scale) if self._orientation else 0
        turned = turn(source, turns)
        if turns:
            first = _first_pass(engine, turned)
            if first is None:
                return PageFrame(source.width, source.height), source, _NO_QUADS
            quads, det_scale = first
        line_height = _median_line_height(quads) / det_scale  # in source pixels
        # Working resolution: lines no higher than _MAX_LINE_PX (a 600 dpi scan needs no more than 200 dpi).
        scale = min(1.0, _MAX_LINE_PX / line_height) if line_height > 0 else 1.0
        if scale < 0.95:
            size = (max(1, round(turned.width * scale)), max(1, round(turned.height * scale)))
            page = turned.resize(size, Image.Resampling.LANCZOS)
        else:
            scale, page = 1.0, turned
        skew = estimate_skew(page) if self._deskew else 0.0
        if abs(skew) < _MIN_SKEW:
            skew = 0.0
        else:
            page = straighten(page, skew)
        frame = PageFrame(source.width, source.height, quarter_turns=turns, skew=skew, scale=scale)
        # Detection resolution: lines about _DET_LINE_PX high, never smaller than the first pass.
        wanted = min(max(det_scale, _DET_LINE_PX / line_height if line_height > 0 else det_scale), 2.0)
        wanted = min(wanted, _MAX_DET_SIDE / max(source.size))
        if not skew and wanted <= det_scale * 1.25:
            return frame, page, quads * np.float32(scale / det_scale)  # the first pass is good enough
        det_page_scale = wanted / scale
        small = page.resize((max(32, round(page.width * det_page_scale)), max(32, round(page.height * det_page_scale))))
        found = _det(engine, small)
        return frame, page, found * np.array([page.width / small.width, page.height / small.height], np.float32)

    def _quarter_turns(self, engine: Any, grey: Image.Image, quads: np.ndarray, scale: float) -> int:
        """0, 1, 2 or 3 quarter turns (counter-clockwise) that make the text upright."""
        widths = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
        heights = np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1)
        elongated = (widths > 2 * heights) | (heights > 2 * widths)
        turns = 0
        if elongated.sum() >= 3 and (heights[elongated] > widths[elongated]).mean() > 0.6:
            turns = 1  # lines run vertically: a quarter turn makes them horizontal (or upside down)
            grey = turn(grey, 1)
            first = _first_pass(engine, grey)
            if first is None:
                return 0
            quads, scale = first
        if _upside_down(engine, grey, quads / np.float32(scale)):
            turns += 2
        return turns % 4

    def _recognize_lines(self, engine: Any, lines: list[_Line], *, parallel: bool) -> None:
        from rapidocr.ch_ppocr_rec import TextRecInput

        recognizer = engine._load_rec_model()
        order = sorted(range(len(lines)), key=lambda i: lines[i].crop.shape[1] / max(1, lines[i].crop.shape[0]))
        batches = [order[start : start + _REC_BATCH] for start in range(0, len(order), _REC_BATCH)]

        def run(batch: list[int]) -> None:
            result = recognizer(TextRecInput(img=[_rgb(lines[i].crop) for i in batch], return_word_box=True))
            for index, text, score, info in zip(batch, result.txts, result.scores, result.word_results, strict=True):
                lines[index].text, lines[index].score, lines[index].word_info = str(text), float(score), info

        if parallel and len(batches) > 1:
            list(self._pool.map(run, batches))
        else:
            for batch in batches:
                run(batch)

    def _words(self, lines: list[_Line], frame: PageFrame) -> list[Word]:
        words: list[Word] = []
        for line in lines:
            for text, score, points in _line_words(line):
                x0, top, x1, bottom = frame.box_to_source(points)
                confidence = round(max(0.0, min(1.0, score)), 4)
                words.append(Word(text=text, x0=x0, top=top, x1=x1, bottom=bottom, confidence=confidence))
        return words

    def _get_engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                _quiet_rapidocr_logging()
                from rapidocr import RapidOCR

                models = model_set(int8=self._int8, int8_rec=self._int8_rec)
                params: dict[str, Any] = {
                    "Global.log_level": "error",
                    "Global.text_score": self._min_score,
                    "Det.model_path": str(models.det),
                    "Rec.model_path": str(models.rec),
                    "Cls.model_path": str(models.cls),
                    "Rec.rec_batch_num": _REC_BATCH,
                    "Rec.rec_img_shape": [3, _REC_HEIGHT, _REC_MIN_WIDTH],
                    # Our caller sizes the detector's input (the page is resized before det).
                    "Det.limit_type": "max",
                    "Det.limit_side_len": 100_000,
                    "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                    # RapidOCR gives every stage the EngineConfig section (a per-stage setting is overwritten).
                    "EngineConfig.onnxruntime.use_cuda": self._use_cuda,
                }
                engine: Any = RapidOCR(params=params)
                engine._load_det_model()
                engine._load_rec_model()
                engine._load_cls_model()
                self._engine = engine
                _quiet_rapidocr_logging()
            return self._engine


_NO_QUADS = np.zeros((0, 4, 2), dtype=np.float32)


def _first_pass(engine: Any, grey: Image.Image) -> tuple[np.ndarray, float] | None:
    """Quads detected on a copy of at most _FIRST_PASS_SIDE px (in that copy's pixels), and its scale."""
    scale = min(1.0, _FIRST_PASS_SIDE / max(grey.size))
    small = (
        grey.resize((max(32, round(grey.width * scale)), max(32, round(grey.height * scale)))) if scale < 1 else grey
    )
    quads = _det(engine, small)
    return (quads, small.width / grey.width) if len(quads) else None


def _det(engine: Any, grey: Image.Image) -> np.ndarray:
    """Detected text quads (N, 4, 2) on ``grey`` (its pixels), top-to-bottom."""
    result = engine.text_det(np.asarray(grey.convert("RGB")))
    return _NO_QUADS if result.boxes is None else np.asarray(result.boxes, np.float32)


def _median_line_height(quads: np.ndarray) -> float:
    heights = np.minimum(
        np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1), np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    )
    return float(np.median(heights)) if len(heights) else 0.0


def _upside_down(engine: Any, grey: Image.Image, quads: np.ndarray, sample: int = 12) -> bool:
    """The angle classifier's vote on pieces of the page's longest lines, cropped at full resolution:
    most pieces read as turned 180°. The classifier sees 48 × 192 px, so each line is cut into pieces of
    at most 4 × its height (a whole 37:1 line squeezed into 4:1 is unreadable, and monospaced print then
    read as upside down)."""
    from rapidocr.utils.process_img import get_rotate_crop_image

    widths = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    longest = np.argsort(-widths)[:sample]
    pixels = np.asarray(grey)
    pieces: list[np.ndarray] = []
    for index in longest:
        crop = _rgb(get_rotate_crop_image(pixels, quads[index].astype(np.float32).copy()))
        height = crop.shape[0]
        if not crop.size or crop.shape[1] < 2 * height:
            continue
        pieces.extend(crop[:, x : x + 4 * height] for x in range(0, crop.shape[1] - 2 * height + 1, 4 * height))
    if len(pieces) < 3:
        return False
    votes = engine.text_cls(pieces[: 4 * sample]).cls_res
    flipped = sum(1 for label, score in votes if "180" in label and score > 0.7)
    return flipped > len(votes) / 2


def _horizontal(quad: np.ndarray) -> bool:
    """The line's crop runs along the quad's top edge (RapidOCR turns crops 1.5 × taller than wide)."""
    return bool(np.linalg.norm(quad[3] - quad[0]) < 1.5 * np.linalg.norm(quad[1] - quad[0]))


def _line_words(line: _Line) -> list[tuple[str, float, np.ndarray]]:
    """The words of one recognised line: (text, confidence, box as 4 points on the prepared page).

    Boxes are measured on the line's full-resolution crop, so that they are the same whatever size the
    detector ran at: the detector's box around a line is ~1.8 × the text's height at the ≤ 960 px
    detection size (1.25 × at full resolution) and runs a margin past its ends, and words that share one
    detected run were placed by CTC column only, abutting one another. Here, vertically: the text's
    inked rows (``_ink_rows``) padded by ``_BAND_PAD`` of their height, the same for every word of the
    line; horizontally: each word's inked columns between the midpoints to its neighbours, so a column
    gap inside a run ("Fälligkeit      Teilzahlung") is as wide as printed. The layout extractor reads
    this geometry as it reads a PDF text layer (lines by vertical centres, columns by gaps in units of
    the text's height). A word's confidence is the mean of its characters'.
    """
    crop = line.crop if line.crop.ndim == 2 else line.crop[:, :, 0]
    height, width = crop.shape
    whole = [(line.text.strip(), line.score, line.quad.astype(float))]
    if not _horizontal(line.quad) or not height or not width:
        return whole
    rows = _ink_rows(crop)
    if rows is None:
        return whole
    top, bottom, ink = rows
    pad = _BAND_PAD * (bottom - top)
    v0, v1 = max(0.0, top - pad), min(float(height), bottom + pad)
    counts = ink[top:bottom].sum(axis=0)
    pieces = _word_columns(line, width)
    # Where one word ends and the next begins: the widest blank run of columns between the centres of the
    # last character of the one and the first of the next (the narrowest inked column where they touch).
    # Before the first word and after the last, the detector's margin may hold the edge of a word of the
    # next run: the line ends at the first blank run within one character pitch of its outer characters.
    pitch = _pitch(pieces, bottom - top)
    centre = int(pieces[0][2])
    start, _ = _gap(counts[max(0, int(centre - pitch)) : centre][::-1], first_blank=True)
    bounds = [centre - start]
    for (_, _, _, last), (_, _, first, _) in itertools.pairwise(pieces):
        a, b = int(last), max(int(last) + 1, int(np.ceil(first)))
        end, start = _gap(counts[a:b])
        bounds.extend((a + end, a + start))
    centre = int(pieces[-1][3])
    end, _ = _gap(counts[centre : int(centre + pitch) + 1], first_blank=True)
    bounds.append(min(width, centre + end))
    out: list[tuple[str, float, np.ndarray]] = []
    for index, (text, score, _, _) in enumerate(pieces):
        low, high = bounds[2 * index], bounds[2 * index + 1]
        inked = np.flatnonzero(counts[low:high])
        u0, u1 = (low + float(inked[0]), low + float(inked[-1]) + 1) if len(inked) else (float(low), float(high))
        out.append((text, score, _crop_to_page(line.quad, width, height, u0, v0, u1, v1)))
    return out


def _gap(counts: np.ndarray, *, first_blank: bool = False) -> tuple[int, int]:
    """(start, end) of the widest (or the first) run of blank columns in ``counts`` (ink per column), or
    the narrowest inked column as an empty run where there is no blank one."""
    blank = np.concatenate(([False], counts == 0, [False]))
    edges = np.flatnonzero(np.diff(blank.astype(np.int8)))
    if len(edges):
        starts, ends = edges[0::2], edges[1::2]
        chosen = 0 if first_blank else int(np.argmax(ends - starts))
        return int(starts[chosen]), int(ends[chosen])
    if first_blank:
        return len(counts), len(counts)
    column = int(np.argmin(counts)) if len(counts) else 0
    return column, column


def _pitch(pieces: list[tuple[str, float, float, float]], text_height: int) -> float:
    """Character pitch of a line in crop pixels (centre to centre), from its words' CTC placements; about
    0.6 × the text's height where no word has two characters."""
    spans = [(last - first) / (len(text) - 1) for text, _, first, last in pieces if len(text) > 1 and last > first]
    return float(np.median(spans)) if spans else 0.6 * text_height


def _word_columns(line: _Line, width: int) -> list[tuple[str, float, float, float]]:
    """(text, confidence, first, last) of each word of a line: the centres of its first and last characters
    in crop pixels, as the recogniser's CTC columns place them; the whole line as one word where the words
    do not add up to the line's text.
    Words are split at spaces and, as RapidOCR does, at a gap of more than 5 CTC columns between two
    characters (the recogniser sometimes drops the space of "471102 vom" but not the gap)."""
    info = line.word_info
    whole = [(line.text.strip(), line.score, 0.0, float(width))]
    if info is None or not getattr(info, "words", None) or not info.line_txt_len:
        return whole
    if "".join("".join(chars) for chars in info.words) != "".join(line.text.split()):
        return whole
    # Character confidences of the non-space characters, in order (RapidOCR keeps one per character).
    confs = [c for ch, c in zip(line.text, info.confs, strict=False) if not ch.isspace()]
    column = width / float(info.line_txt_len)
    out: list[tuple[str, float, float, float]] = []
    used = 0
    for chars, cols in zip(info.words, info.word_cols, strict=True):
        scores = confs[used : used + len(chars)] or [line.score]
        used += len(chars)
        out.append(("".join(chars), float(np.mean(scores)), (min(cols) + 0.5) * column, (max(cols) + 0.5) * column))
    return out


def _ink_rows(crop: np.ndarray) -> tuple[int, int, np.ndarray] | None:
    """(first, end) rows of the text in a greyscale line crop and the crop's ink mask; None where the crop
    has no clear ink. The rows are the strongest run of inked rows (a one-row gap does not end a run), so
    the ascenders or descenders of the lines above and below that reach into a tall box are not counted."""
    height = crop.shape[0]
    if height < 6:
        return None
    ink_level, paper = np.percentile(crop, (2, 90))
    if paper - ink_level < 40:
        return None
    ink = crop < (ink_level + paper) / 2
    counts = ink.sum(axis=1)
    inked = counts >= max(1.0, 0.03 * float(counts.max()))
    best: tuple[int, int] | None = None
    best_ink, start = -1, None
    for row in range(height + 1):
        if row < height and (inked[row] or (start is not None and row + 1 < height and inked[row + 1])):
            start = row if start is None else start
            continue
        if start is not None:
            total = int(counts[start:row].sum())
            if total > best_ink:
                best, best_ink = (start, row), total
            start = None
    return None if best is None else (best[0], best[1], ink)


def _crop_to_page(quad: np.ndarray, width: int, height: int, u0: float, v0: float, u1: float, v1: float) -> np.ndarray:
    """The rectangle [u0, u1] × [v0, v1] of a line's crop (``width`` × ``height`` px, cut along ``quad``:
    top-left, top-right, bottom-right, bottom-left) as 4 points on the page the quad is on."""
    tl, tr, _, bl = quad.astype(float)
    across, down = (tr - tl) / width, (bl - tl) / height
    return np.array([tl + across * u + down * v for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))])


def _rgb(grey: np.ndarray) -> np.ndarray:
    """A greyscale crop as the 3-channel array the models take."""
    return np.repeat(grey[:, :, np.newaxis], 3, axis=2) if grey.ndim == 2 else grey


def _quiet_rapidocr_logging() -> None:
    for name in ("RapidOCR", "rapidocr", "onnxruntime"):
        logging.getLogger(name).setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def default_ocr_engine() -> OcrEngine:
    """The process-wide in-process OCR engine (models load on first recognize)."""
    return RapidOcrEngine()
