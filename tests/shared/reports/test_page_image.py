"""The page image with boxes: one renderer for the dashboard endpoint and the approval report."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from shared.api.http import ApiContext, ApiRequest
from shared.api.page_images import get_page_image
from shared.documents.content import ContentKind, DocumentContent, Page, content_blob_name
from shared.domain import Finding, InvoiceRecord, Severity
from shared.reports import render_approval_report
from shared.reports.page_image import (
    PDF_DPI,
    TONES,
    NoPageImage,
    draw_boxes,
    finding_boxes,
    page_boxes,
    render_page,
    report_pages,
    scale_box,
)
from shared.services import Services, set_services
from tests.shared.api import invoice_factory as factory

A4 = (595.0, 842.0)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built: Services = factory.make_services(tmp_path / "papyr")
    set_services(built)
    yield built
    set_services(None)


def pdf_record(services: Services, **kwargs: object) -> InvoiceRecord:
    record: InvoiceRecord = factory.make_record(services, content=factory.SAMPLE_PDF.read_bytes(), **kwargs)
    return record


def cache_content(services: Services, record: InvoiceRecord, size: tuple[float, float] = A4) -> None:
    content = DocumentContent(kind=ContentKind.PDF, pages=[Page(number=1, width=size[0], height=size[1])], page_count=1)
    services.blobs.put(content_blob_name(record.id), content.model_dump_json().encode(), "application/json")


def pixel(png: bytes, x: float, y: float) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(png)) as image:
        value = image.convert("RGB").getpixel((int(x), int(y)))
    assert isinstance(value, tuple)
    return (int(value[0]), int(value[1]), int(value[2]))


def test_boxes_scale_from_page_units_to_pixels() -> None:
    assert scale_box((100, 200, 300, 220), A4, (1190, 1684)) == (200, 400, 600, 440)
    x0, top, x1, bottom = scale_box((59.5, 84.2, 119.0, 168.4), A4, (850, 1203))
    assert (round(x0), round(top), round(x1), round(bottom)) == (85, 120, 170, 241)


def test_fields_and_findings_give_boxes_with_their_tones(services: Services) -> None:
    located = Finding(code="bank.iban_changed", severity=Severity.HIGH, message="IBAN changed",
                      evidence={"locations": [{"page": 1, "bbox": [300, 500, 480, 512], "label": "IBAN"}]})
    compared = Finding(code="arithmetic.total_mismatch", severity=Severity.MEDIUM, message="sum",
                       evidence={"total": {"value": "1", "page": 1, "bbox": [1, 2, 3, 4]}, "expected": "2"})
    record = pdf_record(services, confidences={"total": 0.5}, findings=[located, compared])
    boxes = page_boxes(record, 1)
    tones = {(b.kind, b.key): b.tone for b in boxes}
    assert tones[("field", "total")] == "low" and tones[("field", "vendor_name")] == "field"
    assert [(b.key, b.tone, b.bbox, b.label) for b in finding_boxes(record)] == [
        ("0", "high", (300.0, 500.0, 480.0, 512.0), "bank.iban_changed: IBAN"),
        ("1", "medium", (1.0, 2.0, 3.0, 4.0), "arithmetic.total_mismatch: total"),
    ]
    assert page_boxes(record, 2) == []


def test_a_pdf_page_renders_at_a_fixed_dpi_and_boxes_land_where_they_belong(services: Services) -> None:
    record = pdf_record(services, findings=[Finding(
        code="bank.iban_changed", severity=Severity.HIGH, message="IBAN changed",
        evidence={"locations": [{"page": 1, "bbox": [100, 400, 300, 430]}]})])
    cache_content(services, record)
    page = render_page(services.blobs, record, 1)
    with Image.open(io.BytesIO(page.png)) as image:
        assert image.format == "PNG" and image.size == page.image_size
    assert page.page_size == A4
    assert abs(page.image_size[0] - 595.28 * PDF_DPI / 72) <= 2
    drawn = draw_boxes(page, [b for b in page_boxes(record, 1) if b.kind == "finding"])
    x0, top, x1, _bottom = scale_box((100, 400, 300, 430), page.page_size, page.image_size)
    red = TONES["high"]
    edge = pixel(drawn, (x0 + x1) / 2, top - 1.5)  # the outline sits just outside the box
    assert all(abs(edge[i] - red[i]) < 40 for i in range(3)), edge
    assert pixel(drawn, 5, 5) == pixel(page.png, 5, 5)  # away from the boxes the page is untouched
    with pytest.raises(NoPageImage):
        render_page(services.blobs, record, 3)  # the sample has two pages


def test_an_image_document_is_shown_as_it_is(services: Services) -> None:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(out, format="PNG")
    record = factory.make_record(services)
    services.blobs.put("documents/scan.png", out.getvalue(), "image/png")
    scan = record.model_copy(update={"document": record.document.model_copy(
        update={"blob_name": "documents/scan.png", "content_type": "image/png", "filename": "scan.png"})})
    page = render_page(services.blobs, scan, 1)
    assert page.image_size == (400, 300) and page.page_size == (400.0, 300.0)
    xml = record.model_copy(update={"document": record.document.model_copy(
        update={"content_type": "application/xml", "filename": "invoice.xml"})})
    with pytest.raises(NoPageImage, match="no page image"):
        render_page(services.blobs, xml, 1)


def test_the_approval_report_embeds_the_page_with_its_boxes(services: Services) -> None:
    record = pdf_record(services, findings=[factory.bank_change_finding()])
    cache_content(services, record)
    pages = report_pages(services.blobs, record, max_pages=50)
    assert len(pages) == 1 and pages[0].startswith(b"\x89PNG")
    with_image = render_approval_report(record, services.repo.audit_trail(record.id), page_images=pages)
    without = render_approval_report(record, services.repo.audit_trail(record.id))
    assert with_image.count(b"/Subtype /Image") >= 1 and without.count(b"/Subtype /Image") == 0
    assert len(with_image) > len(without) + 10_000


def call_page(record_id: str, page: str, **query: str) -> tuple[int, bytes, str]:
    request = ApiRequest(method="GET", path_params={"invoice_id": record_id, "page": page}, query=query)
    response = asyncio.run(get_page_image(request, ApiContext(orchestration=factory.RecordingOrchestration())))
    return response.status, response.body, response.content_type


def test_the_page_endpoint_serves_and_caches_png(services: Services) -> None:
    record = pdf_record(services, findings=[factory.bank_change_finding()])
    cache_content(services, record)
    status, png, content_type = call_page(record.id, "1")
    assert (status, content_type) == (200, "image/png") and png.startswith(b"\x89PNG")
    assert services.blobs.get(f"pages/{record.id}/1.png") == png
    status, boxed, _ = call_page(record.id, "1", boxes="1")
    assert status == 200 and boxed != png
    assert call_page(record.id, "2")[0] == 404
    status, body, _ = call_page(record.id, "one")
    assert status == 400 and "number" in json.loads(body)["error"]
    assert call_page("0" * 64, "1")[0] == 404
