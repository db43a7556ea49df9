"""Read-side handlers: the invoice queue, one invoice with its audit trail, its original document
and its approval report."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.domain import AuditEntry, InvoiceRecord, InvoiceStatus
from shared.ports import BlobNotFound
from shared.services import get_services

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# The repository filters by status only; text search scans this many of the newest records.
SEARCH_WINDOW = 5000


class BadRequest(ValueError):
    """A client mistake in a parameter; answered 400 with this message."""


def summarise(record: InvoiceRecord) -> dict[str, Any]:
    """One row of the queue: what a reviewer scans before opening an invoice."""
    extraction = record.extraction
    total = extraction.value("total") if extraction else None
    return {
        "id": record.id,
        "filename": record.document.filename,
        "status": record.status.value,
        "reason": record.reason,
        "vendor": record.vendor,
        "invoice_number": extraction.value("invoice_number") if extraction else None,
        "total": total,
        "currency": extraction.value("currency") if extraction else None,
        "risk_score": record.risk_score,
        "findings": len(record.findings),
        "created_at": record.created_at.isoformat(),
        "mailbox": record.document.mail.mailbox,
        "sender": record.document.mail.sender,
    }


def parse_status(raw: str | None) -> InvoiceStatus | None:
    if not raw:
        return None
    try:
        return InvoiceStatus(raw.strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in InvoiceStatus)
        raise BadRequest(f"unknown status {raw!r}; expected one of: {allowed}") from None


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def matches(record: InvoiceRecord, query: str) -> bool:
    """Case-insensitive substring search over what a reviewer would type: vendor, number, file."""
    needle = query.casefold()
    extraction = record.extraction
    haystack = [
        record.id,
        record.document.filename,
        record.vendor,
        extraction.value("invoice_number") if extraction else None,
        record.document.mail.sender,
        record.document.mail.subject,
    ]
    return any(needle in value.casefold() for value in haystack if value)


def search_invoices(status: InvoiceStatus | None, query: str | None, limit: int) -> list[InvoiceRecord]:
    """Newest first; shared by the API and the dashboard so both show the same queue."""
    repo = get_services().repo
    query = (query or "").strip()
    if not query:
        return repo.list_invoices(status=status, limit=limit)
    found = [r for r in repo.list_invoices(status=status, limit=SEARCH_WINDOW) if matches(r, query)]
    return found[:limit]


async def list_invoices(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    try:
        status = parse_status(request.query.get("status"))
        limit = parse_limit(request.query.get("limit"))
    except BadRequest as error:
        return ApiResponse.error(400, str(error))
    records = search_invoices(status, request.query.get("q"), limit)
    return ApiResponse.of_json({"invoices": [summarise(r) for r in records], "count": len(records)})


def _load(request: ApiRequest, what: str) -> InvoiceRecord | ApiResponse:
    """The invoice of the path; a signed-in caller's look at it is audited as ``viewed``."""
    invoice_id = request.path_params.get("invoice_id", "").strip()
    repo = get_services().repo
    record = repo.get_invoice(invoice_id) if invoice_id else None
    if record is None:
        return ApiResponse.error(404, f"no invoice with id {invoice_id!r}")
    if request.principal is not None:
        repo.append_audit(record.id, AuditEntry(actor=request.principal.id, action="viewed",
                                                detail={"what": what, "method": request.principal.method.value}))
    return record


async def get_invoice(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    record = _load(request, "invoice")
    if isinstance(record, ApiResponse):
        return record
    trail = get_services().repo.audit_trail(record.id)
    return ApiResponse.of_json(
        {
            "invoice": record.model_dump(mode="json"),
            "audit_trail": [entry.model_dump(mode="json") for entry in trail],
        }
    )


def _blob_response(name: str, content_type: str, filename: str) -> ApiResponse:
    try:
        data = get_services().blobs.get(name)
    except BlobNotFound:
        return ApiResponse.error(404, f"stored file {name!r} is missing")
    # RFC 6266/5987: the original name may hold any character, so send it percent-encoded.
    disposition = f"inline; filename*=UTF-8''{quote(filename, safe='')}"
    return ApiResponse(status=200, body=data, content_type=content_type,
                       headers={"Content-Disposition": disposition})


async def get_document(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    record = _load(request, "document")
    if isinstance(record, ApiResponse):
        return record
    document = record.document
    return _blob_response(document.blob_name, document.content_type, document.filename)


async def get_report(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    record = _load(request, "report")
    if isinstance(record, ApiResponse):
        return record
    if not record.report_blob:
        return ApiResponse.error(404, "the approval report has not been rendered yet")
    stem = record.document.filename.rsplit(".", 1)[0] or record.id
    return _blob_response(record.report_blob, "application/pdf", f"{stem}-approval-report.pdf")
