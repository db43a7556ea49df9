"""The inference client against the real gpu-inference app, served by uvicorn on a loopback port."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from shared.ocr.client import InferenceOcrClient, InferenceRejected


def test_client_reads_a_receipt_through_the_real_service(inference_service_url: str, shared_data: Path) -> None:
    receipt = Image.open(shared_data / "sroie" / "007.jpg").convert("RGB").crop((200, 180, 520, 500))
    client = InferenceOcrClient(inference_service_url, timeout_s=120, retries=0)
    words = client.recognize(receipt)
    client.close()

    assert "RESTORAN WAN SHENG" in " ".join(w.text for w in words)
    assert all(0 <= w.x0 <= w.x1 <= receipt.width and 0 <= w.top <= w.bottom <= receipt.height for w in words)
    assert all(0.5 <= w.confidence <= 1 for w in words)


def test_the_service_refusing_a_page_surfaces_as_rejected(inference_service_url: str) -> None:
    client = InferenceOcrClient(inference_service_url, timeout_s=120, retries=2, sleep=lambda _: None)
    with pytest.raises(InferenceRejected, match="ocr failed"):
        client.recognize(Image.new("RGB", (40000, 3), "white"))
    assert client.breaker.state == "closed"
    client.close()


def test_the_worker_ocr_goes_through_the_service_when_settings_name_it(
    inference_service_url: str, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import re

    import httpx

    from shared.pipeline import _ocr_png
    from shared.settings import get_settings

    receipt = Image.open(shared_data / "sroie" / "007.jpg").convert("RGB").crop((200, 180, 520, 500))
    png = io.BytesIO()
    receipt.save(png, format="PNG")

    def pages_served() -> int:
        metrics = httpx.get(f"{inference_service_url}/metrics").text
        return int(re.search(r"^papyr_ocr_pages_total (\d+)$", metrics, re.MULTILINE).group(1))  # type: ignore[union-attr]

    before = pages_served()
    monkeypatch.setenv("PAPYR_INFERENCE_URL", inference_service_url)
    get_settings.cache_clear()
    try:
        words = _ocr_png(png.getvalue())
    finally:
        get_settings.cache_clear()

    assert "RESTORAN WAN SHENG" in " ".join(w["text"] for w in words)
    assert pages_served() == before + 1  # the page went to the service, not the in-process engine
