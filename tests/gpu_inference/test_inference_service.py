"""The inference service's HTTP API, on the CPU execution provider (CI has no GPU)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

SERVICE = Path(__file__).resolve().parents[2] / "gpu-inference"


@pytest.fixture(scope="module")
def client() -> TestClient:
    sys.path.insert(0, str(SERVICE))
    try:
        from app.main import app
    finally:
        sys.path.remove(str(SERVICE))
    return TestClient(app)


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").text == "ok"
    ready = client.get("/readyz").json()
    assert ready["ready"] is True
    assert "CPUExecutionProvider" in ready["providers"]


def test_ocr_reads_a_receipt(client: TestClient, shared_data: Path) -> None:
    image = (shared_data / "sroie" / "007.jpg").read_bytes()
    response = client.post("/v1/ocr", files={"page": ("007.jpg", image, "image/jpeg")})
    assert response.status_code == 200
    page = response.json()["pages"][0]
    text = " ".join(w["text"] for w in page["words"])
    assert "RESTORAN WAN SHENG" in text
    assert all(w["x0"] <= w["x1"] and w["top"] <= w["bottom"] for w in page["words"])
    metrics = client.get("/metrics").text
    assert "papyr_ocr_pages_total" in metrics


def test_bad_image_is_a_400_not_a_crash(client: TestClient) -> None:
    response = client.post("/v1/ocr", content=b"not an image", headers={"content-type": "image/png"})
    assert response.status_code == 400
    assert "unreadable image" in response.json()["error"]


def test_oversized_image_is_refused(client: TestClient) -> None:
    buffer = io.BytesIO()
    Image.new("L", (8000, 6000)).save(buffer, format="PNG")
    response = client.post("/v1/ocr", content=buffer.getvalue(), headers={"content-type": "image/png"})
    assert response.status_code == 400
    assert "too large" in response.json()["error"]
