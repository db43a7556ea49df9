"""function_app.py as the Functions host indexes it: every function and binding, and the registered
user functions invoked with the worker's own input types (func.HttpRequest, func.InputStream,
OrchestrationContext, the activity trigger's JSON converter)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.blob import InputStream
from azure.functions.decorators.function_app import Function
from azure.functions.durable_functions import ActivityTriggerConverter
from durable_extension import FakeDurableExtension

from orchestrators.invoice import instance_id_for
from shared.activities import ACTIVITIES
from shared.api.routes import ROUTES
from shared.domain import InvoiceRecord, InvoiceStatus, Route, RouteKind
from shared.services import Services, set_services
from shared.settings import Settings
from tests.shared.approvals.entra_keys import AUDIENCE, TENANT, FakeTenant

# The orchestration's verbs: a contract between the orchestrator and the activity triggers.
ACTIVITY_NAMES = {
    "classify_document",
    "extract_invoice",
    "check_invoice",
    "route_invoice",
    "request_approval",
    "send_reminder",
    "escalate_approval",
    "record_decision",
    "render_report",
    "export_invoice",
    "mark_failed",
    "renew_subscription",  # issue 4: mailbox subscription renewal
    "reconcile_mailbox",
}
MAILBOX_FUNCTIONS = {"mailbox_renewal_orchestrator", "mailbox_safety_net", "mailbox_drain"}
SAMPLE_PDF = "zugferd/XML-Rechnung__FX__EN16931_Einfach.pdf"


@pytest.fixture(scope="module")
def functions() -> dict[str, Function]:
    """``app.get_functions()`` may run once per process (it registers the names it validates)."""
    import function_app

    return {f.get_function_name() or "": f for f in function_app.app.get_functions()}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    installed = Services.from_settings(Settings(backend="local", data_dir=tmp_path / "papyr"))
    set_services(installed)
    yield installed
    set_services(None)


def bindings(function: Function) -> dict[str, dict[str, Any]]:
    """The function.json bindings, by type."""
    found: dict[str, dict[str, Any]] = {}
    for binding in json.loads(function.get_function_json())["bindings"]:
        assert binding["type"] not in found, f"two {binding['type']} bindings on {function.get_function_name()}"
        found[binding["type"]] = binding
    return found


def http_request(method: str, path: str, body: bytes = b"", **kwargs: Any) -> func.HttpRequest:
    return func.HttpRequest(method, f"http://localhost:7071/api/{path}", body=body, **kwargs)


def easy_auth_headers(email: str, *roles: str) -> dict[str, str]:
    """What App Service authentication adds to a signed-in user's request (documented shape)."""
    claims = [{"typ": "preferred_username", "val": email}, {"typ": "name", "val": email.split("@")[0]}]
    claims += [{"typ": "roles", "val": role} for role in roles]
    principal = {"auth_typ": "aad", "claims": claims, "name_typ": "name", "role_typ": "roles"}
    return {"X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps(principal).encode()).decode(),
            "X-MS-CLIENT-PRINCIPAL-NAME": email, "X-MS-CLIENT-PRINCIPAL-IDP": "aad"}


@pytest.fixture
def easy_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    """App Service authentication is on (the platform sets this app setting)."""
    monkeypatch.setenv("WEBSITE_AUTH_ENABLED", "True")


# -- indexing -------------------------------------------------------------------------------------


def test_registers_exactly_the_routes_intake_orchestrator_and_activities(functions: dict[str, Function]) -> None:
    assert set(ACTIVITIES) == ACTIVITY_NAMES
    expected = (
        {route.name for route in ROUTES} | {"ingest_incoming_blob", "invoice_orchestrator", "dashboard"}
        | ACTIVITY_NAMES | MAILBOX_FUNCTIONS
    )
    assert set(functions) == expected
    assert len(functions) == len(ROUTES) + 3 + len(ACTIVITY_NAMES) + len(MAILBOX_FUNCTIONS)
    assert {"health", "post_approval", "upload_document"} <= set(functions)


