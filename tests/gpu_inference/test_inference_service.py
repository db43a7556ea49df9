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


def test_each_page_of_a_multi_page_tiff_is_read(client: TestClient, shared_data: Path) -> None:
    receipt = Image.open(shared_data / "sroie" / "007.jpg").convert("RGB").crop((150, 180, 650, 500))
    pages = [receipt, receipt.transpose(Image.Transpose.ROTATE_180), Image.new("RGB", (300, 200), "white")]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    response = client.post("/v1/ocr", files={"page": ("scan.tif", buffer.getvalue(), "image/tiff")})
    assert response.status_code == 200, response.text
    read = response.json()["pages"]
    assert [(p["width"], p["height"]) for p in read] == [(500, 320), (500, 320), (300, 200)]
    # The upside-down page is turned by the shared page preparation, as in the embedded engine.
    for page in read[:2]:
        assert "RESTORAN" in " ".join(w["text"] for w in page["words"])
    assert read[2]["words"] == []
