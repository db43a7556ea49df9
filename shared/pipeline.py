"""Reading and extraction of one untrusted document, bounded in time and memory.

Used by the activities (one step at a time, with the content cached between steps) and by
``papyr extract`` / ``papyr eval`` (all steps at once).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace

from shared.documents.content import DocumentContent, DocumentRejected, Word
from shared.domain import DocumentType, Extraction, ExtractionStatus, Source
from shared.settings import Settings

_tracer = trace.get_tracer(__name__)


class _OcrInParent:
    """The OCR engine as seen from the bounded child that parses a document: page images go back to
    the worker, which runs OCR with models it loaded once. The child stays small and fast to fork,
    and ONNX Runtime never runs under the child's memory cap."""

    def recognize(self, image: Any) -> list[Word]:
        from io import BytesIO

        from shared.documents.bounded import call_parent

        if _is_blank(image):
            return []  # nothing to read: spare the worker seconds of OCR on an empty page
        buffer = BytesIO()
        image.save(buffer, format="PNG")
        return [Word.model_validate(word) for word in call_parent("ocr", buffer.getvalue())]


def _is_blank(image: Any) -> bool:
    """A page with no ink: not even a few dozen pixels darker than light grey (one short printed
    word has hundreds)."""
    dark: int = sum(image.convert("L").histogram()[:200])
    return dark < 20


def _ocr_png(png: bytes) -> list[dict[str, Any]]:
    """Runs in the worker: decode the page image the child rendered and recognise it."""
    from io import BytesIO

    from PIL import Image

    from shared.ocr.rapid import default_ocr_engine
    from shared.settings import get_settings
    from shared.telemetry import inference_span

    inference_url = get_settings().inference_url
    if inference_url:  # the Function App reads pages through the gpu-inference service
        from shared.ocr.client import inference_client

        with inference_span("ocr", 1, {"papyr.inference_url": inference_url}):
            return [word.model_dump() for word in inference_client(inference_url).recognize_png(png)]
    # The in-process inference call: one page per call here (the gpu-inference service batches).
    with inference_span("ocr", batch_size=1), Image.open(BytesIO(png)) as image:
        return [word.model_dump() for word in default_ocr_engine().recognize(image)]


def ocr_png(png: bytes) -> list[Word]:
    """OCR of one PNG image in the worker: the inference service when configured, else in-process
    (the forensic checks read rendered crops of key fields this way)."""
    return [Word.model_validate(word) for word in _ocr_png(png)]


def _load(data: bytes, filename: str, content_type: str | None, max_pages: int, max_ocr_pages: int) -> DocumentContent:
    from shared.documents.loader import load_content

    return load_content(
        data, filename, content_type, ocr=_OcrInParent(), max_pages=max_pages, max_ocr_pages=max_ocr_pages
    )


def read_document(data: bytes, filename: str, content_type: str | None, settings: Settings) -> DocumentContent:
    """Parse in a child process with a time and memory cap; raises DocumentRejected."""
    from shared.documents.bounded import run_bounded
    from shared.documents.loader import load_content  # noqa: F401  imported here, the fork shares it

    if len(data) > settings.max_document_bytes:
        raise DocumentRejected(f"document too large: {len(data)} bytes")
    with _tracer.start_as_current_span("read_document", attributes={"filename": filename, "bytes": len(data)}):
        result: DocumentContent = run_bounded(
            _load,
            data,
            filename,
            content_type,
            settings.max_pages,
            settings.max_ocr_pages,
            timeout_s=settings.parse_timeout_s,
            memory_mb=settings.parse_memory_mb,
            parent_calls={"ocr": _ocr_png},
        )
        return result


def classify_and_extract(content: DocumentContent) -> Extraction:
    from shared.extraction import classify, extract

    document_type, reason = classify(content)
    if document_type is DocumentType.NOT_INVOICE:
        return rejected_as_not_invoice(reason)
    return with_classification(extract(content, (document_type, reason)), document_type, reason)


def rejected_as_not_invoice(reason: str) -> Extraction:
    return Extraction(
        status=ExtractionStatus.REJECTED,
        reason=f"not an invoice: {reason}",
        document_type=DocumentType.NOT_INVOICE,
        classification_reason=reason,
    )


def with_classification(extraction: Extraction, document_type: DocumentType, reason: str) -> Extraction:
    """An e-invoice states its own type exactly; for read documents the classifier decides, except
    that a credit note the extractor recognised (negative totals) stays one."""
    if extraction.method is not Source.XML and extraction.document_type is not DocumentType.CREDIT_NOTE:
        extraction.document_type = document_type
    extraction.classification_reason = reason
    return extraction


def extract_document(data: bytes, filename: str, content_type: str | None, settings: Settings) -> Extraction:
    """Read, classify and extract; a rejected document comes back as a rejected Extraction."""
    try:
        content = read_document(data, filename, content_type, settings)
    except DocumentRejected as rejected:
        return Extraction(status=ExtractionStatus.REJECTED, reason=rejected.reason)
    return classify_and_extract(content)
