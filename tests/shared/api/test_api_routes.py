from __future__ import annotations

import json
import re

from invoice_factory import RecordingOrchestration, call

from shared.api.routes import ROUTES, health


def test_route_table_names_paths_and_methods_are_unique_and_complete() -> None:
    names = [route.name for route in ROUTES]
    assert len(names) == len(set(names))
    table = {(method, route.path) for route in ROUTES for method in route.methods}
    assert table == {
        ("GET", "health"),
        ("GET", "invoices"),
        ("GET", "invoices/{invoice_id}"),
        ("GET", "invoices/{invoice_id}/document"),
        ("GET", "invoices/{invoice_id}/report"),
        ("GET", "invoices/{invoice_id}/pages/{page}"),
        ("POST", "invoices/{invoice_id}/fields/{field}"),
        ("POST", "approvals/{invoice_id}"),
        ("POST", "documents"),
        ("POST", "notifications/graph"),
        ("POST", "notifications/gmail"),
    }
    # Azure function names: letters, digits and underscores only; paths carry no api/ prefix.
    for route in ROUTES:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", route.name)
        assert not route.path.startswith(("/", "api/"))


def test_only_health_and_the_push_endpoints_are_anonymous() -> None:
    # Graph and Pub/Sub cannot send function keys: those routes authenticate each request themselves
    # (clientState, OIDC token).
    anonymous = {route.name for route in ROUTES if route.anonymous}
    assert anonymous == {"health", "graph_notifications", "gmail_notifications"}


def test_health_reports_ok_and_a_version() -> None:
    response = call(health, RecordingOrchestration())
    assert response.status == 200
    payload = json.loads(response.body)
    assert payload["status"] == "ok"
    assert isinstance(payload["version"], str) and payload["version"]
