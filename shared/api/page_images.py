"""``GET /api/invoices/{id}/pages/{page}``: one page of the document as PNG (``?boxes=1``: with the
field and finding boxes drawn, as in the approval report). The plain render is cached in the blob
store (``pages/<id>/<n>.png``); boxes change with corrections, so those are drawn per request."""

from __future__ import annotations

import asyncio

from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.api.invoices import load_record
from shared.reports.page_image import NoPageImage, RenderedPage, draw_boxes, page_boxes, page_count, render_page
from shared.services import get_services

CACHE_CONTROL = "private, max-age=300"


def _cached_render(record_id: str, number: int) -> RenderedPage | ApiResponse:
    services = get_services()
    record = services.repo.get_invoice(record_id)
    if record is None:
        return ApiResponse.error(404, f"no invoice with id {record_id!r}")
    count = page_count(services.blobs, record, services.settings.max_pages)
    if not 1 <= number <= count:
        return ApiResponse.error(404, f"no page {number}; the document shows {count} page(s)")
    try:
        return render_page(services.blobs, record, number)
    except NoPageImage as error:
        return ApiResponse.error(404, str(error))


async def get_page_image(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    record = load_record(request)  # part of viewing the invoice (audited by the page), not a view of its own
    if isinstance(record, ApiResponse):
        return record
    raw = request.path_params.get("page", "").removesuffix(".png")
    if not raw.isdigit():
        return ApiResponse.error(400, f"page must be a number, got {raw!r}")
    number = int(raw)
    blobs = get_services().blobs
    name = f"pages/{record.id}/{number}.png"
    with_boxes = request.query.get("boxes", "") in ("1", "true", "yes")
    if not with_boxes and blobs.exists(name):
        png = blobs.get(name)
    else:
        rendered = await asyncio.to_thread(_cached_render, record.id, number)
        if isinstance(rendered, ApiResponse):
            return rendered
        if not blobs.exists(name):
            blobs.put(name, rendered.png, "image/png")
        png = draw_boxes(rendered, page_boxes(record, number)) if with_boxes else rendered.png
    return ApiResponse(status=200, body=png, content_type="image/png", headers={"Cache-Control": CACHE_CONTROL})
