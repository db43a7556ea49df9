"""OCR with RapidOCR's bundled PP-OCR ONNX models; CUDA execution provider when a GPU is there."""

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
            params = {f"{stage}.engine_cfg.use_cuda": use_cuda for stage in ("Det", "Cls", "Rec")}
            _engine = RapidOCR(params=params) if use_cuda else RapidOCR()
        return _engine


def recognize(image: np.ndarray) -> list[dict[str, Any]]:
    result = engine()(image)
    words: list[dict[str, Any]] = []
    if result.boxes is None:
        return words
    for box, text, score in zip(result.boxes, result.txts, result.scores, strict=False):
        xs = [float(p[0]) for p in box]
        ys = [float(p[1]) for p in box]
        words.append(
            {"text": text, "x0": min(xs), "top": min(ys), "x1": max(xs), "bottom": max(ys), "confidence": float(score)}
        )
    return words
