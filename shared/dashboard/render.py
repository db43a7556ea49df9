"""HTML responses of the dashboard: the Jinja environment, its filters, security headers."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from shared.api.http import ApiResponse

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
HTML = "text/html; charset=utf-8"
# Scripts and styles only from the dashboard itself: a value read off a hostile document that
# slipped past escaping still could not run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


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


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["when"] = format_time
    env.filters["plain"] = plain
    return env


def page(template: str, context: dict[str, Any], status: int = 200,
         headers: dict[str, str] | None = None) -> ApiResponse:
    html = environment().get_template(template).render(**context)
    return ApiResponse(status=status, body=html.encode(), content_type=HTML,
                       headers={**SECURITY_HEADERS, **(headers or {})})


def redirect(location: str, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status=303, body=b"", content_type="text/plain",
                       headers={"Location": location, **(headers or {})})
