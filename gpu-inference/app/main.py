"""HTTP API: POST /v1/ocr (page images → words with boxes), POST /v1/tamper (scan regions → edit
scores), /healthz, /readyz, /metrics.

Request: multipart/form-data with one or more `page` files (PNG/JPEG/TIFF), or a raw image body; each
frame of a multi-page TIFF (or GIF/WebP) is a page of its own, in order.
Response: {"pages": [{"width", "height", "words": [{"text", "x0", "top", "x1", "bottom", "confidence"}]}],
"providers": [...]}. Errors: 400 unreadable or oversized image, 422 a page the OCR could not process,
503 queue full (retry later).

Pages of concurrent requests are recognised in shared batches (app.batching); configured by
PAPYR_OCR_MAX_BATCH (pages per batch), PAPYR_OCR_MAX_WAIT_MS (how long a batch waits to fill) and
PAPYR_OCR_MAX_QUEUE (pages waiting before requests get 503).

/v1/tamper: multipart `image` (the original bytes: re-encoding would erase the traces scored) and a
form field `regions` = {"targets": [[x0, top, x1, bottom], ...], "references": [[...], ...]} in the
image's pixels. Response: {"scores": [...] one per target, "threshold", "model", "providers"}.
Requests share batches the same way (PAPYR_TAMPER_MAX_BATCH, PAPYR_TAMPER_MAX_WAIT_MS).
"""

from __future__ import annotations

import io
import json
import os
import time
from typing import Any

import numpy as np
from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from app import ocr, tamper
from app.batching import BatchRunner, MicroBatcher, QueueFull
from app.metrics import Registry
from shared.ocr.prepare import page_images

MAX_PIXELS = 40_000_000
MAX_FRAMES = 50


def _pages(data: bytes) -> list[Image.Image]:
    """The pages of one image file (every frame of a multi-page TIFF), decoded and size-checked."""
    image = Image.open(io.BytesIO(data))
    if image.width * image.height > MAX_PIXELS:
        raise ValueError(f"image too large: {image.width}x{image.height}")
    if getattr(image, "n_frames", 1) > MAX_FRAMES:
        raise ValueError(f"too many pages: {image.n_frames} (at most {MAX_FRAMES})")
    pages = []
    for frame in page_images(image):
        if frame.width * frame.height > MAX_PIXELS:
            raise ValueError(f"image too large: {frame.width}x{frame.height}")
        pages.append(frame.convert("RGB"))
    return pages


