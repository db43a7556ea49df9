"""The document's page as a picture with boxes where Papyr read each field and where each finding
points: one implementation, used by the dashboard (PNG endpoint + HTML overlay from the same
boxes) and by the approval report (boxes drawn onto the PNG with Pillow).

Boxes are in page units (``Provenance.bbox``, finding ``evidence["locations"]``): PDF points for text
pages, pixels for image pages, origin top-left, the frame of ``DocumentContent.pages[n]``. PDFs are
rendered with pdfium at a fixed DPI; images as they are (EXIF-rotated, bounded in size).
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

import pypdfium2
from PIL import Image, ImageDraw, ImageOps

from shared.documents.content import read_cached_content
from shared.documents.images import MAX_IMAGE_PIXELS
from shared.domain import HEADER_FIELDS, InvoiceRecord, Source
from shared.ports import BlobNotFound, BlobStore

PDF_DPI = 110
MAX_EDGE_PX = 2200  # a page image is for reading, never larger than this on its long side
LOW_CONFIDENCE = 0.9  # below this a field is highlighted and listed first as "please check"
MAX_REPORT_PAGES = 3
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/tiff", "image/gif", "image/bmp", "image/webp"})
# Box colours (RGB) by tone: the dashboard's CSS uses the same names.
TONES: dict[str, tuple[int, int, int]] = {
    "field": (37, 99, 235),
    "low": (217, 119, 6),
    "user": (22, 163, 74),
    "high": (220, 38, 38),
    "medium": (234, 88, 12),
    "low-finding": (202, 138, 4),
    "info": (100, 116, 139),
}
_pdfium_lock = threading.Lock()  # pdfium is not thread-safe


class NoPageImage(Exception):
    """This document has no page to show (an XML e-invoice), or not this page."""


@dataclass(frozen=True)
class PageBox:
    page: int
    bbox: tuple[float, float, float, float]  # x0, top, x1, bottom in page units
    kind: str  # "field" or "finding"
    key: str  # the field name or the finding's index: what the page links the box to
    label: str
    tone: str  # a key of TONES


def _valid(bbox: Any) -> tuple[float, float, float, float] | None:
    try:
        x0, top, x1, bottom = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return None
    return (x0, top, x1, bottom) if x1 > x0 and bottom > top else None


def field_boxes(record: InvoiceRecord) -> list[PageBox]:
    fields = record.extraction.fields if record.extraction else {}
    names = [n for n in HEADER_FIELDS if n in fields] + sorted(n for n in fields if n not in HEADER_FIELDS)
    boxes = []
    for name in names:
        field = fields[name]
        bbox = _valid(field.provenance.bbox)
        if bbox is None or field.provenance.page is None:
            continue
        low = field.confidence < LOW_CONFIDENCE
        tone = "user" if field.provenance.source is Source.USER else "low" if low else "field"
        boxes.append(PageBox(field.provenance.page, bbox, "field", name, name.replace("_", " "), tone))
    return boxes


def _finding_locations(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """``evidence["locations"]``; for findings written before that key, the boxes of the field
    values they compare (``field_evidence`` dicts carry page and bbox)."""
    locations = evidence.get("locations")
    if isinstance(locations, list):
        return [loc for loc in locations if isinstance(loc, dict)]
    return [{"page": v.get("page"), "bbox": v.get("bbox"), "label": key.replace("_", " ")}
            for key, v in evidence.items() if isinstance(v, dict) and v.get("bbox") and v.get("page")]


def finding_boxes(record: InvoiceRecord) -> list[PageBox]:
    boxes = []
    for index, finding in enumerate(record.findings):
        tone = "low-finding" if finding.severity.value == "low" else finding.severity.value
        for location in _finding_locations(finding.evidence):
            bbox, page = _valid(location.get("bbox")), location.get("page")
            if bbox is None or not isinstance(page, int):
                continue
            label = f"{finding.code}" + (f": {location['label']}" if location.get("label") else "")
            boxes.append(PageBox(page, bbox, "finding", str(index), label, tone))
    return boxes


def page_boxes(record: InvoiceRecord, page: int | None = None) -> list[PageBox]:
    boxes = [*field_boxes(record), *finding_boxes(record)]
    return [box for box in boxes if page is None or box.page == page]


def scale_box(bbox: tuple[float, float, float, float], page_size: tuple[float, float],
              image_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """A box in page units → pixels of an image of the whole page."""
    sx, sy = image_size[0] / page_size[0], image_size[1] / page_size[1]
    x0, top, x1, bottom = bbox
    return (x0 * sx, top * sy, x1 * sx, bottom * sy)


# -- the document's pages ------------------------------------------------------------------------


def is_pdf(record: InvoiceRecord) -> bool:
    return record.document.content_type == "application/pdf" or record.document.filename.lower().endswith(".pdf")


def has_page_images(record: InvoiceRecord) -> bool:
    return is_pdf(record) or record.document.content_type in IMAGE_TYPES


def page_count(blobs: BlobStore, record: InvoiceRecord, max_pages: int) -> int:
    if not has_page_images(record):
        return 0
    content = read_cached_content(blobs, record.id)
    if content is not None and content.pages:
        return min(max(content.page_count, len(content.pages)), max_pages)
    if record.extraction and record.extraction.pages:
        return min(record.extraction.pages, max_pages)
    return 1


@dataclass(frozen=True)
class RenderedPage:
    png: bytes
    image_size: tuple[int, int]
    page_size: tuple[float, float]  # in page units: what boxes are measured in


def _to_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _render_pdf(data: bytes, number: int) -> tuple[Image.Image, tuple[float, float]]:
    with _pdfium_lock:
        try:
            document = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as error:
            raise NoPageImage(f"the PDF cannot be rendered: {error}") from None
        try:
            if not 1 <= number <= len(document):
                raise NoPageImage(f"the document has no page {number}")
            page = document[number - 1]
            width, height = page.get_size()
            scale = min(PDF_DPI / 72.0, MAX_EDGE_PX / max(width, height, 1.0))
            image = page.render(scale=scale).to_pil().convert("RGB")
        finally:
            document.close()
    return image, (float(width), float(height))


def _render_image(data: bytes, number: int) -> tuple[Image.Image, tuple[float, float]]:
    # Intake already refused images beyond its cap; Pillow's own bomb check stays on here.
    image = Image.open(io.BytesIO(data))
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise NoPageImage(f"image too large: {image.width}x{image.height}")
    try:
        image.seek(number - 1)
    except EOFError:
        raise NoPageImage(f"the document has no page {number}") from None
    image.draft("RGB", (MAX_EDGE_PX, MAX_EDGE_PX))  # JPEG: decode at reduced size
    image.load()
    upright = (ImageOps.exif_transpose(image) or image).convert("RGB")
    size = (float(upright.width), float(upright.height))
    upright.thumbnail((MAX_EDGE_PX, MAX_EDGE_PX))
    return upright, size


def render_page(blobs: BlobStore, record: InvoiceRecord, number: int) -> RenderedPage:
    """Page ``number`` (1-based) as PNG, with the page's size in page units (from the cached
    content when there is one: the frame extraction measured its boxes in)."""
    if not has_page_images(record):
        raise NoPageImage(f"a {record.document.content_type} document has no page image")
    try:
        data = blobs.get(record.document.blob_name)
    except BlobNotFound:
        raise NoPageImage("the original document is missing") from None
    render = _render_pdf if is_pdf(record) else _render_image
    try:
        image, natural_size = render(data, number)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise NoPageImage(f"page {number} cannot be rendered: {error}") from None
    content = read_cached_content(blobs, record.id)
    pages = {page.number: page for page in content.pages} if content else {}
    known = pages.get(number)
    page_size = (known.width, known.height) if known and known.width > 0 and known.height > 0 else natural_size
    return RenderedPage(png=_to_png(image), image_size=image.size, page_size=page_size)


def draw_boxes(page: RenderedPage, boxes: list[PageBox]) -> bytes:
    """The page with each box outlined (and tinted) in its tone's colour."""
    with Image.open(io.BytesIO(page.png)) as opened:
        base = opened.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    width = max(2, base.width // 500)
    for box in boxes:
        x0, top, x1, bottom = scale_box(box.bbox, page.page_size, page.image_size)
        pad = width
        colour = TONES.get(box.tone, TONES["field"])
        draw.rectangle((x0 - pad, top - pad, x1 + pad, bottom + pad), fill=(*colour, 40), outline=(*colour, 230),
                       width=width)
    return _to_png(Image.alpha_composite(base, layer).convert("RGB"))


def report_pages(blobs: BlobStore, record: InvoiceRecord, max_pages: int) -> list[bytes]:
    """For the approval report: page 1 and every page a finding points at (at most
    ``MAX_REPORT_PAGES``), each with its boxes drawn. Empty when there is no page to show."""
    count = page_count(blobs, record, max_pages)
    wanted = sorted({1, *(box.page for box in finding_boxes(record) if 1 <= box.page <= count)})
    images = []
    for number in wanted[:MAX_REPORT_PAGES] if count else []:
        try:
            rendered = render_page(blobs, record, number)
        except NoPageImage:
            continue
        images.append(draw_boxes(rendered, page_boxes(record, number)))
    return images
