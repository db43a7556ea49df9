"""Dashboard pages: the queue (``/``) and one invoice (``/invoices/{invoice_id}``).

Pages read records through ``get_services()`` like the API handlers, and decisions go through the
API (``POST /api/approvals/{id}``), so the dashboard has no write path of its own.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from shared.api.approvals import next_level
from shared.api.invoices import SEARCH_WINDOW, BadRequest, parse_status, search_invoices, summarise
from shared.domain import HEADER_FIELDS, InvoiceRecord, InvoiceStatus, LineItem
from shared.services import get_services

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
LOW_CONFIDENCE = 0.8
QUEUE_LIMIT = 500

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def format_time(value: datetime | str | None) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def plain(value: Any) -> str:
    """Evidence and audit details for a person: a field's value (and page) rather than its whole
    record, lists joined by commas."""
    if isinstance(value, dict):
        if "value" in value:
            page = f" (page {value['page']})" if value.get("page") else ""
            return f"{value['value']}{page}"
        return ", ".join(f"{k}: {plain(v)}" for k, v in value.items() if v is not None)
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return str(value)


templates.env.filters["when"] = format_time
templates.env.filters["plain"] = plain


def status_counts() -> dict[str, int]:
    """Invoices per status, every status listed (zeros included) in the domain's order."""
    counted = Counter(r.status.value for r in get_services().repo.list_invoices(limit=SEARCH_WINDOW))
    return {status.value: counted.get(status.value, 0) for status in InvoiceStatus}


def field_rows(record: InvoiceRecord) -> list[dict[str, Any]]:
    """Header fields in LABELS.md order, then anything else the extractor found."""
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
        })
    return rows


def line_rows(items: list[LineItem]) -> list[dict[str, str]]:
    return [item.as_label() for item in items]


async def queue_page(request: Request) -> Response:
    query = request.query_params.get("q", "").strip()
    raw_status = request.query_params.get("status", "")
    error = None
    try:
        status = parse_status(raw_status)
    except BadRequest as problem:
        status, error = None, str(problem)
    rows = [] if error else [summarise(r) for r in search_invoices(status, query, QUEUE_LIMIT)]
    context = {
        "rows": rows,
        "counts": status_counts(),
        "status": status.value if status else "",
        "q": query,
        "error": error,
        "limit": QUEUE_LIMIT,
    }
    return templates.TemplateResponse(request, "queue.html", context, status_code=400 if error else 200)


async def invoice_page(request: Request) -> Response:
    invoice_id = str(request.path_params["invoice_id"])
    services = get_services()
    record = services.repo.get_invoice(invoice_id)
    if record is None:
        return templates.TemplateResponse(request, "not_found.html", {"invoice_id": invoice_id},
                                          status_code=404)
    awaiting = record.status == InvoiceStatus.AWAITING_APPROVAL
    level = next_level(record) if awaiting else None
    approvers = record.route.approvers if record.route else []
    context = {
        "record": record,
        "summary": summarise(record),
        "fields": field_rows(record),
        "line_items": line_rows(record.extraction.line_items if record.extraction else []),
        "audit": services.repo.audit_trail(record.id),
        "awaiting": awaiting,
        "level": level,
        "expected_approver": approvers[level - 1] if level and level <= len(approvers) else None,
        "low_confidence": LOW_CONFIDENCE,
    }
    return templates.TemplateResponse(request, "invoice.html", context)


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/", queue_page, methods=["GET"], name="queue"),
        Route("/invoices/{invoice_id}", invoice_page, methods=["GET"], name="invoice"),
    ]
