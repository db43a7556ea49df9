"""Extraction: DocumentContent in, Extraction out.

One entry point picks the most exact reader available: an e-invoice's XML is read exactly; otherwise
the words of the text layer or OCR go through the template-free layout extractor.
"""

from __future__ import annotations

from shared.documents.content import DocumentContent
from shared.domain import DocumentType, Extraction


def extract(content: DocumentContent) -> Extraction:
    if content.xml is not None:
        from shared.extraction.einvoice import extract_einvoice

        extraction = extract_einvoice(content.xml)
    else:
        from shared.extraction.layout import extract_layout

        extraction = extract_layout(content)
    extraction.pages = extraction.pages or content.page_count or len(content.pages)
    extraction.warnings.extend(w for w in content.warnings if w not in extraction.warnings)
    return extraction


def classify(content: DocumentContent) -> tuple[DocumentType, str]:
    from shared.extraction.classify import classify as classify_content

    return classify_content(content)


__all__ = ["classify", "extract"]
