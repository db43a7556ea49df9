"""Signing in and out of the local dashboard, and what each role sees: the real app, the real
user store, the real session cookie."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from papyr.server import create_app
from shared.api.routes import ROUTES
from shared.auth import Role
from shared.auth.sessions import COOKIE_NAME, CSRF_HEADER
from shared.auth.users import UserStore
from shared.services import Services, set_services
from tests.papyr.session_support import PASSWORD, add_user, sign_in
from tests.shared.api import invoice_factory as factory

APPROVER = "ap.clerk@example.com"  # the factory's route sends level 1 here


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built: Services = factory.make_services(tmp_path / "papyr")
    add_user(built, "clerk@example.com", Role.CLERK)
    add_user(built, APPROVER, Role.APPROVER, name="Ada Approver")
    yield built
    set_services(None)


@pytest.fixture
def app_client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services, factory.RecordingOrchestration())) as client:
        yield client


def test_pages_send_strangers_to_sign_in_and_back(app_client: TestClient, services: Services) -> None:
    record = factory.make_record(services)
    redirected = app_client.get(f"/invoices/{record.id}", follow_redirects=False)
    assert redirected.status_code == 303
    assert redirected.headers["location"] == f"/signin?next=%2Finvoices%2F{record.id}"
    form = app_client.get(redirected.headers["location"])
    assert form.status_code == 200 and 'name="password"' in form.text
    assert f'value="/invoices/{record.id}"' in form.text

    wrong = app_client.post("/signin", data={"email": "clerk@example.com", "password": "nope-nope"})
    assert wrong.status_code == 401 and "Wrong e-mail or password." in wrong.text
    assert COOKIE_NAME not in app_client.cookies

    signed = app_client.post("/signin", data={"email": "Clerk@Example.com", "password": PASSWORD,
                                              "next": f"/invoices/{record.id}"}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == f"/invoices/{record.id}"
    cookie = signed.headers["set-cookie"]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"):
        assert flag in cookie
    page = app_client.get(f"/invoices/{record.id}")
    assert page.status_code == 200 and "Lieferant GmbH" in page.text
    assert 'title="clerk@example.com"' in page.text


def test_sign_in_never_redirects_off_site(app_client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil"):
        app_client.cookies.clear()
        response = app_client.post("/signin", data={"email": "clerk@example.com", "password": PASSWORD,
                                                    "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/", target


def test_sign_out_needs_the_csrf_token_and_ends_the_session(app_client: TestClient) -> None:
    token = sign_in(app_client, "clerk@example.com")
    del app_client.headers[CSRF_HEADER]
    stolen = app_client.cookies[COOKIE_NAME]
    refused = app_client.post("/signout", data={}, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    out = app_client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert "Max-Age=0" in out.headers["set-cookie"]
    # the old cookie, replayed, is revoked
    app_client.cookies.set(COOKIE_NAME, stolen)
    assert app_client.get("/api/invoices").status_code == 401


def test_an_api_post_with_a_session_but_without_its_csrf_token_is_refused(
        app_client: TestClient, services: Services) -> None:
    record = factory.make_record(services)
    sign_in(app_client, "clerk@example.com")
    app_client.headers[CSRF_HEADER] = "forged"
    response = app_client.post(f"/api/invoices/{record.id}/fields/total", json={"value": "1.00"})
    assert response.status_code == 403
    assert services.repo.get_invoice(record.id).corrections == []  # type: ignore[union-attr]


def test_removing_a_user_ends_their_sessions(app_client: TestClient, services: Services) -> None:
    sign_in(app_client, "clerk@example.com")
    assert app_client.get("/api/invoices").status_code == 200
    assert UserStore(services.repo).remove("clerk@example.com")
    assert app_client.get("/api/invoices").status_code == 401


def test_only_the_levels_approver_gets_decision_buttons_and_only_clerks_edit(
        app_client: TestClient, services: Services) -> None:
    record = factory.make_record(services)
    sign_in(app_client, "clerk@example.com")
    as_clerk = app_client.get(f"/invoices/{record.id}").text
    assert 'class="approve" disabled' in as_clerk and "Only they can decide this level." in as_clerk
    assert 'class="edit"' in as_clerk
    assert 'id="upload-form"' in app_client.get("/").text

    sign_in(app_client, APPROVER)
    as_approver = app_client.get(f"/invoices/{record.id}").text
    assert 'class="approve">' in as_approver and 'class="approve" disabled' not in as_approver
    assert 'class="edit"' not in as_approver
    assert 'id="upload-form"' not in app_client.get("/").text


def test_opening_an_invoice_is_audited_once_per_half_hour(app_client: TestClient, services: Services) -> None:
    record = factory.make_record(services)
    sign_in(app_client, APPROVER)
    app_client.get(f"/invoices/{record.id}")
    app_client.get(f"/invoices/{record.id}")
    views = [e for e in services.repo.audit_trail(record.id) if e.action == "viewed"]
    assert [e.actor for e in views] == [APPROVER]


def _path(template: str) -> str:
    return "/api/" + template.format(invoice_id="0" * 64, page="1", field="total")


@pytest.mark.parametrize("route", [r for r in ROUTES if r.roles], ids=lambda r: r.name)
def test_every_route_that_needs_a_role_answers_401_to_strangers(app_client: TestClient, route) -> None:  # type: ignore[no-untyped-def]
    response = app_client.request(route.methods[0], _path(route.path))
    assert response.status_code == 401
    assert response.json() == {"error": "sign in first"}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.roles and Role.APPROVER not in r.roles],
                         ids=lambda r: r.name)
def test_routes_for_clerks_answer_403_to_an_approver(app_client: TestClient, route) -> None:  # type: ignore[no-untyped-def]
    sign_in(app_client, APPROVER)
    response = app_client.request(route.methods[0], _path(route.path))
    assert response.status_code == 403
    assert "clerk" in response.json()["error"]
