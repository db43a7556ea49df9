"""HTTP triggers: one Azure Function per entry of ``shared.api.routes.ROUTES``.

Each function is a thin adapter, ``func.HttpRequest`` → ``ApiRequest`` → the route's handler →
``func.HttpResponse``, with the Durable client (for starting orchestrations and raising approval
events) bound as ``client`` and wrapped in the core's ``OrchestrationClient`` port.

No ``from __future__ import annotations`` here: the Functions worker reads these annotations at
indexing time and needs real types.
"""

import logging
import re
from collections.abc import Awaitable, Callable, Iterable

import azure.durable_functions as df
import azure.functions as func

from functions.durable_client import DurableOrchestrationClientAdapter
from shared.api.http import ApiContext, ApiRequest, ApiResponse, Route
from shared.api.routes import ROUTES

log = logging.getLogger(__name__)
CLIENT_BINDING = "client"
# Azure Functions names: a letter, then letters, digits, '_' or '-' (up to 128).
_FUNCTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,127}$")

HttpFunction = Callable[[func.HttpRequest, df.DurableOrchestrationClient], Awaitable[func.HttpResponse]]

bp = df.Blueprint()


def to_api_request(req: func.HttpRequest) -> ApiRequest:
    return ApiRequest(
        method=req.method.upper(),
        path_params=dict(req.route_params or {}),
        query=dict(req.params or {}),
        headers={key.lower(): value for key, value in req.headers.items()},
        body=req.get_body() or b"",
    )


def to_http_response(response: ApiResponse) -> func.HttpResponse:
    headers = {**response.headers, "Content-Type": response.content_type}
    return func.HttpResponse(body=response.body, status_code=response.status, headers=headers)


def http_function(route: Route) -> HttpFunction:
    """The function the worker calls for ``route``; named after the route so each is distinct."""
    if not _FUNCTION_NAME.match(route.name):
        raise ValueError(f"route name {route.name!r} is not a valid Azure Functions name")

    async def handle(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        context = ApiContext(orchestration=DurableOrchestrationClientAdapter(client))
        try:
            response = await route.handler(to_api_request(req), context)
        except Exception:  # the handler's bug must not leak a stack trace to the caller
            log.exception("route %s failed on %s %s", route.name, req.method, req.url)
            response = ApiResponse.error(500, "internal error")
        return to_http_response(response)

    handle.__name__ = handle.__qualname__ = route.name
    return handle


def register_routes(blueprint: df.Blueprint, routes: Iterable[Route]) -> None:
    for route in routes:
        auth = func.AuthLevel.ANONYMOUS if route.anonymous else func.AuthLevel.FUNCTION
        handler = blueprint.durable_client_input(client_name=CLIENT_BINDING)(http_function(route))
        handler = blueprint.route(route=route.path, methods=list(route.methods), auth_level=auth)(handler)
        blueprint.function_name(route.name)(handler)


register_routes(bp, ROUTES)
