"""Extraction: DocumentContent in, Extraction out.

One entry point picks the most exact reader available: an e-invoice's XML is read exactly; otherwise
the words of the text layer or OCR go through the template-free layout extractor.
"""

from __future__ import annotations

from shared.documents.content import DocumentContent
from shared.domain import DocumentType, Extraction
from shared.extraction.classify import classify
from shared.extraction.einvoice import extract_einvoice
from shared.extraction.layout import extract_layout


def extract(content: DocumentContent, classification: tuple[DocumentType, str] | None = None) -> Extraction:
    """``classification``: ``classify(content)`` where the caller has it already (it reads the whole text)."""
    extraction = extract_einvoice(content.xml) if content.xml is not None else extract_layout(content, classification)
    extraction.pages = extraction.pages or content.page_count or len(content.pages)
    extraction.warnings.extend(w for w in content.warnings if w not in extraction.warnings)
    return extraction


__all__ = ["classify", "extract"]
