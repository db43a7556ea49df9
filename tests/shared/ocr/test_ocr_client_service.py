"""The inference client against the real gpu-inference app, served by uvicorn on a loopback port."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from PIL import Image

from shared.ocr.client import InferenceOcrClient, InferenceRejected

SERVICE = Path(__file__).resolve().parents[3] / "gpu-inference"


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    sys.path.insert(0, str(SERVICE))
    try:
        from app.main import create_app
    finally:
        sys.path.remove(str(SERVICE))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the inference service did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_client_reads_a_receipt_through_the_real_service(service_url: str, shared_data: Path) -> None:
    receipt = Image.open(shared_data / "sroie" / "007.jpg").convert("RGB").crop((200, 180, 520, 500))
    client = InferenceOcrClient(service_url, timeout_s=120, retries=0)
    words = client.recognize(receipt)
    client.close()

    assert "RESTORAN WAN SHENG" in " ".join(w.text for w in words)
    assert all(0 <= w.x0 <= w.x1 <= receipt.width and 0 <= w.top <= w.bottom <= receipt.height for w in words)
    assert all(0.5 <= w.confidence <= 1 for w in words)


def test_the_service_refusing_a_page_surfaces_as_rejected(service_url: str) -> None:
    client = InferenceOcrClient(service_url, timeout_s=120, retries=2, sleep=lambda _: None)
    with pytest.raises(InferenceRejected, match="ocr failed"):
        client.recognize(Image.new("RGB", (40000, 3), "white"))
    assert client.breaker.state == "closed"
    client.close()


def test_the_worker_ocr_goes_through_the_service_when_settings_name_it(
    service_url: str, shared_data: Path, monkeypatch: pytest.MonkeyPatch
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
        metrics = httpx.get(f"{service_url}/metrics").text
        return int(re.search(r"^papyr_ocr_pages_total (\d+)$", metrics, re.MULTILINE).group(1))  # type: ignore[union-attr]

    before = pages_served()
    monkeypatch.setenv("PAPYR_INFERENCE_URL", service_url)
    get_settings.cache_clear()
    try:
        words = _ocr_png(png.getvalue())
    finally:
        get_settings.cache_clear()

    assert "RESTORAN WAN SHENG" in " ".join(w["text"] for w in words)
    assert pages_served() == before + 1  # the page went to the service, not the in-process engine
