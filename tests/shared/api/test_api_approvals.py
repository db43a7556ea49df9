from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from invoice_factory import RecordingOrchestration, approved_at_level, call, make_record, make_services

from orchestrators.invoice import APPROVAL_EVENT, instance_id_for
from shared.api.approvals import APPROVAL_RECEIVED, APPROVAL_REFUSED, QUESTION_ASKED, post_approval
from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.approvals.tokens import ActionTokens, Decision, token_use
from shared.auth import AuthMethod, Principal, Role
from shared.domain import AuditEntry, Correction, InvoiceRecord, InvoiceStatus
from shared.services import Services, set_services
from tests.shared.approvals.entra_keys import AUDIENCE, TENANT, FakeTenant

JSON = {"content-type": "application/json; charset=utf-8"}
CLERK = "ap.clerk@example.com"


def token_for(services: Services, record: InvoiceRecord, approver: str = CLERK, *, level: int = 1,
              scope: tuple[Decision, ...] = ("approved", "rejected", "question"),
              valid_for: timedelta = timedelta(days=14), now: datetime | None = None) -> str:
    return ActionTokens.from_settings(services.settings).mint(
        invoice_id=record.id, level=level, approver=approver, valid_for=valid_for, scope=scope, now=now)


def post(orchestration: RecordingOrchestration, invoice_id: str, payload: object,
         headers: dict[str, str] = JSON) -> ApiResponse:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return call(post_approval, orchestration, "POST", path={"invoice_id": invoice_id}, body=raw, headers=headers)


def post_as(orchestration: RecordingOrchestration, invoice_id: str, payload: dict[str, Any],
            principal: Principal | None = None, headers: dict[str, str] | None = None) -> ApiResponse:
    request = ApiRequest(method="POST", path_params={"invoice_id": invoice_id}, headers={**JSON, **(headers or {})},
                         body=json.dumps(payload).encode(), principal=principal)
    return asyncio.run(post_approval(request, ApiContext(orchestration=orchestration)))


def running_for(invoice_id: str) -> RecordingOrchestration:
    return RecordingOrchestration(running=[instance_id_for(invoice_id)])


def refusals(services: Services, invoice_id: str) -> list[AuditEntry]:
    return [e for e in services.repo.audit_trail(invoice_id) if e.action == APPROVAL_REFUSED]


def error(response: ApiResponse) -> str:
    return str(json.loads(response.body)["error"])


