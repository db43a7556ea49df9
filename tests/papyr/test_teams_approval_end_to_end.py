"""Issue 6's done-when, on the embedded host: one invoice from mail to a Teams card (captured where
the Power Automate flow would receive it), approved through the real callback route with the card's
token as the flow posts it back, and exported; the same callback replayed, or with another
approver's token, changes nothing and is audited."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pdfplumber
import pytest
from starlette.testclient import TestClient

from papyr.host import LocalHost, build_local_host
from papyr.server import create_app
from shared.approvals.tokens import ActionTokens
from shared.domain import InvoiceStatus
from shared.intake.service import ingest_file, start_orchestrations
from shared.reports import render_approval_html
from shared.services import set_services
from shared.settings import get_settings
from tests.shared.approvals.card_schema import schema_errors

REPO = Path(__file__).resolve().parents[2]
MAIL = REPO / "samples" / "mailbox" / "02-zugferd-hybrid-pdf.eml"
FLOW_URL = "https://prod-12.westeurope.logic.azure.com/workflows/papyr/triggers/manual/paths/invoke?sig=x"
PUBLIC = "https://papyr.example.com"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHost]:
    monkeypatch.setenv("PAPYR_APPROVAL_FLOW_URL", FLOW_URL)
    monkeypatch.setenv("PAPYR_PUBLIC_BASE_URL", PUBLIC)
    get_settings.cache_clear()
    local = build_local_host(tmp_path / "data")
    try:
        yield local
    finally:
        local.engine.close()
        set_services(None)
        get_settings.cache_clear()


def test_mail_to_teams_card_to_callback_to_export(host: LocalHost) -> None:
    flow_posts: list[dict[str, object]] = []

    def power_automate(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == FLOW_URL
        flow_posts.append(json.loads(request.content))
        return httpx.Response(202)  # "When an HTTP request is received" answers 202 Accepted

    host.services.http_transport = httpx.MockTransport(power_automate)

    # Mail arrives; the engine runs the invoice until it waits for a person.
    result = ingest_file(MAIL.read_bytes(), str(MAIL), "ap@papyr.example", services=host.services)
    [ref] = result.documents
    asyncio.run(start_orchestrations(result.documents, host.client, host.settings))
    host.engine.run_until_idle()
    record = host.services.repo.get_invoice(ref.sha256)
    assert record is not None and record.status is InvoiceStatus.AWAITING_APPROVAL
    approver = record.route.approvers[0] if record.route else ""

    # The card reached the flow: valid Adaptive Card 1.5, with the approver's token in its data.
    [posted] = flow_posts
    assert (posted["invoice_id"], posted["level"], posted["approver"]) == (record.id, 1, approver)
    assert posted["callback_url"] == f"{PUBLIC}/api/approvals/{record.id}"
    card = posted["card"]
    assert schema_errors(card) == []
    approve = next(a for a in card["actions"] if a["title"] == "Approve")  # type: ignore[index, union-attr]
    data = approve["card"]["actions"][0]["data"]
    assert (data["invoice_id"], data["level"], data["decision"]) == (record.id, 1, "approved")

    # The flow posts the response back, as docs/power-automate/approval-flow.json does.
    app = create_app(host.services, host.client)
    with TestClient(app) as client:
        callback = str(posted["callback_url"]).removeprefix(PUBLIC)
        answer = {"decision": data["decision"], "token": data["token"], "by": approver,
                  "comment": "Checked against PO 4711"}
        accepted = client.post(callback, json=answer)
        assert accepted.status_code == 202, accepted.text
        host.engine.run_until_idle()

        record = host.services.repo.get_invoice(record.id)
        assert record is not None and record.status is InvoiceStatus.EXPORTED
        assert [(d.kind.value, d.by, d.comment) for d in record.decisions] == [
            ("approved", approver, "Checked against PO 4711")]
        assert record.export_paths and all(host.services.blobs.exists(p) for p in record.export_paths)
        trail_before = host.services.repo.audit_trail(record.id)

        # The same callback replayed, and another approver's token: refused, audited, nothing else.
        replay = client.post(callback, json=answer)
        assert replay.status_code == 409 and "already used" in replay.json()["error"]
        other = ActionTokens.from_settings(host.settings).mint(
            invoice_id=record.id, level=1, approver="cfo@example.com", valid_for=timedelta(days=1))
        stranger = client.post(callback, json={"decision": "approved", "token": other})
        assert stranger.status_code == 403
        anonymous = client.post(callback, json={"decision": "approved", "by": approver})
        assert anonymous.status_code == 401

    host.engine.run_until_idle()
    after = host.services.repo.get_invoice(record.id)
    assert after is not None and after.model_dump() == record.model_dump()
    trail = host.services.repo.audit_trail(record.id)
    assert trail[: len(trail_before)] == trail_before  # append-only
    assert [(e.actor, e.action, e.detail["status"]) for e in trail[len(trail_before):]] == [
        (approver, "approval_refused", 409), ("cfo@example.com", "approval_refused", 403),
        ("anonymous", "approval_refused", 401)]
    actions = [e.action for e in trail_before]
    for expected in ("received", "approval_requested", "approval_card_sent", "approval_received",
                     "decision_recorded", "report_rendered", "exported"):
        assert expected in actions, expected
    assert actions.index("approval_card_sent") < actions.index("approval_received") < actions.index("exported")

    # The approval report prints the decision and the trail (the stored PDF as of its rendering; a
    # report rendered now would show the refusals too).
    report = host.services.blobs.get(f"reports/{record.id}.pdf")
    with pdfplumber.open(io.BytesIO(report)) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    assert "Checked against PO 4711" in text and "AUDIT TRAIL" in text
    html = render_approval_html(after, trail)
    for action in ("approval card sent", "approval received", "decision recorded", "approval refused"):
        assert f"<td>{action}</td>" in html, action
