"""Card delivery through the HTTP seam: the Power Automate and Teams webhook shapes, throttling with
Retry-After, permanent failures recorded without failing the caller, and no URL = nothing sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from shared.approvals.card import CONTENT_TYPE
from shared.approvals.delivery import post_with_retry, send_approval_card
from shared.approvals.tokens import ActionTokens
from shared.domain import AuditEntry
from shared.services import Services, set_services
from tests.shared.api import invoice_factory as factory
from tests.shared.approvals.card_schema import schema_errors

FLOW_URL = "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=s3cret"
WEBHOOK_URL = "https://example.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi"
Handler = Callable[[httpx.Request], httpx.Response]


class Endpoint:
    """Records what was posted and answers with the next scripted response (the last one repeats)."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.requests: list[httpx.Request] = []
        self._responses = list(responses) or [httpx.Response(202)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._responses.pop(0) if len(self._responses) > 1 else self._responses[0]

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def make(tmp_path: Path):  # type: ignore[no-untyped-def]
    built: list[Services] = []

    def build(endpoint: Endpoint, **settings: object) -> Services:
        services: Services = factory.make_services(tmp_path / f"papyr{len(built)}", **settings)
        services.http_transport = httpx.MockTransport(endpoint)
        set_services(services)
        built.append(services)
        return services

    yield build
    set_services(None)


def actions(services: Services, invoice_id: str) -> list[AuditEntry]:
    return [e for e in services.repo.audit_trail(invoice_id)
            if e.action.startswith("approval_") or e.action in ("reminder_sent", "escalated")]


def test_power_automate_gets_the_card_whom_to_ask_and_where_to_answer(make) -> None:  # type: ignore[no-untyped-def]
    endpoint = Endpoint(httpx.Response(202))
    services = make(endpoint, approval_flow_url=FLOW_URL, public_base_url="https://papyr.example.com")
    record = factory.make_record(services, findings=[factory.bank_change_finding()])

    result = send_approval_card(services, record, 1, "ap.clerk@example.com")

    assert (result.status, result.channel, result.attempts) == ("sent", "power_automate", 1)
    [request] = endpoint.requests
    assert str(request.url) == FLOW_URL and request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    [body] = endpoint.bodies()
    assert {k: body[k] for k in ("kind", "reason", "invoice_id", "level", "approver", "callback_url")} == {
        "kind": "papyr.approval_request", "reason": "request", "invoice_id": record.id, "level": 1,
        "approver": "ap.clerk@example.com", "callback_url": f"https://papyr.example.com/api/approvals/{record.id}"}
    assert body["summary"] == {"vendor": "Lieferant GmbH", "invoice_number": "INV-2024-001", "amount": "1190.00",
                               "currency": "EUR", "due_date": None, "risk_score": 0.4, "findings": 1}
    card = body["card"]
    assert schema_errors(card) == []
    submit = card["actions"][0]["card"]["actions"][0]  # type: ignore[index]
    claims = ActionTokens.from_settings(services.settings).verify(submit["data"]["token"])
    assert (claims.invoice_id, claims.level, claims.approver) == (record.id, 1, "ap.clerk@example.com")
    assert claims.expires_at - claims.issued_at == int(services.settings.expire_after_hours * 3600)
    [sent] = actions(services, record.id)
    assert (sent.action, sent.detail["channel"], sent.detail["reason"]) == ("approval_card_sent", "power_automate",
                                                                            "request")


def test_teams_webhook_gets_a_message_with_a_channel_card(make) -> None:  # type: ignore[no-untyped-def]
    endpoint = Endpoint(httpx.Response(200, text="1"))
    services = make(endpoint, teams_webhook_url=WEBHOOK_URL)
    record = factory.make_record(services)

    result = send_approval_card(services, record, 1, "ap.clerk@example.com", reason="reminder")

    assert (result.status, result.channel) == ("sent", "teams_webhook")
    [body] = endpoint.bodies()
    assert body["type"] == "message"
    [attachment] = body["attachments"]  # type: ignore[misc]
    assert (attachment["contentType"], attachment["contentUrl"]) == (CONTENT_TYPE, None)
    card = attachment["content"]
    assert schema_errors(card) == []
    assert card["body"][0]["text"].startswith("Reminder: approval still needed")
    assert {a["type"] for a in card["actions"]} == {"Action.OpenUrl"}  # no Action.Submit in webhook cards
    assert "pat1." not in json.dumps(body)  # a channel card carries no token


def test_the_flow_wins_when_both_urls_are_set(make) -> None:  # type: ignore[no-untyped-def]
    endpoint = Endpoint()
    services = make(endpoint, approval_flow_url=FLOW_URL, teams_webhook_url=WEBHOOK_URL)
    send_approval_card(services, factory.make_record(services), 1, "ap.clerk@example.com")
    assert [str(r.url) for r in endpoint.requests] == [FLOW_URL]


def test_throttling_honours_retry_after_then_succeeds() -> None:
    endpoint = Endpoint(httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(503),
                        httpx.Response(202))
    slept: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(endpoint)) as client:
        result = post_with_retry(client, FLOW_URL, {"x": 1}, channel="power_automate", attempts=4, sleep=slept.append)
    assert (result.status, result.attempts) == ("sent", 3)
    assert slept == [7.0, 2.0]  # Retry-After, then exponential backoff


