"""The local server over the shared handlers: every /api route through Starlette, the lifespan
hooks, and a real uvicorn server on a free port."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from orchestrators.invoice import APPROVAL_EVENT, instance_id_for
from papyr.host import build_local_host
from papyr.server import EngineRunner, build_local_server, build_server, create_app
from shared.approvals.tokens import ActionTokens
from shared.auth import Role
from shared.domain import InvoiceStatus
from shared.services import Services, set_services
from shared.settings import get_settings
from tests.papyr.session_support import add_user, sign_in
from tests.shared.api import invoice_factory as factory


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built: Services = factory.make_services(tmp_path / "papyr")
    yield built
    set_services(None)


@pytest.fixture
def orchestration():  # type: ignore[no-untyped-def]
    return factory.RecordingOrchestration()


@pytest.fixture
def client(services: Services, orchestration) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """Signed in as an admin (every role): these tests are about the transport, not the roles."""
    add_user(services, "admin@example.com", Role.ADMIN)
    with TestClient(create_app(services, orchestration)) as test_client:
        sign_in(test_client, "admin@example.com")
        yield test_client


def test_health(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_invoice_routes_through_starlette(client: TestClient, services: Services) -> None:
    pdf = factory.SAMPLE_PDF.read_bytes()
    record = factory.make_record(services, content=pdf, report=pdf, findings=[factory.bank_change_finding()])

    listing = client.get("/api/invoices", params={"status": "awaiting_approval", "q": "lieferant"})
    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["invoices"]] == [record.id]
    assert client.get("/api/invoices", params={"status": "nope"}).status_code == 400

    detail = client.get(f"/api/invoices/{record.id}")
    assert detail.status_code == 200
    assert detail.json()["invoice"]["findings"][0]["severity"] == "high"
    assert detail.json()["audit_trail"][0]["action"] == "received"

    document = client.get(f"/api/invoices/{record.id}/document")
    assert document.status_code == 200
    assert document.content == pdf
    assert document.headers["content-type"] == "application/pdf"

    report = client.get(f"/api/invoices/{record.id}/report")
    assert report.status_code == 200 and report.content == pdf

    assert client.get(f"/api/invoices/{'0' * 64}").status_code == 404
    assert client.get(f"/api/invoices/{'0' * 64}/document").json()["error"].startswith("no invoice")


def test_approval_through_starlette(client: TestClient, services: Services, orchestration) -> None:  # type: ignore[no-untyped-def]
    record = factory.make_record(services)
    orchestration.states[instance_id_for(record.id)] = "Running"

    with TestClient(create_app(services, orchestration)) as stranger:
        anonymous = stranger.post(f"/api/approvals/{record.id}", json={"decision": "approved", "by": "Jane"})
    assert anonymous.status_code == 401
    # Signed in as an admin, but not the level's approver: an admin cannot decide for someone else.
    admin = client.post(f"/api/approvals/{record.id}", json={"decision": "approved"})
    assert admin.status_code == 403
    token = ActionTokens.from_settings(services.settings).mint(
        invoice_id=record.id, level=1, approver="ap.clerk@example.com", valid_for=timedelta(days=1))
    accepted = client.post(f"/api/approvals/{record.id}", json={"decision": "approved", "token": token})
    assert accepted.status_code == 202
    assert [(i, e) for i, e, _ in orchestration.events] == [(instance_id_for(record.id), APPROVAL_EVENT)]
    another = ActionTokens.from_settings(services.settings).mint(
        invoice_id=record.id, level=1, approver="ap.clerk@example.com", valid_for=timedelta(days=1))
    second = client.post(f"/api/approvals/{record.id}", json={"decision": "rejected", "token": another})
    assert second.status_code == 409
    nonsense = client.post(f"/api/approvals/{record.id}", content=b"nonsense",
                           headers={"content-type": "application/json"})
    assert nonsense.status_code == 400
    form = client.post(f"/api/approvals/{record.id}", data={"decision": "approved", "by": "Mallory"})
    assert form.status_code == 415
    assert client.get(f"/api/approvals/{record.id}").status_code == 405


def test_upload_through_starlette(client: TestClient, services: Services, orchestration) -> None:  # type: ignore[no-untyped-def]
    pdf = factory.SAMPLE_PDF.read_bytes()
    response = client.post("/api/documents", params={"filename": "upload.pdf"}, content=pdf)
    assert response.status_code == 202
    [document] = response.json()["documents"]
    assert services.repo.get_invoice(document["id"]).status == InvoiceStatus.RECEIVED  # type: ignore[union-attr]
    assert [instance for _, instance, _ in orchestration.started] == [document["instance_id"]]
    assert client.post("/api/documents", content=pdf).status_code == 400


def test_body_over_the_document_limit_is_refused(tmp_path: Path, orchestration) -> None:  # type: ignore[no-untyped-def]
    small = factory.make_services(tmp_path / "small", max_document_bytes=10)
    try:
        with TestClient(create_app(small, orchestration)) as test_client:
            response = test_client.post("/api/documents", params={"filename": "a.pdf"}, content=b"x" * 200_000)
    finally:
        set_services(None)
    assert response.status_code == 413
    assert small.repo.list_invoices() == []


def test_a_failing_handler_answers_500_json(client: TestClient, services: Services) -> None:
    record = factory.make_record(services)
    # A corrupt stored record (a blob name the store refuses) is the server's fault, not the client's.
    broken = record.document.model_copy(update={"blob_name": "../outside.pdf"})
    services.repo.save_invoice(record.model_copy(update={"document": broken}))
    response = client.get(f"/api/invoices/{record.id}/document")
    assert response.status_code == 500
    assert "internal error" in response.json()["error"]


def test_lifespan_runs_startup_and_shutdown_hooks(services: Services, orchestration) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    app = create_app(services, orchestration, on_startup=lambda: calls.append("start"),
                     on_shutdown=lambda: calls.append("stop"))
    with TestClient(app) as test_client:
        assert calls == ["start"]
        assert test_client.get("/api/health").status_code == 200
    assert calls == ["start", "stop"]


class LoopingEngine:
    """Stands in for the embedded engine's run_forever: loops until told to stop."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.stopped = threading.Event()

    def run_forever(self, stop: threading.Event) -> None:
        self.running.set()
        stop.wait()
        self.stopped.set()


