"""The scan-tampering model over the gpu-inference service's HTTP API (POST /v1/tamper).

Same retries, backoff and circuit breaker as OCR (``InferenceHttpClient``). The image goes as its
original bytes: re-encoding it would wipe out the compression traces the model reads.
"""

from __future__ import annotations

import json
from functools import lru_cache

from pydantic import BaseModel

from shared.forensics.image import Box
from shared.ocr.client import InferenceHttpClient, InferenceUnavailable


class RegionScores(BaseModel):
    scores: list[float]
    threshold: float
    model: str
    providers: list[str] = []


class InferenceTamperClient(InferenceHttpClient):
    def score_image(self, data: bytes, targets: list[Box], references: list[Box]) -> RegionScores:
        regions = {"targets": [list(b) for b in targets], "references": [list(b) for b in references]}
        answer = self.post_json(
            "/v1/tamper",
            files={"image": ("page", data, "application/octet-stream")},
            data={"regions": json.dumps(regions)},
        )
        scores = RegionScores.model_validate(answer)
        if len(scores.scores) != len(targets):
            raise InferenceUnavailable(f"inference service scored {len(scores.scores)} regions for {len(targets)}")
        return scores


@lru_cache(maxsize=4)
def tamper_client(base_url: str) -> InferenceTamperClient:
    """The process-wide client (and circuit breaker) for one service URL."""
    return InferenceTamperClient(base_url)
