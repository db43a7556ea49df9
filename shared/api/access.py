"""Who may call a route: the one place both hosts go through before a handler runs.

Hosts only resolve the caller (a session cookie locally, App Service authentication headers on
Azure) onto ``ApiRequest.principal``; the decision is made here from the route's declaration.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.api.http import ApiContext, ApiRequest, ApiResponse, Route
from shared.auth import Principal, Role

READERS: tuple[Role, ...] = (Role.CLERK, Role.APPROVER)  # see the queue and the invoices
CLERKS: tuple[Role, ...] = (Role.CLERK,)  # change things: upload, correct fields
ADMINS: tuple[Role, ...] = (Role.ADMIN,)


def holds_any(principal: Principal | None, roles: Iterable[Role]) -> bool:
    return principal is not None and any(principal.has(role) for role in roles)


def denial(route: Route, principal: Principal | None) -> ApiResponse | None:
    """401 without a principal, 403 with the wrong roles, None when the call may go ahead."""
    if route.anonymous or route.own_auth:
        return None
    if principal is None:
        return ApiResponse(status=401, body=b'{"error": "sign in first"}',
                           headers={"WWW-Authenticate": 'Cookie realm="papyr"'})
    if not holds_any(principal, route.roles):
        needed = " or ".join(role.value for role in route.roles)
        return ApiResponse.error(403, f"this needs the {needed} role")
    return None


async def call_route(route: Route, request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    refused = denial(route, request.principal)
    if refused is not None:
        return refused
    return await route.handler(request, ctx)
