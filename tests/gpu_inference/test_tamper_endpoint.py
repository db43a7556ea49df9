"""POST /v1/tamper: the scan-tampering model behind the inference service (CPU provider in CI)."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bench.fraud.tamper_generators import generate_scan_clean, generate_scan_edit, scan_words
from shared.forensics.model import TamperModel
from shared.forensics.tokens import is_key_token

SERVICE = Path(__file__).resolve().parents[2] / "gpu-inference"


@pytest.fixture(scope="module")
def client() -> TestClient:
    sys.path.insert(0, str(SERVICE))
    try:
        from app.main import create_app
    finally:
        sys.path.remove(str(SERVICE))
    return TestClient(create_app())


def regions(targets: list[tuple[float, ...]], references: list[tuple[float, ...]]) -> str:
    return json.dumps({"targets": [list(b) for b in targets], "references": [list(b) for b in references]})


def test_scores_match_the_in_process_model(client: TestClient, shared_data: Path) -> None:
    source = shared_data / "invoice2data" / "FlipkartInvoice.pdf"
    words = scan_words(source)
    references = [box for _, box in words]
    edited = generate_scan_edit(source, random.Random(3))[0]
    clean = generate_scan_clean(source, random.Random(3))[0]
    assert edited.region is not None
    targets = [edited.region, *[box for text, box in words if is_key_token(text)][:5]]

    response = client.post(
        "/v1/tamper",
        files={"image": ("scan.jpg", edited.data, "image/jpeg")},
        data={"regions": regions(targets, references)},
    )
    assert response.status_code == 200
    answer = response.json()
    local = TamperModel()
    assert answer["scores"] == pytest.approx(local.score_image(edited.data, targets, references), abs=1e-5)
    assert answer["scores"][0] >= answer["threshold"] == pytest.approx(local.threshold)
    assert "CPUExecutionProvider" in answer["providers"]

    clean_answer = client.post(
        "/v1/tamper",
        files={"image": ("scan.jpg", clean.data, "image/jpeg")},
        data={"regions": regions(targets[1:], references)},
    ).json()
    assert max(clean_answer["scores"]) < clean_answer["threshold"]

    metrics = client.get("/metrics").text
    assert "papyr_tamper_requests_total 2" in metrics
    assert "papyr_tamper_regions_total 11" in metrics
    assert "papyr_tamper_batch_size_count" in metrics


def test_bad_requests_are_400s(client: TestClient) -> None:
    not_image = client.post("/v1/tamper", files={"image": ("x.jpg", b"nope", "image/jpeg")}, data={"regions": "{}"})
    assert not_image.status_code == 400
    assert "bad request" in not_image.json()["error"]
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (100, 100), 255).save(buffer, format="PNG")
    for bad in ("not json", json.dumps({"targets": []}), json.dumps({"targets": [[5, 5, 1, 1]]})):
        response = client.post(
            "/v1/tamper", files={"image": ("x.png", buffer.getvalue(), "image/png")}, data={"regions": bad}
        )
        assert response.status_code == 400, bad
    assert client.post("/v1/tamper", content=b"raw").status_code == 400
