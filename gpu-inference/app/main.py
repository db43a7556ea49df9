"""HTTP API: POST /v1/ocr (page images → words with boxes), /healthz, /readyz, /metrics.

Request: multipart/form-data with one or more `page` files (PNG/JPEG/TIFF), or a raw image body.
Response: {"pages": [{"width", "height", "words": [{"text", "x0", "top", "x1", "bottom", "confidence"}]}]}.
Batching of pages across requests is issue 3's work; pages are recognised one after another.
"""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from app import ocr

MAX_PIXELS = 40_000_000
_metrics = {"papyr_ocr_pages_total": 0, "papyr_ocr_requests_total": 0, "papyr_ocr_errors_total": 0}
_seconds = {"papyr_ocr_seconds_sum": 0.0}


def _page(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    if image.width * image.height > MAX_PIXELS:
        raise ValueError(f"image too large: {image.width}x{image.height}")
    return np.asarray(image.convert("RGB"))


async def ocr_pages(request: Request) -> JSONResponse:
    _metrics["papyr_ocr_requests_total"] += 1
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        blobs = [await f.read() for f in form.getlist("page") if hasattr(f, "read")]
    else:
        blobs = [await request.body()]
    try:
        pages = [_page(blob) for blob in blobs if blob]
    except Exception as error:  # a bad image is the caller's error, never a crash
        _metrics["papyr_ocr_errors_total"] += 1
        return JSONResponse({"error": f"unreadable image: {error}"}, status_code=400)
    started = time.perf_counter()
    results = []
    for page in pages:
        words = await run_in_threadpool(ocr.recognize, page)
        results.append({"width": page.shape[1], "height": page.shape[0], "words": words})
    _seconds["papyr_ocr_seconds_sum"] += time.perf_counter() - started
    _metrics["papyr_ocr_pages_total"] += len(pages)
    return JSONResponse({"pages": results, "providers": ocr.providers()})


async def healthz(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def readyz(_: Request) -> JSONResponse:
    await run_in_threadpool(ocr.engine)  # ready once the models are loaded
    return JSONResponse({"ready": True, "providers": ocr.providers()})


async def metrics(_: Request) -> PlainTextResponse:
    lines = []
    for name, value in {**_metrics, **_seconds}.items():
        kind = "counter"
        lines += [f"# TYPE {name} {kind}", f"{name} {value}"]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


app = Starlette(
    routes=[
        Route("/v1/ocr", ocr_pages, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
    ]
)