def test_connector_throttling_reported_in_a_200_body_is_retried() -> None:
    throttled = httpx.Response(200, text="Microsoft Teams endpoint returned HTTP error 429 with ContextId ...")
    endpoint = Endpoint(throttled, httpx.Response(200, text="1"))
    slept: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(endpoint)) as client:
        result = post_with_retry(client, WEBHOOK_URL, {}, channel="teams_webhook", attempts=3, sleep=slept.append)
    assert (result.status, result.attempts, slept) == ("sent", 2, [1.0])


def test_permanent_failure_is_recorded_and_does_not_raise(make) -> None:  # type: ignore[no-untyped-def]
    endpoint = Endpoint(httpx.Response(404, json={"error": {"code": "WorkflowNotFound"}}))
    services = make(endpoint, approval_flow_url=FLOW_URL)
    record = factory.make_record(services)

    result = send_approval_card(services, record, 1, "ap.clerk@example.com", reason="escalation")

    assert (result.status, result.attempts, result.http_status) == ("failed", 1, 404)  # no retry on a 404
    [failed] = actions(services, record.id)
    assert failed.action == "approval_request_failed"
    assert failed.detail["http_status"] == 404 and "WorkflowNotFound" in failed.detail["error"]
    assert (failed.detail["reason"], failed.detail["level"], failed.detail["approver"]) == (
        "escalation", 1, "ap.clerk@example.com")


def test_retries_run_out_on_a_flow_that_stays_down(make) -> None:  # type: ignore[no-untyped-def]
    endpoint = Endpoint(httpx.Response(502))
    services = make(endpoint, approval_flow_url=FLOW_URL, approval_delivery_attempts=2)
    record = factory.make_record(services)
    result = send_approval_card(services, record, 1, "ap.clerk@example.com")
    assert (result.status, result.attempts, len(endpoint.requests)) == ("failed", 2, 2)
    assert actions(services, record.id)[-1].detail["http_status"] == 502


def test_network_errors_are_retried_then_recorded() -> None:
    calls: list[int] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("connection refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        result = post_with_retry(client, FLOW_URL, {}, channel="power_automate", attempts=3, sleep=lambda s: None)
    assert (result.status, len(calls), result.http_status) == ("failed", 3, None)
    assert "ConnectError" in (result.error or "")


def test_placeholder_url_fails_at_once_with_a_clear_error(make) -> None:  # type: ignore[no-untyped-def]
    endpoint = Endpoint()
    services = make(endpoint, approval_flow_url="set-me")  # Terraform's placeholder secret
    record = factory.make_record(services)
    result = send_approval_card(services, record, 1, "ap.clerk@example.com")
    assert (result.status, result.attempts, endpoint.requests) == ("failed", 0, [])
    assert "not a usable URL" in actions(services, record.id)[-1].detail["error"]


def test_no_url_sends_nothing_and_says_why(make) -> None:  # type: ignore[no-untyped-def]
    endpoint = Endpoint()
    services = make(endpoint)
    record = factory.make_record(services)
    assert send_approval_card(services, record, 1, "ap.clerk@example.com").status == "not_sent"
    assert endpoint.requests == []
    [entry] = actions(services, record.id)
    assert entry.action == "approval_card_not_sent"
    assert "PAPYR_APPROVAL_FLOW_URL" in entry.detail["why"] and "dashboard" in entry.detail["why"]


def test_activities_send_request_reminder_and_escalation_cards(make) -> None:  # type: ignore[no-untyped-def]
    from shared.activities import escalate_approval, request_approval, send_reminder

    endpoint = Endpoint()
    services = make(endpoint, approval_flow_url=FLOW_URL)
    record = factory.make_record(services)
    ref = {"invoice_id": record.id, "approver": "ap.clerk@example.com", "level": 1}
    for activity in (request_approval, send_reminder, escalate_approval):
        activity(ref)
    assert [b["reason"] for b in endpoint.bodies()] == ["request", "reminder", "escalation"]
    titles = [b["card"]["body"][0]["text"].split(":")[0] for b in endpoint.bodies()]  # type: ignore[index]
    assert titles == ["Approval needed", "Reminder", "Escalated"]
    assert [e.action for e in actions(services, record.id)] == [
        "approval_requested", "approval_card_sent", "reminder_sent", "approval_card_sent",
        "escalated", "approval_card_sent"]


def test_the_shipped_flow_accepts_what_papyr_posts_and_answers_what_the_callback_takes(make) -> None:  # type: ignore[no-untyped-def]
    from jsonschema import Draft7Validator

    from shared.api.approvals import ApprovalRequest

    flow = json.loads((Path(__file__).resolve().parents[3] / "docs" / "power-automate" / "approval-flow.json")
                      .read_text(encoding="utf-8"))
    endpoint = Endpoint()
    services = make(endpoint, approval_flow_url=FLOW_URL)
    send_approval_card(services, factory.make_record(services, findings=[factory.bank_change_finding()]), 1,
                       "ap.clerk@example.com")
    trigger_schema = flow["triggers"]["When_Papyr_requests_an_approval"]["inputs"]["schema"]
    assert list(Draft7Validator(trigger_schema).iter_errors(endpoint.bodies()[0])) == []
    answer = flow["actions"]["Send_the_answer_to_Papyr"]["inputs"]
    assert answer["uri"] == "@triggerBody()?['callback_url']"
    assert set(answer["body"]) <= set(ApprovalRequest.model_fields)
    assert "comment_" in answer["body"]["comment"]  # the comment box of the chosen decision