def test_every_function_is_indexed_from_function_app_py(functions: dict[str, Function]) -> None:
    for function in functions.values():
        assert json.loads(function.get_function_json())["scriptFile"] == "function_app.py"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_each_route_is_an_http_trigger_with_a_durable_client(functions: dict[str, Function], route: Any) -> None:
    function = functions[route.name]
    found = bindings(function)
    assert set(found) == {"httpTrigger", "http", "durableClient"}
    trigger = found["httpTrigger"]
    assert trigger["direction"] == "IN"
    assert trigger["name"] == "req"
    assert trigger["route"] == route.path
    assert trigger["methods"] == list(route.methods)
    # Roles are checked in code behind App Service authentication (a browser cannot send a function
    # key); only a route that authenticates its callers itself keeps the key for now.
    assert trigger["authLevel"] == ("FUNCTION" if route.own_auth else "ANONYMOUS")
    assert found["http"] == {"direction": "OUT", "type": "http", "name": "$return"}
    assert found["durableClient"] == {"direction": "IN", "type": "durableClient", "name": "client"}
    assert function.is_http_function()
    # The worker binds by parameter name: the user function must take exactly these.
    assert function.get_user_function().__name__ == route.name


def test_health_is_anonymous_and_the_approval_callback_needs_a_key(functions: dict[str, Function]) -> None:
    assert bindings(functions["health"])["httpTrigger"]["authLevel"] == "ANONYMOUS"
    assert bindings(functions["post_approval"])["httpTrigger"]["authLevel"] == "FUNCTION"
    assert bindings(functions["post_approval"])["httpTrigger"]["route"] == "approvals/{invoice_id}"


def test_the_dashboard_is_one_catch_all_http_function(functions: dict[str, Function]) -> None:
    trigger = bindings(functions["dashboard"])["httpTrigger"]
    assert trigger["route"] == "dashboard/{*path}"
    assert trigger["methods"] == ["GET", "POST"]
    assert trigger["authLevel"] == "ANONYMOUS"


def test_orchestrator_trigger(functions: dict[str, Function]) -> None:
    found = bindings(functions["invoice_orchestrator"])
    assert found == {
        "orchestrationTrigger": {
            "direction": "IN",
            "type": "orchestrationTrigger",
            "name": "context",
            "orchestration": "invoice_orchestrator",
        }
    }


@pytest.mark.parametrize("name", sorted(ACTIVITY_NAMES))
def test_one_activity_trigger_per_verb(functions: dict[str, Function], name: str) -> None:
    found = bindings(functions[name])
    assert found == {
        "activityTrigger": {"direction": "IN", "type": "activityTrigger", "name": "payload", "activity": name}
    }
    user_function = functions[name].get_user_function()
    assert user_function.__name__ == name
    assert list(user_function.__annotations__) == ["payload", "return"]


def test_blob_trigger_on_incoming(functions: dict[str, Function]) -> None:
    found = bindings(functions["ingest_incoming_blob"])
    assert set(found) == {"blobTrigger", "durableClient"}
    assert found["blobTrigger"] == {
        "direction": "IN",
        "type": "blobTrigger",
        "name": "blob",
        "path": "incoming/{name}",
        "connection": "AzureWebJobsStorage",
    }
    assert found["durableClient"]["name"] == "client"


# -- invoking the registered functions ----------------------------------------------------------


@pytest.mark.asyncio
async def test_get_health_returns_200(functions: dict[str, Function], services: Services) -> None:
    async with FakeDurableExtension() as extension:
        handler = functions["health"].get_user_function()
        response = await handler(req=http_request("GET", "health"), client=extension.client_binding())
    assert isinstance(response, func.HttpResponse)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.get_body())["status"] == "ok"


@pytest.mark.asyncio
async def test_route_parameters_reach_the_handler(functions: dict[str, Function], services: Services,
                                                  easy_auth: None) -> None:
    async with FakeDurableExtension() as extension:
        handler = functions["get_invoice"].get_user_function()
        request = http_request("GET", "invoices/nope", route_params={"invoice_id": "nope"},
                               headers=easy_auth_headers("clerk@example.com", "clerk"))
        response = await handler(req=request, client=extension.client_binding())
    assert response.status_code == 404
    assert "nope" in json.loads(response.get_body())["error"]


@pytest.mark.asyncio
async def test_upload_starts_one_orchestration_through_the_durable_client(
    functions: dict[str, Function], services: Services, shared_data: Path, easy_auth: None
) -> None:
    data = (shared_data / SAMPLE_PDF).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    async with FakeDurableExtension() as extension:
        handler = functions["upload_document"].get_user_function()
        request = http_request("POST", "documents", body=data, params={"filename": "Einfach.pdf"},
                               headers=easy_auth_headers("clerk@example.com", "Papyr.Clerk"))
        response = await handler(req=request, client=extension.client_binding())
        again = await handler(req=request, client=extension.client_binding())
    assert response.status_code == 202
    assert json.loads(response.get_body())["documents"][0]["instance_id"] == instance_id_for(sha)
    assert again.status_code == 200, "the same bytes again: a duplicate, nothing new started"
    assert [(name, instance) for name, instance, _ in extension.starts] == [
        ("invoice_orchestrator", instance_id_for(sha))
    ]


