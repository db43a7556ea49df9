"""The tamper client against the real gpu-inference app served by uvicorn on a loopback port, and
its retry behaviour (shared with the OCR client) at the HTTP transport seam."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from bench.fraud.tamper_generators import generate_scan_edit, scan_words
from shared.forensics.client import InferenceTamperClient
from shared.forensics.model import TamperModel
from shared.ocr.client import InferenceRejected, InferenceUnavailable


def test_an_edited_scan_region_scores_high_through_the_service(inference_service_url: str, shared_data: Path) -> None:
    source = shared_data / "invoice2data" / "FlipkartInvoice.pdf"
    case = generate_scan_edit(source, random.Random(3))[0]
    assert case.region is not None
    client = InferenceTamperClient(inference_service_url, timeout_s=120, retries=0)
    answer = client.score_image(case.data, [case.region], [box for _, box in scan_words(source)])
    client.close()
    assert answer.scores[0] >= answer.threshold
    assert answer.model == TamperModel().version


def test_5xx_is_retried_and_4xx_is_not() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503, json={"error": "busy"})
        return httpx.Response(200, json={"scores": [0.1], "threshold": 0.9, "model": "m", "providers": ["CPU"]})

    client = InferenceTamperClient("http://inference", transport=httpx.MockTransport(handler), sleep=lambda _: None)
    assert client.score_image(b"jpeg", [(0, 0, 10, 10)], []).scores == [0.1]
    assert len(calls) == 2

    refusing = InferenceTamperClient(
        "http://inference",
        transport=httpx.MockTransport(lambda _: httpx.Response(400, json={"error": "bad request: no image"})),
        sleep=lambda _: None,
    )
    with pytest.raises(InferenceRejected, match="no image"):
        refusing.score_image(b"jpeg", [(0, 0, 10, 10)], [])

    short = InferenceTamperClient(
        "http://inference",
        transport=httpx.MockTransport(
            lambda _: httpx.Response(200, json={"scores": [], "threshold": 0.9, "model": "m"})
        ),
    )
    with pytest.raises(InferenceUnavailable, match="scored 0 regions for 1"):
        short.score_image(b"jpeg", [(0, 0, 10, 10)], [])
