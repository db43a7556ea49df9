"""The queue and the invoice page. Pages only read; every change goes through the API
(corrections, decisions, uploads) from the page's script, with the same role checks as any client."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from shared.api.approvals import next_level
from shared.api.corrections import CORRECTABLE, EDITABLE_FIELDS
from shared.api.http import ApiResponse
from shared.api.invoices import (
    AGES,
    SEARCH_WINDOW,
    SORTS,
    BadRequest,
    QueueQuery,
    parse_queue_query,
    record_view,
    search_invoices,
    summarise,
)
from shared.auth import Principal, Role
from shared.checks.risk import RISK_BANDS
from shared.dashboard.render import page
from shared.documents.content import read_cached_content
from shared.domain import HEADER_FIELDS, InvoiceRecord, InvoiceStatus, in_time_order
from shared.reports.page_image import LOW_CONFIDENCE, page_boxes, page_count
from shared.services import get_services

if TYPE_CHECKING:
    from shared.dashboard.site import PageRequest

PAGE_SIZE = 50


def status_counts(records: list[InvoiceRecord]) -> dict[str, int]:
    """Invoices per status, every status listed (zeros included) in the domain's order."""
    counted = Counter(r.status.value for r in records)
    return {status.value: counted.get(status.value, 0) for status in InvoiceStatus}


def mailboxes(records: list[InvoiceRecord]) -> list[str]:
    return sorted({r.document.mail.mailbox for r in records if r.document.mail.mailbox})


def _filter_params(query: QueueQuery) -> dict[str, str]:
    params = {"status": query.status.value if query.status else "", "q": query.q, "mailbox": query.mailbox,
              "vendor": query.vendor, "risk": query.risk, "age": query.age,
              "sort": query.sort if query.sort != "newest" else ""}
    return {key: value for key, value in params.items() if value}


async def queue_page(req: PageRequest) -> ApiResponse:
    error = None
    try:
        query = parse_queue_query(req.request.query, default_limit=PAGE_SIZE)
    except BadRequest as problem:
        query, error = QueueQuery(limit=PAGE_SIZE), str(problem)
    found = None if error else await asyncio.to_thread(search_invoices, query)
    recent = await asyncio.to_thread(get_services().repo.list_invoices, None, SEARCH_WINDOW)
    params = _filter_params(query)
    base = req.site.base

    def link(**changes: Any) -> str:
        merged = {**params, **{k: str(v) for k, v in changes.items() if v not in (None, "")}}
        for key, value in changes.items():
            if value in (None, ""):
                merged.pop(key, None)
        return base + ("?" + urlencode(merged) if merged else "")

    rows = [summarise(r) for r in found.records] if found else []
    full_page = found is not None and len(rows) == query.limit
    more = full_page and (found is None or found.matched < 0 or query.offset + len(rows) < found.matched)
    context = req.site.context(
        req.request, req.csrf_token,
        rows=rows, counts=status_counts(recent), query=query, params=params, error=error,
        matched=found.matched if found else 0, mailboxes=mailboxes(recent), risk_bands=list(RISK_BANDS),
        ages=list(AGES), sorts=list(SORTS),
        status_link=lambda name: link(status=name, offset=None),
        prev_link=link(offset=max(0, query.offset - query.limit) or None) if query.offset else None,
        next_link=link(offset=query.offset + query.limit) if more else None,
        can_upload=holds(req.request.principal, Role.CLERK),
    )
    return page("queue.html", context, status=400 if error else 200)


def holds(principal: Principal | None, role: Role) -> bool:
    return principal is not None and principal.has(role)


def field_rows(record: InvoiceRecord) -> list[dict[str, Any]]:
    """Fields to check first (confidence below ``LOW_CONFIDENCE``), then the rest in LABELS.md
    order, then anything else the extractor found."""
    if record.extraction is None:
        return []
    fields = record.extraction.fields
    names = [n for n in HEADER_FIELDS if n in fields] + sorted(n for n in fields if n not in HEADER_FIELDS)
    rows = []
    for name in names:
        field = fields[name]
        rows.append({
            "name": name,
            "value": field.value,
            "confidence": field.confidence,
            "low": field.confidence < LOW_CONFIDENCE,
            "source": field.provenance.source.value,
            "page": field.provenance.page,
            "raw": field.provenance.text,
            "editable": name in EDITABLE_FIELDS,
        })
    return sorted(rows, key=lambda row: not row["low"])  # stable: order kept within each group


def page_views(record: InvoiceRecord) -> list[dict[str, Any]]:
    """Each page's image URL and its boxes in page units; the SVG overlay's viewBox is the page
    size, so the boxes scale with the image however wide it is drawn."""
    services = get_services()
    count = page_count(services.blobs, record, services.settings.max_pages)
    content = read_cached_content(services.blobs, record.id) if count else None
    sizes = {p.number: (p.width, p.height) for p in content.pages} if content else {}
    views = []
    for number in range(1, count + 1):
        views.append({
            "number": number,
            "url": f"/api/invoices/{record.id}/pages/{number}",
            "size": sizes.get(number),
            "boxes": page_boxes(record, number) if number in sizes else [],
        })
    return views


async def invoice_page(req: PageRequest) -> ApiResponse:
    invoice_id = req.params["invoice_id"]
    services = get_services()
    record = services.repo.get_invoice(invoice_id)
    principal = req.request.principal
    if record is None:
        context = req.site.context(req.request, req.csrf_token, what="invoice", ident=invoice_id)
        return page("not_found.html", context, status=404)
    record_view(record, principal, "invoice")
    awaiting = record.status == InvoiceStatus.AWAITING_APPROVAL
    level = next_level(record) if awaiting else None
    approvers = record.route.approvers if record.route else []
    expected = approvers[level - 1] if level and level <= len(approvers) else None
    pages = await asyncio.to_thread(page_views, record)
    context = req.site.context(
        req.request, req.csrf_token,
        record=record,
        summary=summarise(record),
        fields=field_rows(record),
        line_items=[item.as_label() for item in (record.extraction.line_items if record.extraction else [])],
        audit=in_time_order(services.repo.audit_trail(record.id)),
        awaiting=awaiting,
        level=level,
        expected_approver=expected,
        # Only the level's approver decides; the policy of who that is lives in routing.
        can_decide=bool(awaiting and expected and principal and principal.id == expected.strip().lower()),
        can_edit=holds(principal, Role.CLERK) and record.status in CORRECTABLE and record.extraction is not None,
        low_confidence=LOW_CONFIDENCE,
        pages=pages,
    )
    return page("invoice.html", context)
