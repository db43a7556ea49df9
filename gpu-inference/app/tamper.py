"""The scan-tampering model: the same code as the embedded host (``shared.forensics.image`` for the
features, ``shared.forensics.model`` for the ONNX session), here with the CUDA execution provider
when the node has a GPU. The image ships ``shared/forensics`` beside ``app/`` (see the Dockerfile).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from shared.forensics.image import Box, region_features
from shared.forensics.model import TamperModel

_lock = threading.Lock()
_model: TamperModel | None = None


def model() -> TamperModel:
    global _model
    with _lock:
        if _model is None:
            _model = TamperModel()
        return _model


Job = tuple[np.ndarray, list[Box], list[Box]]


def score_batch(jobs: list[Job]) -> list[list[float] | Exception]:
    """Scores of each job's target regions; the tiles of every job in the batch go through ONNX
    Runtime in one run (features are per page, so batching cannot change a page's result)."""
    features: list[list[np.ndarray] | Exception] = []
    for grey, targets, references in jobs:
        try:
            features.append(region_features(grey, targets, references))
        except Exception as error:  # one unreadable page fails alone
            features.append(error)
    good = [f for f in features if not isinstance(f, Exception)]
    flat = model().score_regions([matrix for page in good for matrix in page])
    results: list[list[float] | Exception] = []
    offset = 0
    for page in features:
        if isinstance(page, Exception):
            results.append(page)
            continue
        results.append(flat[offset : offset + len(page)])
        offset += len(page)
    return results


def info() -> dict[str, Any]:
    loaded = model()
    return {"threshold": loaded.threshold, "model": loaded.version, "providers": loaded.providers}
