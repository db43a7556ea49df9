"""OCR for the service: the same engine as the embedded host (``shared.ocr.rapid.RapidOcrEngine``, page
preparation included), with the CUDA execution provider when onnxruntime-gpu sees a GPU.

What a batch shares: one call runs every page of the batch on the loaded sessions. On a CPU the pages
run in parallel, one single-threaded worker per core; each page goes through orientation,
resolution normalisation, detection and recognition on its own. Recognising several pages' text
lines in one ONNX batch would pad each line to the widest line of its batch, which changes recognised
text, so a page's words would depend on which other pages shared its batch.
"""

from __future__ import annotations

import threading
from typing import Any

import onnxruntime as ort
from PIL import Image

from shared.ocr.rapid import RapidOcrEngine

_lock = threading.Lock()
_engine: RapidOcrEngine | None = None


def providers() -> list[str]:
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]


def engine() -> RapidOcrEngine:
    """The loaded engine (models are loaded, and int8 copies built if needed, on first call)."""
    global _engine
    with _lock:
        if _engine is None:
            use_cuda = "CUDAExecutionProvider" in providers()
            # On a GPU the float models are the fast ones (int8 QDQ is a CPU optimisation).
            _engine = RapidOcrEngine(use_cuda=use_cuda, int8=not use_cuda)
            _engine.warm_up()
        return _engine


def recognize_batch(pages: list[Image.Image]) -> list[list[dict[str, Any]] | Exception]:
    """Words of each page, in order, or the error of a page that failed (it fails alone); meant to be
    called once per batch, in one worker thread."""
    results: list[list[dict[str, Any]] | Exception] = []
    for outcome in engine().recognize_pages(pages):
        results.append(outcome if isinstance(outcome, Exception) else [word.model_dump() for word in outcome])
    return results
