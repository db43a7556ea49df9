"""A document's readable content, whichever way it was read: words with positions per page, and
any e-invoice XML it carries. Classification and extraction work on this, never on raw bytes."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    # Imported where used: the gpu-inference image ships this module (Word) without shared.ports.
    from shared.ports.blobs import BlobStore


class ContentKind(StrEnum):
    PDF = "pdf"
    IMAGE = "image"
    XML = "xml"


class Word(BaseModel):
    """One word (or OCR text run) with its box in page units, origin top-left."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    confidence: float = 1.0


class Page(BaseModel):
    number: int  # 1-based
    width: float
    height: float
    words: list[Word] = Field(default_factory=list)
    ocr: bool = False  # True when the words came from OCR rather than a text layer
    # Images on a text page that may carry text (``pdf_images``): read by OCR while the document is
    # read, then of no further use, so never stored with the content.
    pictures: list[tuple[float, float, float, float]] = Field(default_factory=list, exclude=True)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


class DocumentContent(BaseModel):
    # Cached as JSON between activities; the XML travels base64-encoded.
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    kind: ContentKind
    pages: list[Page] = Field(default_factory=list)
    # An e-invoice found in or as the document (ZUGFeRD/Factur-X embedded file, UBL, XRechnung).
    xml: bytes | None = None
    xml_name: str | None = None
    page_count: int = 0  # pages in the file, even when fewer were read (page cap)
    warnings: list[str] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(page.text for page in self.pages)


class DocumentRejected(Exception):
    """The document cannot be read; ``reason`` is recorded as `rejected: <reason>`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def content_blob_name(invoice_id: str) -> str:
    """Where the classify activity caches a document's content (page sizes, words) as JSON."""
    return f"content/{invoice_id}.json"


def read_cached_content(blobs: BlobStore, invoice_id: str) -> DocumentContent | None:
    """The content the classify activity cached; None when it is not there (never read, or unreadable)."""
    from shared.ports.blobs import BlobNotFound

    try:
        return DocumentContent.model_validate_json(blobs.get(content_blob_name(invoice_id)))
    except (BlobNotFound, ValueError):
        return None