def create_app(
    *,
    max_batch: int | None = None,
    max_wait_ms: float | None = None,
    max_queue: int | None = None,
    run_batch: BatchRunner = ocr.recognize_batch,
    run_tamper_batch: Any = tamper.score_batch,
) -> Starlette:
    """The service; arguments left out come from the environment."""
    metrics = Registry()
    for name, help_text in (
        ("papyr_ocr_requests_total", "OCR requests received"),
        ("papyr_ocr_pages_total", "Pages recognised"),
        ("papyr_ocr_errors_total", "Requests answered with an error"),
        ("papyr_tamper_requests_total", "Tamper-scoring requests received"),
        ("papyr_tamper_regions_total", "Regions scored for tampering"),
        ("papyr_tamper_errors_total", "Tamper requests answered with an error"),
    ):
        metrics.counter(name, help_text)
    latency = metrics.histogram(
        "papyr_ocr_request_seconds", "Time to answer an OCR request", (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
    )
    batcher = MicroBatcher(
        run_batch,
        max_batch=max_batch if max_batch is not None else int(os.environ.get("PAPYR_OCR_MAX_BATCH", "16")),
        max_wait_s=(max_wait_ms if max_wait_ms is not None else float(os.environ.get("PAPYR_OCR_MAX_WAIT_MS", "10")))
        / 1000,
        max_queue=max_queue if max_queue is not None else int(os.environ.get("PAPYR_OCR_MAX_QUEUE", "512")),
        metrics=metrics,
    )

    tamper_batcher = MicroBatcher(
        run_tamper_batch,
        max_batch=int(os.environ.get("PAPYR_TAMPER_MAX_BATCH", "8")),
        max_wait_s=float(os.environ.get("PAPYR_TAMPER_MAX_WAIT_MS", "10")) / 1000,
        max_queue=int(os.environ.get("PAPYR_TAMPER_MAX_QUEUE", "128")),
        metrics=metrics,
        prefix="papyr_tamper",
    )
    tamper_latency = metrics.histogram(
        "papyr_tamper_request_seconds", "Time to answer a tamper request", (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
    )

    def error(status: int, message: str, counter: str = "papyr_ocr_errors_total") -> JSONResponse:
        metrics.inc(counter)
        return JSONResponse({"error": message}, status_code=status)

    async def tamper_regions(request: Request) -> JSONResponse:
        started = time.perf_counter()
        metrics.inc("papyr_tamper_requests_total")
        try:
            form = await request.form()
            upload = form.get("image")
            if upload is None or isinstance(upload, str):
                raise ValueError("no image part")
            grey = _grey(await upload.read())
            targets, references = _boxes(str(form.get("regions") or "{}"))
        except Exception as failure:  # bad input is the caller's error, never a crash
            return error(400, f"bad request: {failure}", "papyr_tamper_errors_total")
        try:
            scores = (await tamper_batcher.recognize([(grey, targets, references)]))[0]
        except QueueFull as failure:
            return error(503, f"busy: {failure}", "papyr_tamper_errors_total")
        except Exception as failure:
            return error(422, f"scoring failed: {type(failure).__name__}: {failure}", "papyr_tamper_errors_total")
        metrics.inc("papyr_tamper_regions_total", len(targets))
        tamper_latency.observe(time.perf_counter() - started)
        return JSONResponse({"scores": scores, **tamper.info()})

    async def ocr_pages(request: Request) -> JSONResponse:
        started = time.perf_counter()
        metrics.inc("papyr_ocr_requests_total")
        try:
            if request.headers.get("content-type", "").startswith("multipart/form-data"):
                form = await request.form()
                blobs = [await f.read() for f in form.getlist("page") if not isinstance(f, str)]
            else:
                blobs = [await request.body()]
            pages = [page for blob in blobs if blob for page in _pages(blob)]
        except Exception as failure:  # a bad image is the caller's error, never a crash
            return error(400, f"unreadable image: {failure}")
        if not pages:
            return error(400, "unreadable image: no page in the request")
        try:
            words = await batcher.recognize(pages)
        except QueueFull as failure:
            return error(503, f"busy: {failure}")
        except Exception as failure:  # this request's page broke the OCR; other requests are unaffected
            return error(422, f"ocr failed: {type(failure).__name__}: {failure}")
        metrics.inc("papyr_ocr_pages_total", len(pages))
        latency.observe(time.perf_counter() - started)
        results = [
            {"width": page.width, "height": page.height, "words": page_words}
            for page, page_words in zip(pages, words, strict=True)
        ]
        return JSONResponse({"pages": results, "providers": ocr.providers()})

    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> JSONResponse:
        await run_in_threadpool(ocr.engine)  # ready once the models are loaded
        return JSONResponse({"ready": True, "providers": ocr.providers()})

    async def render_metrics(_: Request) -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    service = Starlette(
        routes=[
            Route("/v1/ocr", ocr_pages, methods=["POST"]),
            Route("/v1/tamper", tamper_regions, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", render_metrics),
        ]
    )
    service.state.batcher = batcher
    service.state.metrics = metrics
    return service


def _grey(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    if image.width * image.height > MAX_PIXELS:
        raise ValueError(f"image too large: {image.width}x{image.height}")
    return np.asarray(image.convert("L"), dtype=np.uint8)


MAX_REGIONS = 2_000


def _boxes(raw: str) -> tuple[list[tuple[float, float, float, float]], list[tuple[float, float, float, float]]]:
    parsed = json.loads(raw)
    lists = []
    for key in ("targets", "references"):
        boxes = parsed.get(key, [])
        if not isinstance(boxes, list) or len(boxes) > MAX_REGIONS:
            raise ValueError(f"{key}: a list of at most {MAX_REGIONS} boxes")
        checked = []
        for box in boxes:
            x0, top, x1, bottom = (float(v) for v in box)
            if not (x1 > x0 and bottom > top):
                raise ValueError(f"{key}: empty box {box}")
            checked.append((x0, top, x1, bottom))
        lists.append(checked)
    if not lists[0]:
        raise ValueError("no target regions")
    return lists[0], lists[1]


app = create_app()
