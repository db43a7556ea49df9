"""Notification POST bodies in the documented Graph shapes: accepted only with the right clientState."""

from __future__ import annotations

import json
from pathlib import Path

from shared.mailboxes.graph import parse_graph_notifications, validation_response

RECORDED = Path(__file__).parent / "recorded"
SUBSCRIPTION_ID = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"
CLIENT_STATE = "s3cr3t-client-state-0123456789"


def _known(subscription_id: str) -> str | None:
    return CLIENT_STATE if subscription_id == SUBSCRIPTION_ID else None


def _body(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def test_change_notification_with_matching_client_state_is_accepted() -> None:
    batch = parse_graph_notifications(_body("change_notification.json"), _known)

    assert batch.rejected == []
    [item] = batch.accepted
    assert item.subscription_id == SUBSCRIPTION_ID
    assert item.change_type == "created"
    assert item.lifecycle_event is None
    assert item.tenant_id == "84bd8158-6d4d-4958-8b9f-9d6445542f95"
    assert item.resource is not None and item.resource.startswith("Users/7a3e0f4c")
    assert item.message_id is not None and item.message_id.startswith("AAMkADAwATM0")
    assert "clientState" not in item.payload  # the secret is never persisted with the notification
    assert item.payload["changeType"] == "created"


def test_wrong_client_state_is_rejected() -> None:
    document = json.loads(_body("change_notification.json"))
    document["value"][0]["clientState"] = "s3cr3t-client-state-0123456788"

    batch = parse_graph_notifications(json.dumps(document).encode(), _known)

    assert batch.accepted == []
    assert [(r.index, r.subscription_id, r.reason) for r in batch.rejected] == [
        (0, SUBSCRIPTION_ID, "clientState mismatch")
    ]


def test_unknown_subscription_and_missing_state_are_rejected_item_by_item() -> None:
    document = json.loads(_body("change_notification.json"))
    good = document["value"][0]
    unknown = {**good, "subscriptionId": "00000000-0000-0000-0000-000000000000"}
    stateless = {key: value for key, value in good.items() if key != "clientState"}
    document["value"] = [unknown, good, stateless, "junk", {**good, "clientState": "x" * 129}]

    batch = parse_graph_notifications(json.dumps(document).encode(), _known)

    assert [item.subscription_id for item in batch.accepted] == [SUBSCRIPTION_ID]
    assert [(r.index, r.reason) for r in batch.rejected] == [
        (0, "unknown subscription"),
        (2, "missing clientState"),
        (3, "item is not an object"),
        (4, "clientState too long"),
    ]


def test_lifecycle_events_are_accepted_with_their_event() -> None:
    batch = parse_graph_notifications(_body("lifecycle_notifications.json"), _known)

    assert batch.rejected == []
    assert [item.lifecycle_event for item in batch.accepted] == [
        "reauthorizationRequired",
        "subscriptionRemoved",
        "missed",
    ]
    assert all(item.is_lifecycle and item.change_type is None for item in batch.accepted)


def test_unknown_lifecycle_event_is_rejected() -> None:
    document = json.loads(_body("lifecycle_notifications.json"))
    document["value"] = [{**document["value"][0], "lifecycleEvent": "somethingNew"}]

    batch = parse_graph_notifications(json.dumps(document).encode(), _known)

    assert batch.accepted == []
    assert batch.rejected[0].reason == "unknown lifecycleEvent 'somethingNew'"


def test_junk_bodies_are_rejected_without_raising() -> None:
    for body in (b"", b"not json", b"\xff\xfe\x00", b"[1, 2]", b'{"value": 3}', b"null", b"[" * 100_000):
        batch = parse_graph_notifications(body, _known)
        assert batch.accepted == []
        assert len(batch.rejected) == 1 and batch.rejected[0].index is None


def test_failing_lookup_rejects_instead_of_raising() -> None:
    def broken(subscription_id: str) -> str | None:
        raise RuntimeError("store down")

    batch = parse_graph_notifications(_body("change_notification.json"), broken)

    assert batch.accepted == []
    assert batch.rejected[0].reason == "subscription lookup failed: RuntimeError"


def test_validation_token_is_echoed_url_decoded() -> None:
    raw = "validationToken=Validation%3A+Testing+client+application+reachability+for+subscription+Request-Id%3A+abc"
    expected = "Validation: Testing client application reachability for subscription Request-Id: abc"

    assert validation_response(raw) == expected
    assert validation_response("?" + raw) == expected
    assert validation_response({"validationToken": expected}) == expected


def test_no_validation_token_means_no_handshake() -> None:
    assert validation_response(None) is None
    assert validation_response("") is None
    assert validation_response("validationToken=") is None
    assert validation_response({"other": "x"}) is None
    assert validation_response({"validationToken": "a" * 5000}) is None
