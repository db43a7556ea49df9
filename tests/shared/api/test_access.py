"""Every route declares who may call it, and ``call_route`` holds every route to it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from invoice_factory import RecordingOrchestration

from shared.api.access import call_route
from shared.api.http import ApiContext, ApiRequest, ApiResponse, Route
from shared.api.routes import ROUTES
from shared.auth import AuthMethod, Principal, Role


def person(*roles: Role) -> Principal:
    return Principal(id="someone@example.com", roles=frozenset(roles), method=AuthMethod.PASSWORD)


def reached(route: Route, principal: Principal | None) -> tuple[bool, ApiResponse]:
    calls: list[ApiRequest] = []

    async def handler(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
        calls.append(request)
        return ApiResponse.of_json({"ok": True})

    request = ApiRequest(method=route.methods[0], principal=principal)
    response = asyncio.run(call_route(replace(route, handler=handler), request,
                                      ApiContext(orchestration=RecordingOrchestration())))
    if calls:
        assert calls[0].principal == principal  # handed through untouched
    return bool(calls), response


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_each_route_admits_exactly_whom_it_declares(route: Route) -> None:
    if route.anonymous or route.own_auth:
        assert reached(route, None)[0]
        assert reached(route, person(Role.APPROVER))[0]
        return
    ok, response = reached(route, None)
    assert not ok and response.status == 401
    ok, response = reached(route, person())
    assert not ok and response.status == 403
    for role in Role:
        allowed = role is Role.ADMIN or role in route.roles
        ok, response = reached(route, person(role))
        assert ok == allowed, (route.name, role)
        if not allowed:
            assert response.status == 403


def test_the_route_table_says_who_may_do_what() -> None:
    access = {r.name: ("anonymous" if r.anonymous else "own" if r.own_auth else sorted(r.roles)) for r in ROUTES}
    assert access == {
        "health": "anonymous",
        "graph_notifications": "anonymous",
        "gmail_notifications": "anonymous",
        "post_approval": "own",
        "list_invoices": [Role.APPROVER, Role.CLERK],
        "get_invoice": [Role.APPROVER, Role.CLERK],
        "get_invoice_document": [Role.APPROVER, Role.CLERK],
        "get_invoice_report": [Role.APPROVER, Role.CLERK],
        "get_invoice_page": [Role.APPROVER, Role.CLERK],
        "correct_field": [Role.CLERK],
        "upload_document": [Role.CLERK],
    }


def test_a_route_must_declare_its_access() -> None:
    async def handler(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
        return ApiResponse()

    with pytest.raises(ValueError, match="exactly one"):
        Route("nobody_said", ("GET",), "x", handler)
    with pytest.raises(ValueError, match="exactly one"):
        Route("both", ("GET",), "x", handler, roles=(Role.CLERK,), anonymous=True)