def test_engine_runner_starts_and_stops_the_loop() -> None:
    engine = LoopingEngine()
    runner = EngineRunner(engine)
    runner.start()
    assert engine.running.wait(10)
    runner.stop()
    assert engine.stopped.is_set()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_in_thread(server) -> threading.Thread:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):  # wait for the socket to open
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert server.started
    return thread


def wait_for(condition, attempts: int = 600) -> bool:  # type: ignore[no-untyped-def]
    """Poll (bounded) until ``condition()`` is true: the engine works on its own thread."""
    for _ in range(attempts):
        if condition():
            return True
        threading.Event().wait(0.1)
    return False


def test_real_uvicorn_server_serves_api_and_dashboard(services: Services, orchestration) -> None:  # type: ignore[no-untyped-def]
    record = factory.make_record(services)
    add_user(services, "clerk@example.com", Role.CLERK)
    port = free_port()
    server = build_server(create_app(services, orchestration), port=port, log_level="warning")
    thread = run_in_thread(server)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/health").json()["status"] == "ok"
        assert httpx.get(f"{base}/api/invoices").status_code == 401
        assert httpx.get(f"{base}/invoices/{record.id}").status_code == 303
        with httpx.Client(base_url=base) as http:
            sign_in(http, "clerk@example.com")
            page = http.get(f"/invoices/{record.id}")
            assert page.status_code == 200 and "Lieferant GmbH" in page.text
            assert json.loads(http.get("/api/invoices").text)["count"] == 1
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive()


def test_local_host_end_to_end_upload_approve_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The served local host with its engine thread: upload a real invoice over HTTP, see it wait
    for approval, approve it from the API as the dashboard does, and see it exported."""
    monkeypatch.setenv("PAPYR_AUTO_APPROVE_BELOW", "0")  # every invoice goes to a person
    get_settings.cache_clear()
    local = build_local_host(tmp_path / "data")
    approver = get_settings().approvers[0]
    add_user(local.services, "clerk@example.com", Role.CLERK)
    add_user(local.services, approver, Role.APPROVER)
    port = free_port()
    server = build_local_server(local, port=port, log_level="warning")
    thread = run_in_thread(server)
    base = f"http://127.0.0.1:{port}"
    clerk, reviewer = httpx.Client(base_url=base), httpx.Client(base_url=base)
    try:
        sign_in(clerk, "clerk@example.com")
        sign_in(reviewer, approver)
        pdf = factory.SAMPLE_PDF.read_bytes()
        uploaded = clerk.post("/api/documents", params={"filename": "Einfach.pdf"}, content=pdf)
        assert uploaded.status_code == 202
        invoice_id = uploaded.json()["documents"][0]["id"]

        def status() -> str:
            return str(clerk.get(f"/api/invoices/{invoice_id}").json()["invoice"]["status"])

        assert wait_for(lambda: status() in ("awaiting_approval", "exported", "rejected", "failed"))
        assert status() == "awaiting_approval"
        page = reviewer.get(f"/invoices/{invoice_id}")
        assert 'id="approval-form"' in page.text

        decided = reviewer.post(f"/api/approvals/{invoice_id}", json={"decision": "approved", "comment": "checked"})
        assert decided.status_code == 202
        assert wait_for(lambda: status() == "exported")
        detail = clerk.get(f"/api/invoices/{invoice_id}").json()
        actions = [entry["action"] for entry in detail["audit_trail"]]
        assert actions.count("approval_received") == 1 and actions[-1] == "exported"
        assert detail["invoice"]["decisions"][-1]["by"] == approver
        report = clerk.get(f"/api/invoices/{invoice_id}/report")
        assert report.status_code == 200 and report.content.startswith(b"%PDF")
    finally:
        clerk.close()
        reviewer.close()
        server.should_exit = True
        thread.join(30)
        local.engine.close()
        set_services(None)
        get_settings.cache_clear()
    assert not thread.is_alive()
