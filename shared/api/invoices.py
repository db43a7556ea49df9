"""Read-side handlers: the invoice queue, one invoice with its audit trail, its original document
and its approval report."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.auth import Principal
from shared.checks.risk import RISK_BANDS, risk_band
from shared.domain import AuditEntry, InvoiceRecord, InvoiceStatus, in_time_order, utcnow
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
        "risk_band": risk_band(record.risk_score),
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
    """Case-insensitive substring search over what a reviewer would type: vendor, number, file,
    sender."""
    needle = query.casefold()
    extraction = record.extraction
    haystack = [
        record.id,
        record.document.filename,
        record.vendor,
        extraction.value("invoice_number") if extraction else None,
        record.document.mail.sender,
        record.document.mail.sender_name,
        record.document.mail.subject,
    ]
    return any(needle in value.casefold() for value in haystack if value)


AGES: dict[str, tuple[timedelta, timedelta]] = {
    "today": (timedelta(0), timedelta(days=1)),
    "week": (timedelta(0), timedelta(days=7)),
    "month": (timedelta(0), timedelta(days=30)),
    "older": (timedelta(days=30), timedelta.max),
}
SORTS = ("newest", "oldest", "risk", "total")


@dataclass(frozen=True)
class QueueQuery:
    """The queue's filters, as both the API (``GET /api/invoices``) and the dashboard take them."""

    status: InvoiceStatus | None = None
    q: str = ""
    mailbox: str = ""
    vendor: str = ""
    risk: str = ""  # a band of shared.checks.risk.RISK_BANDS
    age: str = ""  # a key of AGES
    sort: str = "newest"
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @property
    def filtered(self) -> bool:
        return any((self.status, self.q, self.mailbox, self.vendor, self.risk, self.age))

    def keep(self, record: InvoiceRecord, now: datetime) -> bool:
        if self.mailbox and (record.document.mail.mailbox or "").casefold() != self.mailbox.casefold():
            return False
        if self.vendor and self.vendor.casefold() not in (record.vendor or "").casefold():
            return False
        if self.risk and risk_band(record.risk_score) != self.risk:
            return False
        if self.age:
            youngest, oldest = AGES[self.age]
            age = now - record.created_at
            if not youngest <= age < oldest:
                return False
        return not self.q or matches(record, self.q)


def _choice(raw: str | None, allowed: Iterable[str], name: str) -> str:
    value = (raw or "").strip().lower()
    options = list(allowed)
    if value and value not in options:
        raise BadRequest(f"unknown {name} {raw!r}; expected one of: {', '.join(options)}")
    return value


def parse_offset(raw: str | None) -> int:
    try:
        offset = int(raw or 0)
    except ValueError:
        raise BadRequest(f"offset must be an integer, got {raw!r}") from None
    if not 0 <= offset <= SEARCH_WINDOW:
        raise BadRequest(f"offset must be between 0 and {SEARCH_WINDOW}")
    return offset


def parse_queue_query(params: dict[str, str], *, default_limit: int = DEFAULT_LIMIT) -> QueueQuery:
    return QueueQuery(
        status=parse_status(params.get("status")),
        q=(params.get("q") or "").strip(),
        mailbox=(params.get("mailbox") or "").strip(),
        vendor=(params.get("vendor") or "").strip(),
        risk=_choice(params.get("risk"), RISK_BANDS, "risk band"),
        age=_choice(params.get("age"), AGES, "age"),
        sort=_choice(params.get("sort"), SORTS, "sort") or "newest",
        limit=parse_limit(params.get("limit")) if params.get("limit") else default_limit,
        offset=parse_offset(params.get("offset")),
    )


def _sort_key(sort: str) -> Callable[[InvoiceRecord], Any]:
    if sort == "risk":
        return lambda r: (-r.risk_score, -r.created_at.timestamp())
    if sort == "total":
        return lambda r: -(r.extraction.decimal("total") or Decimal(0) if r.extraction else Decimal(0))
    if sort == "oldest":
        return lambda r: r.created_at
    return lambda r: -r.created_at.timestamp()


@dataclass(frozen=True)
class QueuePage:
    records: list[InvoiceRecord]
    matched: int  # how many matched in all, for "1-50 of 120"


def search_invoices(query: QueueQuery, *, now: datetime | None = None) -> QueuePage:
    """Shared by the API and the dashboard so both show the same queue. The repository filters by
    status only; the other filters scan the newest ``SEARCH_WINDOW`` records."""
    repo = get_services().repo
    moment = now or utcnow()
    if not query.filtered and query.sort == "newest":
        records = repo.list_invoices(limit=query.offset + query.limit)
        return QueuePage(records[query.offset:], matched=-1)
    found = [r for r in repo.list_invoices(status=query.status, limit=SEARCH_WINDOW) if query.keep(r, moment)]
    found.sort(key=_sort_key(query.sort))
    return QueuePage(found[query.offset:query.offset + query.limit], matched=len(found))


async def list_invoices(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    try:
        query = parse_queue_query(request.query)
    except BadRequest as error:
        return ApiResponse.error(400, str(error))
    page = search_invoices(query)
    payload: dict[str, Any] = {"invoices": [summarise(r) for r in page.records], "count": len(page.records)}
    if page.matched >= 0:
        payload["matched"] = page.matched
    return ApiResponse.of_json(payload)


VIEWED = "viewed"
VIEW_AGAIN_AFTER = timedelta(minutes=30)  # one "viewed" entry per person and thing per half hour, not per reload


def record_view(record: InvoiceRecord, principal: Principal | None, what: str) -> None:
    """Audit a signed-in person's look at the invoice (``what``: invoice, document, report, page)."""
    if principal is None:
        return
    repo = get_services().repo
    now = utcnow()
    recent = [e.at for e in repo.audit_trail(record.id)
              if e.action == VIEWED and e.actor == principal.id and e.detail.get("what") == what]
    if recent and now - max(recent) < VIEW_AGAIN_AFTER:
        return
    repo.append_audit(record.id, AuditEntry(at=now, actor=principal.id, action=VIEWED,
                                            detail={"what": what, "method": principal.method.value}))


def load_record(request: ApiRequest, what: str | None = None) -> InvoiceRecord | ApiResponse:
    """The invoice of the path; with ``what``, a signed-in caller's look at it is audited as ``viewed``."""
    invoice_id = request.path_params.get("invoice_id", "").strip()
    repo = get_services().repo
    record = repo.get_invoice(invoice_id) if invoice_id else None
    if record is None:
        return ApiResponse.error(404, f"no invoice with id {invoice_id!r}")
    if what is not None:
        record_view(record, request.principal, what)
    return record


async def get_invoice(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    record = load_record(request, "invoice")
    if isinstance(record, ApiResponse):
        return record
    trail = in_time_order(get_services().repo.audit_trail(record.id))  # as the dashboard shows it
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
    record = load_record(request, "document")
    if isinstance(record, ApiResponse):
        return record
    document = record.document
    return _blob_response(document.blob_name, document.content_type, document.filename)


async def get_report(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    record = load_record(request, "report")
    if isinstance(record, ApiResponse):
        return record
    if not record.report_blob:
        return ApiResponse.error(404, "the approval report has not been rendered yet")
    stem = record.document.filename.rsplit(".", 1)[0] or record.id
    return _blob_response(record.report_blob, "application/pdf", f"{stem}-approval-report.pdf")