@pytest.mark.asyncio
async def test_approval_callback_raises_the_event_in_the_waiting_orchestration(
    functions: dict[str, Function], services: Services, shared_data: Path
) -> None:
    from shared.intake.service import ingest_file

    ref = ingest_file((shared_data / SAMPLE_PDF).read_bytes(), "Einfach.pdf", services=services).documents[0]
    record = services.repo.get_invoice(ref.sha256)
    assert isinstance(record, InvoiceRecord)
    record.status = InvoiceStatus.AWAITING_APPROVAL
    record.route = Route(kind=RouteKind.APPROVAL, approvers=["ap.clerk@example.com"])
    services.repo.save_invoice(record)
    instance_id = instance_id_for(ref.sha256)

    # On Azure the approver signs in with Entra ID: the bearer token names them (keys from the
    # tenant's JWKS, served here through the HTTP seam).
    tenant = FakeTenant()
    services.settings = services.settings.model_copy(update={"entra_tenant_id": TENANT, "entra_audience": AUDIENCE})
    services.http_transport = tenant.transport()

    async with FakeDurableExtension() as extension:
        extension.put(instance_id, "Running")
        handler = functions["post_approval"].get_user_function()
        body = json.dumps({"decision": "approved", "comment": "fine"}).encode()
        request = http_request(
            "POST",
            f"approvals/{ref.sha256}",
            body=body,
            route_params={"invoice_id": ref.sha256},
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {tenant.token()}"},
        )
        response = await handler(req=request, client=extension.client_binding())
    assert response.status_code == 202, response.get_body()
    ((event, data),) = extension.instances[instance_id].events
    assert event == "approval"
    assert (data["decision"], data["by"], data["comment"]) == ("approved", "ap.clerk@example.com", "fine")


@pytest.mark.asyncio
async def test_blob_trigger_ingests_and_starts_the_orchestration_once(
    functions: dict[str, Function], services: Services, shared_data: Path
) -> None:
    data = (shared_data / SAMPLE_PDF).read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    name = "incoming/ap@example.com/Rechnung 2024.05.pdf"
    async with FakeDurableExtension() as extension:
        handler = functions["ingest_incoming_blob"].get_user_function()
        for _ in range(2):  # blob triggers run at least once: a second delivery starts nothing
            await handler(blob=InputStream(data=data, name=name, length=len(data)), client=extension.client_binding())

    ((orchestrator, instance_id, payload),) = extension.starts
    assert (orchestrator, instance_id) == ("invoice_orchestrator", instance_id_for(sha))
    document = payload["document"]
    assert (document["sha256"], document["filename"], document["size"]) == (sha, "Rechnung 2024.05.pdf", len(data))
    assert document["mail"]["mailbox"] == "ap@example.com"
    settings = services.settings
    assert payload["approval"] == {
        "remind_after_hours": settings.remind_after_hours,
        "escalate_after_hours": settings.escalate_after_hours,
        "expire_after_hours": settings.expire_after_hours,
    }
    record = services.repo.get_invoice(sha)
    assert record is not None and record.status is InvoiceStatus.RECEIVED
    assert services.blobs.get(record.document.blob_name) == data


def test_orchestrator_runs_through_its_registered_trigger(functions: dict[str, Function]) -> None:
    sha = "cd" * 32
    stamp = "2024-05-06T09:00:00.000000Z"

    def event(kind: int, event_id: int = -1, **fields: Any) -> dict[str, Any]:
        return {"EventType": kind, "EventId": event_id, "IsPlayed": False, "Timestamp": stamp, **fields}

    start_input = json.dumps({"document": {"sha256": sha}, "approval": {}})
    history = [
        event(12),  # OrchestratorStarted
        event(0, Name="invoice_orchestrator", Input=start_input, Version=None),  # ExecutionStarted
        event(4, 0, Name="classify_document"),  # TaskScheduled
        event(13),  # OrchestratorCompleted
        event(12),
        event(5, TaskScheduledId=0, Result=json.dumps({"status": "rejected", "reason": "not an invoice: flyer"})),
    ]
    body = json.dumps(
        {
            "history": history,
            "input": start_input,
            "instanceId": instance_id_for(sha),
            "isReplaying": False,
            "parentInstanceId": None,
        }
    )
    state = json.loads(functions["invoice_orchestrator"].get_user_function()(func.OrchestrationContext(body)))
    assert state["isDone"] is True
    assert state["output"] == {"invoice_id": sha, "status": "rejected", "reason": "not an invoice: flyer"}
    assert [a["functionName"] for group in state["actions"] for a in group] == ["classify_document"]


