"""HTTP triggers: one Azure Function per entry of ``shared.api.routes.ROUTES``, plus one for the
dashboard's pages (route ``dashboard/{*path}``, served under ``/api/dashboard/``).

Each function is a thin adapter, ``func.HttpRequest`` → ``ApiRequest`` → the route's handler →
``func.HttpResponse``, with the Durable client (for starting orchestrations and raising approval
events) bound as ``client`` and wrapped in the core's ``OrchestrationClient`` port.

Who calls: App Service authentication (Entra ID) in front of the app puts the signed-in user in
the ``X-MS-CLIENT-PRINCIPAL`` headers; they are read only when the platform says authentication is
on (``WEBSITE_AUTH_ENABLED``), since only then does it strip those headers from outside requests.
Roles are checked by ``shared.api.access.call_route``, as on the local host, so routes that need a
role take no function key (a browser cannot send one); the key still guards the approval callback
until its own authentication (action tokens) is in place.

No ``from __future__ import annotations`` here: the Functions worker reads these annotations at
indexing time and needs real types.
"""

import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable

import azure.durable_functions as df
import azure.functions as func

from functions.durable_client import DurableOrchestrationClientAdapter
from shared.api.access import call_route
from shared.api.http import ApiContext, ApiRequest, ApiResponse, Route
from shared.api.routes import ROUTES
from shared.auth import Principal
from shared.auth.easy_auth import principal_from_easy_auth
from shared.dashboard import build_site

log = logging.getLogger(__name__)
CLIENT_BINDING = "client"
# Azure Functions names: a letter, then letters, digits, '_' or '-' (up to 128).
_FUNCTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,127}$")

HttpFunction = Callable[[func.HttpRequest, df.DurableOrchestrationClient], Awaitable[func.HttpResponse]]

bp = df.Blueprint()


DASHBOARD_FUNCTION = "dashboard"
DASHBOARD_ROUTE = "dashboard/{*path}"
DASHBOARD_BASE = "/api/dashboard/"


def easy_auth_enabled() -> bool:
    return os.environ.get("WEBSITE_AUTH_ENABLED", "").strip().lower() == "true"


def caller(headers: dict[str, str]) -> Principal | None:
    return principal_from_easy_auth(headers) if easy_auth_enabled() else None


def to_api_request(req: func.HttpRequest) -> ApiRequest:
    headers = {key.lower(): value for key, value in req.headers.items()}
    return ApiRequest(
        method=req.method.upper(),
        path_params=dict(req.route_params or {}),
        query=dict(req.params or {}),
        headers=headers,
        body=req.get_body() or b"",
        principal=caller(headers),
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
            response = await call_route(route, to_api_request(req), context)
        except Exception:  # the handler's bug must not leak a stack trace to the caller
            log.exception("route %s failed on %s %s", route.name, req.method, req.url)
            response = ApiResponse.error(500, "internal error")
        return to_http_response(response)

    handle.__name__ = handle.__qualname__ = route.name
    return handle


def auth_level(route: Route) -> func.AuthLevel:
    return func.AuthLevel.FUNCTION if route.own_auth else func.AuthLevel.ANONYMOUS


def register_routes(blueprint: df.Blueprint, routes: Iterable[Route]) -> None:
    for route in routes:
        handler = blueprint.durable_client_input(client_name=CLIENT_BINDING)(http_function(route))
        handler = blueprint.route(route=route.path, methods=list(route.methods), auth_level=auth_level(route))(handler)
        blueprint.function_name(route.name)(handler)


def dashboard_function() -> HttpFunction:
    site = build_site(DASHBOARD_BASE, "entra")

    async def dashboard(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        context = ApiContext(orchestration=DurableOrchestrationClientAdapter(client))
        request = to_api_request(req)
        try:
            response = await site.handle(request.path_params.get("path", ""), request, context)
        except Exception:
            log.exception("dashboard page failed on %s %s", req.method, req.url)
            response = ApiResponse.error(500, "internal error")
        return to_http_response(response)

    return dashboard


def register_dashboard(blueprint: df.Blueprint) -> None:
    handler = blueprint.durable_client_input(client_name=CLIENT_BINDING)(dashboard_function())
    handler = blueprint.route(route=DASHBOARD_ROUTE, methods=["GET", "POST"],
                              auth_level=func.AuthLevel.ANONYMOUS)(handler)
    blueprint.function_name(DASHBOARD_FUNCTION)(handler)


register_routes(bp, ROUTES)
register_dashboard(bp)
