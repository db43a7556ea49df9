"""The route table both hosts serve under ``/api/``: the Function App registers one HTTP function
per entry, the local server one Starlette route per entry; the handlers are the same."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from shared.api.access import CLERKS, READERS
from shared.api.approvals import post_approval
from shared.api.corrections import correct_field
from shared.api.http import ApiContext, ApiRequest, ApiResponse, Route
from shared.api.invoices import get_document, get_invoice, get_report, list_invoices
from shared.api.page_images import get_page_image
from shared.api.uploads import upload_document


def papyr_version() -> str:
    try:
        return version("papyr")
    except PackageNotFoundError:  # running from a checkout that was not pip-installed
        return "unknown"


async def health(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    return ApiResponse.of_json({"status": "ok", "version": papyr_version()})


# Every route declares who may call it (``Route``); ``shared.api.access.call_route`` enforces it on both hosts.
ROUTES: list[Route] = [
    Route("health", ("GET",), "health", health, anonymous=True),
    Route("list_invoices", ("GET",), "invoices", list_invoices, roles=READERS),
    Route("get_invoice", ("GET",), "invoices/{invoice_id}", get_invoice, roles=READERS),
    Route("get_invoice_document", ("GET",), "invoices/{invoice_id}/document", get_document, roles=READERS),
    Route("get_invoice_report", ("GET",), "invoices/{invoice_id}/report", get_report, roles=READERS),
    Route("get_invoice_page", ("GET",), "invoices/{invoice_id}/pages/{page}", get_page_image, roles=READERS),
    Route("correct_field", ("POST",), "invoices/{invoice_id}/fields/{field}", correct_field, roles=CLERKS),
    # The approval callback authenticates its caller itself (action tokens, Entra ID bearer, session).
    Route("post_approval", ("POST",), "approvals/{invoice_id}", post_approval, own_auth=True),
    Route("upload_document", ("POST",), "documents", upload_document, roles=CLERKS),
]

from shared.mailboxes.routes import MAILBOX_ROUTES  # noqa: E402  (issue 4: push notification endpoints)

ROUTES += MAILBOX_ROUTES
