"""The HTTP adapter on routes of its own: request/response translation and failure handling."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func
import pytest
from durable_extension import FakeDurableExtension

from functions.http_api import http_function, register_routes
from shared.api.http import ApiContext, ApiRequest, ApiResponse, Route


async def echo(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    payload = {
        "method": request.method,
        "path": request.path_params,
        "query": request.query,
        "header": request.headers.get("x-papyr-test"),
        "body": request.body.decode(),
    }
    return ApiResponse(status=201, body=json.dumps(payload).encode(), headers={"X-Answer": "42"})


async def broken(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    raise RuntimeError("secret detail that must not leak")


def registered(*routes: Route) -> dict[str, object]:
    blueprint = df.Blueprint()
    register_routes(blueprint, routes)
    app = df.DFApp()
    app.register_functions(blueprint)
    return {f.get_function_name() or "": f.get_user_function() for f in app.get_functions()}


@pytest.mark.asyncio
async def test_request_and_response_are_translated_both_ways() -> None:
    handler = registered(Route("echo", ("PUT",), "things/{thing_id}", echo, anonymous=True))["echo"]
    request = func.HttpRequest(
        "PUT",
        "http://localhost:7071/api/things/7?x=1",
        body=b"hello",
        params={"x": "1"},
        route_params={"thing_id": "7"},
        headers={"X-Papyr-Test": "yes"},
    )
    async with FakeDurableExtension() as extension:
        response = await handler(req=request, client=extension.client_binding())  # type: ignore[operator]
    assert response.status_code == 201
    assert response.headers["X-Answer"] == "42"
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.get_body()) == {
        "method": "PUT",
        "path": {"thing_id": "7"},
        "query": {"x": "1"},
        "header": "yes",
        "body": "hello",
    }


@pytest.mark.asyncio
async def test_a_failing_handler_answers_500_without_its_details() -> None:
    handler = registered(Route("broken", ("GET",), "broken", broken, anonymous=True))["broken"]
    async with FakeDurableExtension() as extension:
        response = await handler(  # type: ignore[operator]
            req=func.HttpRequest("GET", "http://localhost:7071/api/broken", body=b""),
            client=extension.client_binding(),
        )
    assert response.status_code == 500
    assert json.loads(response.get_body()) == {"error": "internal error"}


def test_a_route_name_azure_cannot_use_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid Azure Functions name"):
        http_function(Route("list invoices", ("GET",), "invoices", echo, anonymous=True))
