"""The scanned pages of a PDF as the images they were made from, for the scan-tampering checks.

Scans arrive by mail as image-only PDFs far more often than as JPEGs. The scan checks read an
image's own compression and noise traces, so the page is not rendered (resampling would wipe them
out): the page's one full-page image is taken as stored. That is the JPEG stream itself when it is
DCT-encoded, and a lossless PNG of the decoded pixels otherwise. A page is taken only when its
image provably spans it: one image, with the page's aspect ratio, and the page not turned. Word
boxes (page units) then map onto image pixels by scale alone (``check.page_boxes``).

Runs in a bounded child: the PDF is untrusted.
"""

from __future__ import annotations

import io

import pikepdf

MAX_ASPECT_GAP = 0.03  # relative difference between the image's and the page's width/height ratios
MIN_IMAGE_SIDE = 200  # px: smaller images are logos and stamps, not the page


def scanned_page_images(data: bytes, numbers: list[int]) -> dict[int, bytes]:
    """For each page number in ``numbers`` (1-based) whose image spans the page, that image's bytes."""
    found: dict[int, bytes] = {}
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for number in numbers:
            if not 1 <= number <= len(pdf.pages):
                continue
            image = _page_image(pdf.pages[number - 1])
            if image is not None:
                found[number] = image
    return found


def _page_image(page: pikepdf.Page) -> bytes | None:
    if int(page.obj.get("/Rotate", 0)) % 360:
        return None
    images = [
        pikepdf.PdfImage(stream)
        for stream in page.get_images().values()
        if isinstance(stream, pikepdf.Stream)
        and min(int(stream.get("/Width", 0)), int(stream.get("/Height", 0))) >= MIN_IMAGE_SIDE
    ]
    if len(images) != 1:
        return None
    (image,) = images
    x0, y0, x1, y1 = (float(v) for v in page.cropbox)
    page_ratio, image_ratio = abs(x1 - x0) / abs(y1 - y0), image.width / image.height
    if abs(image_ratio / page_ratio - 1) > MAX_ASPECT_GAP:
        return None
    if image.filters == ["/DCTDecode"]:
        return bytes(image.obj.read_raw_bytes())
    buffer = io.BytesIO()
    image.as_pil_image().save(buffer, format="PNG")
    return buffer.getvalue()
