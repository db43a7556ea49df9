"""Render the approval report: Jinja2 template → HTML → PDF with WeasyPrint.

Everything is local: the CSS is inlined, fonts are the system's (DejaVu / Liberation), and no URL
is ever fetched, so a hostile field value cannot make the renderer reach the network or the disk.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import jinja2
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from shared.domain import AuditEntry, InvoiceRecord
from shared.reports.view import build_view, report_time

TEMPLATES = Path(__file__).parent  # the .html and .css ship as package data beside this module


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _local_only() -> URLFetcher:
    """Only ``data:`` URLs (the embedded page images); anything else is refused, never fetched."""
    return URLFetcher(allowed_protocols=("data",))


def render_approval_html(
    record: InvoiceRecord, audit: list[AuditEntry], *, generated_at: datetime | None = None,
    page_images: list[bytes] | None = None,
) -> str:
    at = generated_at or report_time(record, audit)
    view = build_view(record, audit, at)
    css = (TEMPLATES / "approval_report.css").read_text(encoding="utf-8")
    created = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pages = ["data:image/png;base64," + base64.b64encode(png).decode() for png in page_images or []]
    return _environment().get_template("approval_report.html").render(v=view, css=css, created_iso=created,
                                                                      pages=pages)


def render_approval_report(
    record: InvoiceRecord, audit: list[AuditEntry], *, generated_at: datetime | None = None,
    page_images: list[bytes] | None = None,
) -> bytes:
    """The approval report as PDF bytes. ``generated_at`` defaults to the latest audit entry (else the
    record's last update), never the wall clock, so the same inputs give the same report.
    ``page_images``: PNGs of the document's pages with their boxes (``shared.reports.page_image``)."""
    html = render_approval_html(record, audit, generated_at=generated_at, page_images=page_images)
    pdf = HTML(string=html, url_fetcher=_local_only()).write_pdf()
    if not isinstance(pdf, bytes):  # write_pdf returns bytes when no target is given
        raise TypeError("WeasyPrint returned no PDF bytes")
    return pdf
