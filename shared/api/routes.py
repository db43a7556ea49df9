"""The route table both hosts serve under ``/api/``: the Function App registers one HTTP function
per entry, the local server one Starlette route per entry; the handlers are the same."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from shared.api.approvals import post_approval
from shared.api.http import ApiContext, ApiRequest, ApiResponse, Route
from shared.api.invoices import get_document, get_invoice, get_report, list_invoices
from shared.api.uploads import upload_document


def papyr_version() -> str:
    try:
        return version("papyr")
    except PackageNotFoundError:  # running from a checkout that was not pip-installed
        return "unknown"


async def health(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    return ApiResponse.of_json({"status": "ok", "version": papyr_version()})


ROUTES: list[Route] = [
    Route("health", ("GET",), "health", health, anonymous=True),
    Route("list_invoices", ("GET",), "invoices", list_invoices),
    Route("get_invoice", ("GET",), "invoices/{invoice_id}", get_invoice),
    Route("get_invoice_document", ("GET",), "invoices/{invoice_id}/document", get_document),
    Route("get_invoice_report", ("GET",), "invoices/{invoice_id}/report", get_report),
    Route("post_approval", ("POST",), "approvals/{invoice_id}", post_approval),
    Route("upload_document", ("POST",), "documents", upload_document),
]

from shared.mailboxes.routes import MAILBOX_ROUTES  # noqa: E402  (issue 4: push notification endpoints)

ROUTES += MAILBOX_ROUTES
