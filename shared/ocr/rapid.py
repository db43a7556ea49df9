"""In-process OCR on RapidOCR's PP-OCR ONNX models (the gpu-inference service runs this same code).

Where the time goes, and what this engine does about it (measured on SROIE receipts, one core):
recognition of the text lines is ~60 % and detection ~35 % of a page, nearly all of it convolutions.
- int8 models (shared.ocr.models): about 2× faster convolutions on CPUs with VNNI.
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

Words, not text runs: RapidOCR recognises one text run per detected box ("Invoice No: 123") and can
split it into word boxes. The layout extractor pairs labels and values by position, so word boxes
serve it like a PDF text layer; a run is kept whole where its word boxes do not add up to its text.
"""

from __future__ import annotations

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
        workers: int | None = None,
        orientation: bool = True,
        deskew: bool = True,
        use_cuda: bool = False,
    ) -> None:
        self._min_score = min_score
        self._int8 = int8
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
        frame, page, quads = self._prepare(engine, greyscale(upright(image)))
        if not len(quads):
            return []
        from rapidocr.utils.process_img import get_rotate_crop_image

        rgb = np.asarray(page.convert("RGB"))  # lines are cropped from the working page, not the det copy
        lines = [_Line(quad, get_rotate_crop_image(rgb, quad.astype(np.float32).copy())) for quad in quads]
        self._recognize_lines(engine, lines, parallel=parallel)
        lines = [line for line in lines if line.text.strip() and line.score >= self._min_score]
        return self._words(engine, lines, frame) if lines else []

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
        if _upside_down(engine, _small_rgb(grey, scale), quads):
            turns += 2
        return turns % 4

    def _recognize_lines(self, engine: Any, lines: list[_Line], *, parallel: bool) -> None:
        from rapidocr.ch_ppocr_rec import TextRecInput

        recognizer = engine._load_rec_model()
        order = sorted(range(len(lines)), key=lambda i: lines[i].crop.shape[1] / max(1, lines[i].crop.shape[0]))
        batches = [order[start : start + _REC_BATCH] for start in range(0, len(order), _REC_BATCH)]

        def run(batch: list[int]) -> None:
            result = recognizer(TextRecInput(img=[lines[i].crop for i in batch], return_word_box=True))
            for index, text, score, info in zip(batch, result.txts, result.scores, result.word_results, strict=True):
                lines[index].text, lines[index].score, lines[index].word_info = str(text), float(score), info

        if parallel and len(batches) > 1:
            list(self._pool.map(run, batches))
        else:
            for batch in batches:
                run(batch)

    def _words(self, engine: Any, lines: list[_Line], frame: PageFrame) -> list[Word]:
        from rapidocr.ch_ppocr_rec import TextRecOutput

        recognised = TextRecOutput(
            imgs=[line.crop for line in lines],
            txts=tuple(line.text for line in lines),  # type: ignore[arg-type]
            scores=[line.score for line in lines],
            word_results=tuple(line.word_info for line in lines),
        )
        with_boxes = engine.cal_rec_boxes(recognised.imgs, np.array([line.quad for line in lines]), recognised, False)
        words: list[Word] = []
        for line, parts in zip(lines, with_boxes.word_results, strict=True):
            for text, score, quad in _pieces(line.text, line.score, line.quad, parts):
                x0, top, x1, bottom = frame.box_to_source(np.asarray(quad, dtype=float))
                words.append(
                    Word(
                        text=text, x0=x0, top=top, x1=x1, bottom=bottom, confidence=round(max(0.0, min(1.0, score)), 4)
                    )
                )
        return words

    def _get_engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                _quiet_rapidocr_logging()
                from rapidocr import RapidOCR

                models = model_set(int8=self._int8)
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


def _small_rgb(grey: Image.Image, scale: float) -> np.ndarray:
    size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
    return np.asarray((grey.resize(size) if scale < 1 else grey).convert("RGB"))


def _upside_down(engine: Any, rgb: np.ndarray, quads: np.ndarray, sample: int = 12) -> bool:
    """The angle classifier's vote on the page's longest lines: most of them read as turned 180°."""
    from rapidocr.utils.process_img import get_rotate_crop_image

    widths = np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1)
    longest = np.argsort(-widths)[:sample]
    crops = [get_rotate_crop_image(rgb, quads[i].astype(np.float32).copy()) for i in longest]
    crops = [crop for crop in crops if crop.size and crop.shape[1] >= 2 * crop.shape[0]]
    if len(crops) < 2:
        return False
    votes = engine.text_cls(crops).cls_res
    flipped = sum(1 for label, score in votes if "180" in label and score > 0.7)
    return flipped > len(votes) / 2


def _pieces(text: str, score: float, quad: Any, parts: Any) -> list[tuple[str, float, Any]]:
    """Per-word pieces of one OCR run when RapidOCR's word boxes match the run's text."""
    if parts and " " in text.strip():
        words = [(str(p[0]), float(p[1]), p[2]) for p in parts if str(p[0]).strip() and p[2] is not None]
        if words and "".join(w for w, _, _ in words).replace(" ", "") == text.replace(" ", ""):
            return words
    return [(text, score, quad)]


def _quiet_rapidocr_logging() -> None:
    for name in ("RapidOCR", "rapidocr", "onnxruntime"):
        logging.getLogger(name).setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def default_ocr_engine() -> OcrEngine:
    """The process-wide in-process OCR engine (models load on first recognize)."""
    return RapidOcrEngine()