def test_a_token_decision_is_raised_into_the_orchestration_and_audited(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    token = token_for(services, record)
    response = post(orchestration, record.id, {"decision": "approved", "comment": "ok", "token": token})

    assert response.status == 202
    assert json.loads(response.body) == {"invoice_id": record.id, "instance_id": f"invoice-{record.id}",
                                         "decision": "approved", "level": 1, "by": CLERK, "accepted": True}
    [(instance_id, event, data)] = orchestration.events
    assert (instance_id, event) == (instance_id_for(record.id), APPROVAL_EVENT)
    assert {k: data[k] for k in ("decision", "by", "comment", "level")} == {
        "decision": "approved", "by": CLERK, "comment": "ok", "level": 1}
    assert datetime.fromisoformat(data["at"]).tzinfo is not None
    last = services.repo.audit_trail(record.id)[-1]
    assert (last.actor, last.action) == (CLERK, APPROVAL_RECEIVED)
    claims = ActionTokens.from_settings(services.settings).verify(token)
    assert last.detail == {"decision": "approved", "comment": "ok", "level": 1, "expected_approver": CLERK,
                           "method": "action_token", "token_id": claims.token_id}
    assert token_use(services.repo, claims) is not None  # claimed: single use


def test_without_a_valid_credential_it_is_401_audited_and_nothing_changes(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    tokens_expired = token_for(services, record, valid_for=timedelta(hours=1),
                               now=datetime.now(UTC) - timedelta(hours=2))
    cases: list[tuple[dict[str, Any], dict[str, str], str]] = [
        ({"decision": "approved", "by": CLERK}, {}, "no credential"),  # 'by' alone proves nothing
        ({"decision": "approved", "token": "pat1.forged.token"}, {}, "malformed action token"),
        ({"decision": "approved", "token": tokens_expired}, {}, "expired"),
        ({"decision": "approved"}, {"authorization": "Basic dXNlcjpwdw=="}, "not a bearer token"),
        ({"decision": "approved"}, {"authorization": "Bearer abc"}, "not accepted"),  # Entra not configured
    ]
    for payload, headers, reason in cases:
        response = post_as(orchestration, record.id, payload, headers=headers)
        assert response.status == 401, payload
        assert reason in error(response)
    assert orchestration.events == []
    trail = refusals(services, record.id)
    assert [(e.actor, e.detail["status"]) for e in trail] == [("anonymous", 401)] * len(cases)
    assert "expired" in trail[2].detail["reason"]
    stored = services.repo.get_invoice(record.id)
    assert stored is not None and stored.status is InvoiceStatus.AWAITING_APPROVAL and stored.decisions == []


def test_valid_credential_but_not_allowed_is_403_audited_and_nothing_changes(services: Services) -> None:
    record = make_record(services)
    other = make_record(services, number="OTHER-1")
    orchestration = running_for(record.id)
    cases = [
        (token_for(services, record, "cfo@example.com"), {}, "cfo@example.com is not the approver of level 1"),
        (token_for(services, other), {}, "another invoice"),
        (token_for(services, record, scope=("question",)), {}, "does not allow the decision 'approved'"),
        (token_for(services, record), {"by": "Mallory"}, "'by' names 'Mallory'"),
    ]
    for token, extra, reason in cases:
        response = post(orchestration, record.id, {"decision": "approved", "token": token, **extra})
        assert response.status == 403, reason
        assert reason in error(response)
    assert orchestration.events == []
    assert [(e.actor, e.detail["status"]) for e in refusals(services, record.id)] == [
        ("cfo@example.com", 403), (CLERK, 403), (CLERK, 403), (CLERK, 403)]
    # The refused token for the right approver was not used up.
    accepted = post(orchestration, record.id, {"decision": "approved", "token": cases[3][0],
                                               "by": "AP.Clerk@example.com"})
    assert accepted.status == 202


def test_four_eyes_who_uploaded_or_corrected_may_not_approve(services: Services) -> None:
    uploaded = make_record(services, audit=[AuditEntry(actor=CLERK, action="uploaded", detail={})])
    corrected = make_record(services, number="C-1")
    corrected.corrections = [Correction(field="iban", old_value="DE1", new_value="DE2", by="AP.Clerk@example.com")]
    services.repo.save_invoice(corrected)
    for record, reason in ((uploaded, "uploaded this invoice"), (corrected, "corrected a field of this invoice")):
        orchestration = running_for(record.id)
        response = post(orchestration, record.id, {"decision": "approved", "token": token_for(services, record)})
        assert response.status == 403
        assert f"four-eyes rule: {CLERK} {reason}" == error(response)
        assert orchestration.events == []
        assert refusals(services, record.id)[-1].detail["status"] == 403


def test_the_same_decision_redelivered_is_idempotent_and_a_replay_after_it_is_recorded_is_409(
        services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    token = token_for(services, record)
    first = post(orchestration, record.id, {"decision": "rejected", "token": token})
    again = post(orchestration, record.id, {"decision": "rejected", "token": token})  # a retried HTTP call
    assert (first.status, again.status) == (202, 202)
    assert again.body == first.body
    assert len(orchestration.events) == 1

    changed_mind = post(orchestration, record.id, {"decision": "approved", "token": token})
    assert changed_mind.status == 409 and "already used" in error(changed_mind)
    second_card = post(orchestration, record.id, {"decision": "approved", "token": token_for(services, record)})
    assert second_card.status == 409 and "already received" in error(second_card)

    # The orchestration records the rejection; the same callback replayed changes nothing.
    record.decisions = [approved_at_level(1)]
    record.decisions[0].kind = record.decisions[0].kind.REJECTED
    record.status = InvoiceStatus.DECLINED
    services.repo.save_invoice(record)
    replay = post(orchestration, record.id, {"decision": "rejected", "token": token})
    assert replay.status == 409 and "already used" in error(replay)
    assert len(orchestration.events) == 1
    assert [e.detail["status"] for e in refusals(services, record.id)] == [409, 409, 409]


def test_a_question_is_audited_and_leaves_the_level_open(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    token = token_for(services, record)
    asked = post(orchestration, record.id, {"decision": "question", "comment": "Is the PO attached?", "token": token})
    assert asked.status == 200
    assert json.loads(asked.body) == {"invoice_id": record.id, "decision": "question", "level": 1, "by": CLERK,
                                      "accepted": True}
    assert post(orchestration, record.id, {"decision": "question", "comment": "Is the PO attached?",
                                           "token": token}).status == 200  # asked twice, recorded once
    assert post(orchestration, record.id, {"decision": "question", "token": token}).status == 400
    questions = [e for e in services.repo.audit_trail(record.id) if e.action == QUESTION_ASKED]
    assert [(e.actor, e.detail["comment"], e.detail["level"]) for e in questions] == [
        (CLERK, "Is the PO attached?", 1)]
    assert orchestration.events == []
    assert post(orchestration, record.id, {"decision": "approved", "token": token}).status == 202  # same card


def test_second_level_opens_once_the_first_is_recorded(services: Services) -> None:
    record = make_record(services, approvers=["clerk@example.com", "cfo@example.com"],
                         decisions=[approved_at_level(1, "clerk@example.com")])
    orchestration = running_for(record.id)
    stale = post(orchestration, record.id, {"decision": "approved", "level": 1,
                                            "token": token_for(services, record, "clerk@example.com")})
    assert stale.status == 409 and "level 1 is not open" in error(stale)
    early = post(orchestration, record.id, {"decision": "approved",
                                            "token": token_for(services, record, "clerk@example.com", level=1)})
    assert early.status == 409 and "answers level 1; level 2 is open" in error(early)
    response = post(orchestration, record.id, {"decision": "approved", "level": 2,
                                               "token": token_for(services, record, "cfo@example.com", level=2)})
    assert response.status == 202
    assert json.loads(response.body)["level"] == 2
    assert services.repo.audit_trail(record.id)[-1].detail["expected_approver"] == "cfo@example.com"


def test_invoice_not_awaiting_approval_is_409(services: Services) -> None:
    for status in (InvoiceStatus.EXPORTED, InvoiceStatus.PROCESSING, InvoiceStatus.REJECTED):
        record = make_record(services, number=f"N-{status.value}", status=status)
        orchestration = running_for(record.id)
        response = post(orchestration, record.id, {"decision": "approved", "token": token_for(services, record)})
        assert response.status == 409
        assert f"invoice is {status.value}" in error(response)
        assert orchestration.events == []


def test_orchestration_that_is_not_running_is_409_and_keeps_the_token(services: Services) -> None:
    record = make_record(services)
    token = token_for(services, record)
    missing = RecordingOrchestration()
    assert post(missing, record.id, {"decision": "approved", "token": token}).status == 409
    finished = RecordingOrchestration()
    finished.states[instance_id_for(record.id)] = "Completed"
    response = post(finished, record.id, {"decision": "approved", "token": token})
    assert response.status == 409 and "Completed" in error(response)
    assert missing.events == finished.events == []
    assert all(e.action != APPROVAL_RECEIVED for e in services.repo.audit_trail(record.id))
    assert post(running_for(record.id), record.id, {"decision": "approved", "token": token}).status == 202


def test_an_undelivered_event_releases_the_token_for_a_retry(services: Services) -> None:
    class Down(RecordingOrchestration):
        async def raise_event(self, instance_id: str, event: str, data: Any) -> None:
            raise ConnectionError("task hub unavailable")

    record = make_record(services)
    token = token_for(services, record)
    with pytest.raises(ConnectionError):
        post(Down(running=[instance_id_for(record.id)]), record.id, {"decision": "approved", "token": token})
    assert post(running_for(record.id), record.id, {"decision": "approved", "token": token}).status == 202


def test_a_signed_in_principal_decides_as_themselves(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    clerk = Principal(id="AP.Clerk@example.com", name="Alex Clerk", roles=frozenset({Role.APPROVER}),
                      method=AuthMethod.PASSWORD)
    admin = Principal(id="root@example.com", roles=frozenset({Role.ADMIN}), method=AuthMethod.PASSWORD)
    refused = post_as(orchestration, record.id, {"decision": "approved"}, principal=admin)
    assert refused.status == 403 and "root@example.com is not the approver" in error(refused)
    accepted = post_as(orchestration, record.id, {"decision": "approved", "by": "Alex Clerk"}, principal=clerk)
    assert accepted.status == 202
    assert orchestration.events[0][2]["by"] == CLERK
    assert services.repo.audit_trail(record.id)[-1].detail["method"] == "password"


def test_an_entra_bearer_token_names_the_approver(tmp_path: Path) -> None:
    tenant = FakeTenant()
    services = make_services(tmp_path / "entra", entra_tenant_id=TENANT, entra_audience=AUDIENCE)
    services.http_transport = tenant.transport()
    set_services(services)
    try:
        record = make_record(services)
        orchestration = running_for(record.id)
        wrong = post_as(orchestration, record.id, {"decision": "approved"},
                        headers={"authorization": f"Bearer {tenant.token(aud='api://other')}"})
        assert wrong.status == 401 and "Audience" in error(wrong)
        other_user = post_as(orchestration, record.id, {"decision": "approved"},
                             headers={"authorization": f"Bearer {tenant.token(preferred_username='eve@example.com')}"})
        assert other_user.status == 403
        accepted = post_as(orchestration, record.id, {"decision": "approved"},
                           headers={"authorization": f"Bearer {tenant.token()}"})
        assert accepted.status == 202
        assert orchestration.events[0][2]["by"] == CLERK
        assert [(e.actor, e.detail["status"]) for e in refusals(services, record.id)] == [
            ("anonymous", 401), ("eve@example.com", 403)]
    finally:
        set_services(None)


def test_unknown_invoice_is_404(services: Services) -> None:
    response = post(RecordingOrchestration(), "f" * 64, {"decision": "approved", "token": "x"})
    assert response.status == 404


def test_malformed_decisions_are_400_with_a_reason(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    cases: list[tuple[object, str]] = [
        (b"{not json", "must be JSON"),
        (b"", "JSON object"),
        (["approved"], "JSON object"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "approved", "by": "   "}, "by"),
        ({"decision": "approved", "token": ""}, "token"),
        ({"decision": "approved", "token": "x" * 5000}, "token"),
        ({"decision": "approved", "amount": 5}, "amount"),
        ({"decision": "approved", "level": 0}, "level"),
        ({"decision": "question"}, "a question needs"),
        (b"\xff\xfe", "must be JSON"),
    ]
    for payload, mentioned in cases:
        response = post(orchestration, record.id, payload)
        assert response.status == 400, payload
        assert mentioned in error(response), payload
    assert orchestration.events == []


def test_only_json_is_accepted_so_cross_site_forms_cannot_decide(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    payload = {"decision": "approved", "token": token_for(services, record)}
    for headers in ({}, {"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}):
        response = post(orchestration, record.id, payload, headers=headers)
        assert response.status == 415
        assert "application/json" in error(response)
    assert orchestration.events == []


def test_http_transport_seam_is_only_used_for_entra_keys(services: Services) -> None:
    """The callback on a token makes no outbound call at all."""
    calls: list[httpx.Request] = []
    services.http_transport = httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(500))  # type: ignore[func-returns-value]
    record = make_record(services)
    assert post(running_for(record.id), record.id, {"decision": "approved",
                                                     "token": token_for(services, record)}).status == 202
    assert calls == []
