"""Images (JPEG, PNG, TIFF incl. multi-page, GIF, BMP, WebP) -> OCR'd pages, with a pixel cap.

Pillow decodes lazily: the header gives the size before any pixel is decoded, so an image bomb is
refused (or reduced while decoding, for JPEG) before it can take the memory.
"""

from __future__ import annotations

import io
import threading
import warnings
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from shared.documents.content import ContentKind, DocumentContent, DocumentRejected, Page, Word

if TYPE_CHECKING:
    from shared.ocr import OcrEngine

# Above this an image is downscaled for OCR (a 200 dpi A4 scan is ~4 MP; 40 MP is generous).
MAX_OCR_PIXELS = 40_000_000
# Above this an image is refused outright: 20k x 10k and beyond is a bomb, not a scan.
MAX_IMAGE_PIXELS = 200_000_000

_pillow_limit = threading.Lock()


def read_image(data: bytes, *, ocr: OcrEngine | None, max_pages: int, max_ocr_pages: int) -> DocumentContent:
    if ocr is None:
        raise DocumentRejected("image needs OCR")
    image = _open(data)
    content = DocumentContent(kind=ContentKind.IMAGE)
    try:
        frames = _frame_count(image)
        content.page_count = frames
        limit = min(max_pages, max_ocr_pages)
        if frames > limit:
            content.warnings.append(f"read first {limit} of {frames} pages")
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            if index >= limit:
                break
            content.pages.append(_ocr_frame(frame, index + 1, ocr, content))
    except Image.DecompressionBombError as exc:
        raise DocumentRejected(f"image too large: {exc}") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or corrupt pixel data
        if not content.pages:
            raise DocumentRejected(f"unreadable image: {exc}") from exc
        content.warnings.append(f"stopped at a damaged page: {exc}")
    finally:
        image.close()
    return content


def _open(data: bytes) -> Image.Image:
    """Open without Pillow's own bomb check, so the size can be judged (and reported) here."""
    with _pillow_limit, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            image = Image.open(io.BytesIO(data))
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise DocumentRejected(f"unreadable image: {exc}") from exc
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    width, height = image.size
    if width <= 0 or height <= 0:
        raise DocumentRejected(f"unreadable image: size {width}x{height}")
    if width * height > MAX_IMAGE_PIXELS:
        raise DocumentRejected(f"image too large: {width}x{height}")
    return image


def _frame_count(image: Image.Image) -> int:
    try:
        return max(1, int(getattr(image, "n_frames", 1)))
    except (OSError, ValueError, EOFError):
        return 1


def _ocr_frame(frame: Image.Image, number: int, ocr: OcrEngine, content: DocumentContent) -> Page:
    width, height = frame.size
    if width * height > MAX_IMAGE_PIXELS:
        raise DocumentRejected(f"image too large: {width}x{height}")
    if width * height > MAX_OCR_PIXELS:
        factor = (width * height / MAX_OCR_PIXELS) ** 0.5
        if frame.format == "JPEG":
            frame.draft("RGB", (int(width / factor), int(height / factor)))  # decode at reduced size
        content.warnings.append(f"page {number}: {width}x{height} image downscaled for OCR")
    frame.load()
    image = ImageOps.exif_transpose(frame) or frame
    if image.width * image.height > MAX_OCR_PIXELS:
        factor = (image.width * image.height / MAX_OCR_PIXELS) ** 0.5
        image = image.resize((max(1, int(image.width / factor)), max(1, int(image.height / factor))))
    if image.mode not in ("L", "RGB"):  # CMYK, palette, 16-bit, alpha: one plain mode for every engine
        image = image.convert("RGB")
    words = [
        Word(text=w.text, x0=w.x0, top=w.top, x1=w.x1, bottom=w.bottom, confidence=w.confidence)
        for w in ocr.recognize(image)
        if w.text.strip()
    ]
    words.sort(key=lambda w: (round(w.top), w.x0))
    return Page(number=number, width=float(image.width), height=float(image.height), words=words, ocr=True)
