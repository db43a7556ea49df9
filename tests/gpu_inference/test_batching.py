"""Pages of concurrent requests share batches, and batching changes no result (CPU provider)."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

SERVICE = Path(__file__).resolve().parents[2] / "gpu-inference"


@pytest.fixture(scope="module")
def service() -> Any:
    sys.path.insert(0, str(SERVICE))
    try:
        from app import main, ocr
    finally:
        sys.path.remove(str(SERVICE))
    return main, ocr


@pytest.fixture(scope="module")
def strips(shared_data: Path) -> list[bytes]:
    """Three small squares of a receipt (small and square, so the CPU OCR stays quick)."""
    receipt = Image.open(shared_data / "sroie" / "007.jpg").convert("RGB")
    return [_png(receipt.crop((200, top, 520, top + 320))) for top in (180, 500, 900)]


@pytest.fixture(scope="module")
def blanks() -> list[bytes]:
    """Pages without text: the quickest real OCR there is, for tests about the queue alone."""
    return [_png(Image.new("RGB", (64, 64), "white")) for _ in range(3)]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def _post_all(app: Any, bodies: list[bytes]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await asyncio.gather(
            *(client.post("/v1/ocr", content=body, headers={"content-type": "image/png"}) for body in bodies)
        )


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


def test_concurrent_requests_share_one_batch_and_match_unbatched_results(service: Any, strips: list[bytes]) -> None:
    main, ocr = service
    app = main.create_app(max_batch=8, max_wait_ms=2000)
    responses = asyncio.run(_post_all(app, strips))

    assert [r.status_code for r in responses] == [200, 200, 200]
    metrics = app.state.metrics.render()
    assert _metric(metrics, "papyr_ocr_batches_total") == 1  # three requests, one batch
    assert 'papyr_ocr_batch_size_bucket{le="2"} 0' in metrics
    assert 'papyr_ocr_batch_size_bucket{le="4"} 1' in metrics
    assert _metric(metrics, "papyr_ocr_pages_total") == 3
    assert _metric(metrics, "papyr_ocr_queue_depth") == 0
    assert _metric(metrics, "papyr_ocr_request_seconds_count") == 3

    for response, png in zip(responses, strips, strict=True):
        unbatched = ocr.engine().recognize(Image.open(io.BytesIO(png)).convert("RGB"))
        assert response.json()["pages"][0]["words"] == [word.model_dump() for word in unbatched]
    assert "RESTORAN" in " ".join(w["text"] for w in responses[0].json()["pages"][0]["words"])


def test_max_batch_splits_the_queue(service: Any, blanks: list[bytes]) -> None:
    main, _ = service
    app = main.create_app(max_batch=2, max_wait_ms=2000)
    responses = asyncio.run(_post_all(app, blanks))

    assert all(r.status_code == 200 for r in responses)
    metrics = app.state.metrics.render()
    assert _metric(metrics, "papyr_ocr_batches_total") == 2
    assert _metric(metrics, "papyr_ocr_batch_size_sum") == 3


def test_a_page_the_ocr_cannot_process_fails_only_its_own_request(service: Any, strips: list[bytes]) -> None:
    main, _ = service
    app = main.create_app(max_batch=8, max_wait_ms=2000)
    sliver = _png(Image.new("RGB", (40000, 3), "white"))  # decodes, but RapidOCR cannot resize it
    responses = asyncio.run(_post_all(app, [strips[0], sliver, b"not an image"]))

    assert responses[0].status_code == 200
    assert "RESTORAN" in " ".join(w["text"] for w in responses[0].json()["pages"][0]["words"])
    assert responses[1].status_code == 422, responses[1].text
    assert "ocr failed" in responses[1].json()["error"]
    assert responses[2].status_code == 400  # refused before it reached the queue
    metrics = app.state.metrics.render()
    assert _metric(metrics, "papyr_ocr_batches_total") == 1  # the good and the failing page shared a batch
    assert _metric(metrics, "papyr_ocr_page_errors_total") == 1


def test_a_full_queue_answers_503(service: Any, blanks: list[bytes]) -> None:
    main, _ = service
    app = main.create_app(max_batch=1, max_wait_ms=0, max_queue=1)
    responses = asyncio.run(_post_all(app, blanks))

    codes = sorted(r.status_code for r in responses)
    assert 200 in codes and 503 in codes
    assert all(code in (200, 503) for code in codes)
