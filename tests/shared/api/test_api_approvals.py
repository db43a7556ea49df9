from __future__ import annotations

import json
from datetime import datetime

from invoice_factory import RecordingOrchestration, approved_at_level, call, make_record

from orchestrators.invoice import APPROVAL_EVENT, instance_id_for
from shared.api.approvals import APPROVAL_RECEIVED, post_approval
from shared.domain import InvoiceStatus
from shared.services import Services

JSON = {"content-type": "application/json; charset=utf-8"}


def post(orchestration: RecordingOrchestration, invoice_id: str, payload: object,  # type: ignore[no-untyped-def]
         headers: dict[str, str] = JSON):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return call(post_approval, orchestration, "POST", path={"invoice_id": invoice_id}, body=raw,
                headers=headers)


def running_for(invoice_id: str) -> RecordingOrchestration:
    return RecordingOrchestration(running=[instance_id_for(invoice_id)])


def test_decision_is_raised_into_the_invoice_orchestration_and_audited(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    response = post(orchestration, record.id, {"decision": "approved", "by": " Jane Doe ", "comment": "ok"})

    assert response.status == 202
    assert json.loads(response.body) == {"invoice_id": record.id, "instance_id": f"invoice-{record.id}",
                                         "decision": "approved", "level": 1, "accepted": True}
    [(instance_id, event, data)] = orchestration.events
    assert (instance_id, event) == (instance_id_for(record.id), APPROVAL_EVENT)
    assert {k: data[k] for k in ("decision", "by", "comment")} == {"decision": "approved", "by": "Jane Doe",
                                                                   "comment": "ok"}
    assert datetime.fromisoformat(data["at"]).tzinfo is not None

    last = services.repo.audit_trail(record.id)[-1]
    assert (last.actor, last.action) == ("Jane Doe", APPROVAL_RECEIVED)
    assert last.detail == {"decision": "approved", "comment": "ok", "level": 1,
                           "expected_approver": "ap.clerk@example.com"}


def test_second_decision_for_the_same_level_is_409(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    assert post(orchestration, record.id, {"decision": "rejected", "by": "Jane"}).status == 202
    again = post(orchestration, record.id, {"decision": "approved", "by": "Jane"})
    assert again.status == 409
    assert "already received" in json.loads(again.body)["error"]
    assert len(orchestration.events) == 1


def test_second_level_opens_once_the_first_is_recorded(services: Services) -> None:
    record = make_record(services, approvers=["clerk@example.com", "cfo@example.com"],
                         decisions=[approved_at_level(1, "clerk@example.com")])
    orchestration = running_for(record.id)
    stale = post(orchestration, record.id, {"decision": "approved", "by": "clerk@example.com", "level": 1})
    assert stale.status == 409
    response = post(orchestration, record.id, {"decision": "approved", "by": "cfo@example.com", "level": 2})
    assert response.status == 202
    assert json.loads(response.body)["level"] == 2
    assert services.repo.audit_trail(record.id)[-1].detail["expected_approver"] == "cfo@example.com"


def test_invoice_not_awaiting_approval_is_409(services: Services) -> None:
    for status in (InvoiceStatus.EXPORTED, InvoiceStatus.PROCESSING, InvoiceStatus.REJECTED):
        record = make_record(services, number=f"N-{status.value}", status=status)
        orchestration = running_for(record.id)
        response = post(orchestration, record.id, {"decision": "approved", "by": "Jane"})
        assert response.status == 409
        assert f"invoice is {status.value}" in json.loads(response.body)["error"]
        assert orchestration.events == []


def test_orchestration_that_is_not_running_is_409(services: Services) -> None:
    record = make_record(services)
    missing = RecordingOrchestration()
    assert post(missing, record.id, {"decision": "approved", "by": "Jane"}).status == 409
    finished = RecordingOrchestration()
    finished.states[instance_id_for(record.id)] = "Completed"
    response = post(finished, record.id, {"decision": "approved", "by": "Jane"})
    assert response.status == 409
    assert "Completed" in json.loads(response.body)["error"]
    assert missing.events == finished.events == []
    assert all(e.action != APPROVAL_RECEIVED for e in services.repo.audit_trail(record.id))


def test_unknown_invoice_is_404(services: Services) -> None:
    response = post(RecordingOrchestration(), "f" * 64, {"decision": "approved", "by": "Jane"})
    assert response.status == 404


def test_malformed_decisions_are_400_with_a_reason(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    cases: list[tuple[object, str]] = [
        (b"{not json", "must be JSON"),
        (b"", "JSON object"),
        (["approved"], "JSON object"),
        ({"decision": "maybe", "by": "Jane"}, "decision"),
        ({"decision": "approved"}, "by"),
        ({"decision": "approved", "by": "   "}, "by"),
        ({"decision": "approved", "by": "Jane", "amount": 5}, "amount"),
        ({"decision": "approved", "by": "Jane", "level": 0}, "level"),
        (b"\xff\xfe", "must be JSON"),
    ]
    for payload, mentioned in cases:
        response = post(orchestration, record.id, payload)
        assert response.status == 400, payload
        assert mentioned in json.loads(response.body)["error"], payload
    assert orchestration.events == []


def test_only_json_is_accepted_so_cross_site_forms_cannot_decide(services: Services) -> None:
    record = make_record(services)
    orchestration = running_for(record.id)
    payload = {"decision": "approved", "by": "Mallory"}
    for headers in ({}, {"content-type": "text/plain"}, {"content-type": "application/x-www-form-urlencoded"}):
        response = post(orchestration, record.id, payload, headers=headers)
        assert response.status == 415
        assert "application/json" in json.loads(response.body)["error"]
    assert orchestration.events == []
