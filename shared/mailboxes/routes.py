"""The push endpoints both hosts serve under ``/api/``. Anonymous on Azure: Graph cannot send a
function key (its security is the clientState) and Pub/Sub authenticates with its OIDC token.
Validation and persistence run on a worker thread: SQLite may wait for the drain's write lock,
the event loop must not."""

from __future__ import annotations

import asyncio

from shared.api.http import ApiContext, ApiRequest, ApiResponse, Route


async def graph_notifications(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    from shared.mailboxes.service import get_mailbox_service

    service = get_mailbox_service()
    return await asyncio.to_thread(service.accept_graph, request.body, request.query)


async def gmail_notifications(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    from shared.mailboxes.service import get_mailbox_service

    service = get_mailbox_service()
    return await asyncio.to_thread(service.accept_gmail, request.headers, request.body)


MAILBOX_ROUTES: list[Route] = [
    Route("graph_notifications", ("POST",), "notifications/graph", graph_notifications, anonymous=True),
    Route("gmail_notifications", ("POST",), "notifications/gmail", gmail_notifications, anonymous=True),
]
