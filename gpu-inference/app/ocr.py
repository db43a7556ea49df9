"""OCR with RapidOCR's bundled PP-OCR ONNX models; CUDA execution provider when a GPU is there.

What a batch shares: one worker-thread call runs every page of the batch through the same loaded
sessions, back to back, so the GPU (or the CPU's threads) never waits on the event loop between
pages. Each page still goes through detection, classification and recognition on its own:
recognising the text lines of several pages in one ONNX batch pads every line to the widest line of
its batch, and that changes the recognised text (measured on SROIE receipts: 17 of 59 lines of one
receipt differed), so a page's words would depend on which other pages shared its batch.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import onnxruntime as ort

_lock = threading.Lock()
_engine: Any = None


def providers() -> list[str]:
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def engine() -> Any:
    global _engine
    with _lock:
        if _engine is None:
            from rapidocr import RapidOCR

            use_cuda = "CUDAExecutionProvider" in providers()
            params: dict[str, Any] = {f"{stage}.engine_cfg.use_cuda": use_cuda for stage in ("Det", "Cls", "Rec")}
            params["Global.log_level"] = "error"
            _engine = RapidOCR(params=params)
        return _engine


def recognize(image: np.ndarray) -> list[dict[str, Any]]:
    """Words (text runs) of one page, boxes in its pixels."""
    return _words(engine()(image))


def recognize_batch(images: list[np.ndarray]) -> list[list[dict[str, Any]] | Exception]:
    """Words of each page, in order, or the error of a page that failed (it fails alone); meant to be
    called once per batch, in one worker thread."""
    results: list[list[dict[str, Any]] | Exception] = []
    for image in images:
        try:
            results.append(recognize(image))
        except Exception as error:  # one unreadable page must not fail the other requests' pages
            results.append(error)
    return results


def _words(result: Any) -> list[dict[str, Any]]:
    words: list[dict[str, Any]] = []
    if getattr(result, "boxes", None) is None or getattr(result, "txts", None) is None:
        return words
    for box, text, score in zip(result.boxes, result.txts, result.scores, strict=False):
        xs = [float(p[0]) for p in box]
        ys = [float(p[1]) for p in box]
        words.append(
            {"text": text, "x0": min(xs), "top": min(ys), "x1": max(xs), "bottom": max(ys), "confidence": float(score)}
        )
    return words
