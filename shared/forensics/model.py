"""The scan-tampering classifier: a small MLP over ``image.FEATURES``, stored as ONNX and run by
ONNX Runtime (CUDA when the gpu-inference service has a GPU, the CPU otherwise).

A region's score is the highest of its tiles' scores: an edit of one digit touches one tile.
Trained by ``bench/train_tamper_model.py`` only on data generated from the shipped dev invoices.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from shared.forensics.image import Box, load_grey, region_features

MODEL_PATH = Path(__file__).with_name("tamper_model.onnx")
# Tiles scoring at or above this make a region "edited" (chosen in training for a low false-positive rate).
THRESHOLD_KEY = "papyr_threshold"


class TamperModel:
    def __init__(self, path: Path = MODEL_PATH, providers: list[str] | None = None) -> None:
        import onnxruntime as ort

        available = ort.get_available_providers()
        wanted = providers or [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=wanted)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.threshold = float(meta.get(THRESHOLD_KEY, "0.5"))
        self.version = meta.get("papyr_version", "unknown")
        self._input = self.session.get_inputs()[0].name

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def score_tiles(self, features: np.ndarray) -> np.ndarray:
        if features.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        result: Any = self.session.run(None, {self._input: features.astype(np.float32)})[0]
        return np.asarray(result, dtype=np.float32).reshape(-1)

    def score_regions(self, features: list[np.ndarray]) -> list[float]:
        """One score per region (its best tile), all tiles of all regions in one ONNX run."""
        sizes = [f.shape[0] for f in features]
        if not sum(sizes):
            return [0.0 for _ in features]
        scores = self.score_tiles(np.concatenate([f for f in features if f.shape[0]]))
        out: list[float] = []
        offset = 0
        for size in sizes:
            out.append(float(scores[offset : offset + size].max()) if size else 0.0)
            offset += size
        return out

    def score_image(self, data: bytes, targets: list[Box], references: list[Box]) -> list[float]:
        return self.score_regions(region_features(load_grey(data), targets, references))


_lock = threading.Lock()
_model: TamperModel | None = None


def default_model() -> TamperModel:
    """The process-wide model (loaded once; sessions are thread-safe for run())."""
    global _model
    with _lock:
        if _model is None:
            _model = TamperModel()
        return _model
