"""Untrusted bytes in, DocumentContent out, or DocumentRejected with a reason a person can act on.

The type comes from the bytes (mail content types lie); the declared type and file name only decide
between readers when the bytes say nothing. Call it through ``run_bounded`` for untrusted input.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import PurePath
from typing import TYPE_CHECKING

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from shared.documents.content import ContentKind, DocumentContent, DocumentRejected
from shared.documents.images import read_image
from shared.documents.pdf_reader import read_pdf
from shared.extraction.einvoice import syntax_of
from shared.intake.sniff import sniff_content_type

if TYPE_CHECKING:
    from shared.ocr import OcrEngine

_IMAGE_MAGIC: tuple[bytes, ...] = (b"GIF87a", b"GIF89a", b"BM")
_IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif", ".bmp", ".webp"})
# A PDF whose header was lost (damaged or fuzzed) still has its object syntax.
_PDF_BODY = re.compile(rb"\d+\s+\d+\s+obj\b.*?(trailer|startxref|/Root)", re.DOTALL)


def load_content(
    data: bytes,
    filename: str,
    content_type: str | None,
    *,
    ocr: OcrEngine | None,
    max_pages: int = 50,
    max_ocr_pages: int = 10,
) -> DocumentContent:
    """Read a document's words (text layer or OCR) and any e-invoice XML it is or carries."""
    if not data:
        raise DocumentRejected("empty file")
    kind = detect_kind(data, filename, content_type)
    if kind is ContentKind.PDF:
        return read_pdf(data, ocr=ocr, max_pages=max_pages, max_ocr_pages=max_ocr_pages)
    if kind is ContentKind.IMAGE:
        return read_image(data, ocr=ocr, max_pages=max_pages, max_ocr_pages=max_ocr_pages)
    if kind is ContentKind.XML:
        return read_xml(data, filename)
    declared = content_type or PurePath(filename).suffix or "unknown"
    raise DocumentRejected(f"unsupported file type: {declared}")


def detect_kind(data: bytes, filename: str, content_type: str | None) -> ContentKind | None:
    sniffed = sniff_content_type(data, filename)
    if sniffed == "application/pdf":
        return ContentKind.PDF
    if sniffed is not None and sniffed.startswith("image/"):
        return ContentKind.IMAGE
    if sniffed is not None and sniffed.endswith("xml"):
        return ContentKind.XML
    if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return ContentKind.IMAGE
    declared = (content_type or "").lower()
    suffix = PurePath(filename).suffix.lower()
    if _PDF_BODY.search(data[:65536]):
        return ContentKind.PDF  # object syntax without the %PDF header: let qpdf try to recover it
    if declared.endswith("xml") or suffix == ".xml":
        return ContentKind.XML  # the safety parse decides
    return None


def read_xml(data: bytes, filename: str) -> DocumentContent:
    """An XML e-invoice: parsed once with DTDs and entities forbidden; other XML is not a carrier."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise DocumentRejected(f"unsafe XML: {type(exc).__name__}") from exc
    except ET.ParseError as exc:
        raise DocumentRejected(f"unreadable XML: {exc}") from exc
    if syntax_of(root) is None:
        tag = root.tag.rsplit("}", 1)[-1] if isinstance(root.tag, str) else "?"
        raise DocumentRejected(f"not an e-invoice: XML root <{tag}>")
    return DocumentContent(kind=ContentKind.XML, xml=data, xml_name=filename, page_count=0)
