"""In-process OCR with RapidOCR 3.x: PP-OCR detection + recognition ONNX models bundled with the
package, run by onnxruntime on the CPU, so it works offline.

Words, not text runs: RapidOCR returns one box per detected text run ("Invoice No: 123" as one)
and, on request, a box per word inside it. The layout extractor pairs labels and values by
position and splits lines into column segments by gaps, so word boxes serve it like a PDF text
layer; a run is kept whole only where its word boxes are missing or do not add up to its text.
"""

from __future__ import annotations

import logging
import math
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps

from shared.documents.content import Word

if TYPE_CHECKING:
    from shared.ocr import OcrEngine

log = logging.getLogger(__name__)

# Small scans are upscaled so that body text reaches the ~20 px height the recogniser is trained on.
_MIN_LONG_SIDE = 1600
# Big pages are not shrunk below this before detection (RapidOCR's default of 2000 blurs 8 pt text
# on a 200 dpi A4 page).
_MAX_SIDE = 2600
_MAX_DESKEW_DEGREES = 3.0


class RapidOcrEngine:
    """OcrEngine on RapidOCR; the ONNX sessions are built once, on first use, behind a lock."""

    def __init__(self, *, deskew: bool = True, min_score: float = 0.5) -> None:
        self._deskew = deskew
        self._min_score = min_score
        self._engine: Any = None
        self._lock = threading.Lock()

    def _get_engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                _quiet_rapidocr_logging()
                from rapidocr import RapidOCR

                self._engine = RapidOCR(
                    params={
                        "Global.log_level": "error",
                        "Global.max_side_len": _MAX_SIDE,
                        "Global.text_score": self._min_score,
                    }
                )
                _quiet_rapidocr_logging()
            return self._engine

    def recognize(self, image: Image.Image) -> list[Word]:
        """Words of one page image, boxes in that image's pixels (origin top-left)."""
        prepared, scale, angle = self._prepare(image)
        engine = self._get_engine()
        result = engine(np.asarray(prepared.convert("RGB")), return_word_box=True)
        if result is None or getattr(result, "boxes", None) is None or getattr(result, "txts", None) is None:
            return []
        center = (prepared.width / 2, prepared.height / 2)
        word_results = getattr(result, "word_results", None) or [()] * len(result.txts)
        words: list[Word] = []
        for box, text, score, parts in zip(result.boxes, result.txts, result.scores, word_results, strict=False):
            for piece_text, piece_score, piece_box in _pieces(text, float(score), box, parts):
                x0, top, x1, bottom = _to_source(piece_box, center, angle, scale)
                words.append(
                    Word(
                        text=piece_text,
                        x0=max(0.0, x0),
                        top=max(0.0, top),
                        x1=min(float(image.width), x1),
                        bottom=min(float(image.height), bottom),
                        confidence=round(max(0.0, min(1.0, piece_score)), 4),
                    )
                )
        return words

    def _prepare(self, image: Image.Image) -> tuple[Image.Image, float, float]:
        """Greyscale, upscaled when small, deskewed when slightly rotated: (image, scale, angle)."""
        grey = ImageOps.exif_transpose(image).convert("L") if image.mode != "L" else image
        scale = 1.0
        long_side = max(grey.size)
        if 0 < long_side < _MIN_LONG_SIDE:
            scale = _MIN_LONG_SIDE / long_side
            grey = grey.resize((round(grey.width * scale), round(grey.height * scale)), Image.Resampling.LANCZOS)
        angle = estimate_skew(grey) if self._deskew else 0.0
        if abs(angle) >= 0.2:
            grey = grey.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
        else:
            angle = 0.0
        return grey, scale, angle


def _pieces(text: str, score: float, box: Any, parts: Any) -> list[tuple[str, float, Any]]:
    """Per-word pieces of one OCR run when RapidOCR's word boxes match the run's text."""
    if parts and " " in text.strip():
        words = [(str(p[0]), float(p[1]), p[2]) for p in parts if str(p[0]).strip()]
        if words and "".join(w for w, _, _ in words).replace(" ", "") == text.replace(" ", ""):
            return words
    return [(text, score, box)]


def _to_source(box: Any, center: tuple[float, float], angle: float, scale: float) -> tuple[float, float, float, float]:
    """Axis-aligned box of a quadrilateral, mapped back through the deskew rotation and scaling."""
    points = np.asarray(box, dtype=float).reshape(-1, 2)
    if angle:
        # PIL rotates counter-clockwise by ``angle``; undo it around the same centre.
        theta = math.radians(angle)
        cx, cy = center
        dx, dy = points[:, 0] - cx, points[:, 1] - cy
        cos, sin = math.cos(theta), math.sin(theta)
        points = np.stack([cx + dx * cos - dy * sin, cy + dx * sin + dy * cos], axis=1)
    points = points / scale
    return (float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()), float(points[:, 1].max()))


def estimate_skew(grey: Image.Image) -> float:
    """Small rotation (degrees, PIL's counter-clockwise sign) that makes text lines horizontal:
    the angle whose row-ink profile is sharpest, searched on a downsampled binarised copy."""
    small = grey.copy()
    small.thumbnail((900, 900))
    ink = np.asarray(small, dtype=np.uint8) < 128
    if ink.mean() < 0.002:
        return 0.0
    best_angle, best_score = 0.0, -1.0
    for tenth in range(int(-_MAX_DESKEW_DEGREES * 4), int(_MAX_DESKEW_DEGREES * 4) + 1):
        angle = tenth / 4
        rotated = Image.fromarray((ink * 255).astype(np.uint8)).rotate(angle, resample=Image.Resampling.NEAREST)
        rows = np.asarray(rotated, dtype=np.float64).sum(axis=1)
        score = float(np.square(np.diff(rows)).sum())
        if score > best_score:
            best_angle, best_score = angle, score
    return best_angle


def _quiet_rapidocr_logging() -> None:
    for name in ("RapidOCR", "rapidocr", "onnxruntime"):
        logging.getLogger(name).setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def default_ocr_engine() -> OcrEngine:
    """The process-wide in-process OCR engine (models load on first recognize)."""
    return RapidOcrEngine()