def test_activity_runs_through_its_registered_trigger(
    functions: dict[str, Function], services: Services, shared_data: Path
) -> None:
    from shared.intake.service import ingest_file

    ref = ingest_file((shared_data / SAMPLE_PDF).read_bytes(), "Einfach.pdf", services=services).documents[0]
    # What the extension sends: the activity input as JSON, decoded by the worker's converter.
    datum = func.meta.Datum(type="json", value=json.dumps({"invoice_id": ref.sha256, "reason": "internal error: x"}))
    payload = ActivityTriggerConverter.decode(datum, trigger_metadata={})
    result = functions["mark_failed"].get_user_function()(payload)
    encoded = ActivityTriggerConverter.encode(result, expected_type=None)

    assert json.loads(encoded.value) == {"status": "failed"}
    record = services.repo.get_invoice(ref.sha256)
    assert record is not None
    assert (record.status, record.reason) == (InvoiceStatus.FAILED, "internal error: x")


# -- who may call: App Service authentication headers, roles checked in the shared place ----------


async def _call(function: Function, request: func.HttpRequest) -> func.HttpResponse:
    async with FakeDurableExtension() as extension:
        response: func.HttpResponse = await function.get_user_function()(req=request, client=extension.client_binding())
    return response


@pytest.mark.asyncio
async def test_forged_principal_headers_are_ignored_without_app_service_authentication(
    functions: dict[str, Function], services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
    request = http_request("GET", "invoices", headers=easy_auth_headers("mallory@example.com", "admin"))
    response = await _call(functions["list_invoices"], request)
    assert response.status_code == 401
    assert json.loads(response.get_body()) == {"error": "sign in first"}


@pytest.mark.asyncio
async def test_easy_auth_roles_decide_what_a_caller_may_do(
    functions: dict[str, Function], services: Services, easy_auth: None
) -> None:
    approver = easy_auth_headers("approver@example.com", "approver")
    listing = await _call(functions["list_invoices"], http_request("GET", "invoices", headers=approver))
    assert listing.status_code == 200 and json.loads(listing.get_body())["count"] == 0
    upload = await _call(functions["upload_document"],
                         http_request("POST", "documents", body=b"%PDF", params={"filename": "a.pdf"},
                                      headers=approver))
    assert upload.status_code == 403
    assert "clerk" in json.loads(upload.get_body())["error"]
    nobody = easy_auth_headers("guest@example.com")  # signed in, but no app role assigned
    assert (await _call(functions["list_invoices"], http_request("GET", "invoices", headers=nobody))).status_code == 403


@pytest.mark.asyncio
async def test_the_dashboard_sends_strangers_to_entra_sign_in_and_serves_members(
    functions: dict[str, Function], services: Services, easy_auth: None
) -> None:
    anonymous = await _call(functions["dashboard"], http_request("GET", "dashboard/", route_params={"path": ""}))
    assert anonymous.status_code == 303
    assert anonymous.headers["Location"] == "/api/dashboard/signin?next=%2Fapi%2Fdashboard%2F"
    signin = await _call(functions["dashboard"], http_request(
        "GET", "dashboard/signin", route_params={"path": "signin"}, params={"next": "/api/dashboard/"}))
    assert signin.headers["Location"] == "/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fdashboard%2F"

    clerk = easy_auth_headers("clerk@example.com", "clerk")
    queue = await _call(functions["dashboard"],
                        http_request("GET", "dashboard/", route_params={"path": ""}, headers=clerk))
    assert queue.status_code == 200
    assert queue.headers["Content-Type"].startswith("text/html")
    html = queue.get_body().decode()
    assert "Invoice queue" in html and "clerk@example.com" in html
    assert 'href="/api/dashboard/static/style.css"' in html
    css = await _call(functions["dashboard"], http_request(
        "GET", "dashboard/static/style.css", route_params={"path": "static/style.css"}))
    assert css.status_code == 200 and css.headers["Content-Type"] == "text/css"
