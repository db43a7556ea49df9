"""Validate Microsoft Graph change / lifecycle notification POSTs before anything is persisted.

Graph posts ``{"value": [...]}``; each item carries the ``clientState`` we set on the subscription.
An item is accepted only when that state matches, in constant time, the one stored for its
``subscriptionId``. Nothing here raises on hostile input: junk is rejected with a reason.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel, Field

MAX_CLIENT_STATE_CHARS = 128  # Graph's limit for clientState
MAX_VALIDATION_TOKEN_CHARS = 4096  # real tokens are ~100 chars; refuse to echo anything huge
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})


class AcceptedNotification(BaseModel):
    subscription_id: str
    tenant_id: str | None = None
    change_type: str | None = None  # created | updated | deleted (change notifications)
    lifecycle_event: str | None = None  # reauthorizationRequired | subscriptionRemoved | missed
    resource: str | None = None
    message_id: str | None = None  # resourceData.id when Graph tells
    subscription_expires: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, description="the item without its clientState")

    @property
    def is_lifecycle(self) -> bool:
        return self.lifecycle_event is not None


class RejectedNotification(BaseModel):
    index: int | None = None  # position in ``value``; None when the body itself was unreadable
    subscription_id: str | None = None
    reason: str


class GraphNotificationBatch(BaseModel):
    accepted: list[AcceptedNotification] = Field(default_factory=list)
    rejected: list[RejectedNotification] = Field(default_factory=list)


def validation_response(query: Mapping[str, str] | str | None) -> str | None:
    """The validation token Graph asks us to echo (text/plain, 200), or None when this is no handshake.

    ``query`` is either a mapping already URL-decoded by the web framework or the raw query string.
    """
    if query is None:
        return None
    if isinstance(query, str):
        values = parse_qs(query.lstrip("?"), keep_blank_values=True).get("validationToken") or []
        token = values[0] if values else None
    else:
        token = query.get("validationToken")
    if not token or len(token) > MAX_VALIDATION_TOKEN_CHARS:
        return None
    return token


def parse_graph_notifications(
    body: bytes, expected_client_state: Callable[[str], str | None]
) -> GraphNotificationBatch:
    """Split a notification POST body into accepted and rejected items.

    ``expected_client_state(subscription_id)`` returns the secret stored for that subscription, or None
    when the subscription is unknown (its items are rejected).
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return GraphNotificationBatch(rejected=[RejectedNotification(reason="body is not JSON")])
    items = document.get("value") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return GraphNotificationBatch(rejected=[RejectedNotification(reason="body has no 'value' list")])

    batch = GraphNotificationBatch()
    for index, item in enumerate(items):
        outcome = _check_item(index, item, expected_client_state)
        if isinstance(outcome, AcceptedNotification):
            batch.accepted.append(outcome)
        else:
            batch.rejected.append(outcome)
    return batch


def _check_item(
    index: int, item: object, expected_client_state: Callable[[str], str | None]
) -> AcceptedNotification | RejectedNotification:
    if not isinstance(item, dict):
        return RejectedNotification(index=index, reason="item is not an object")
    subscription_id = item.get("subscriptionId")
    if not isinstance(subscription_id, str) or not subscription_id:
        return RejectedNotification(index=index, reason="missing subscriptionId")
    client_state = item.get("clientState")
    if not isinstance(client_state, str) or not client_state:
        return RejectedNotification(index=index, subscription_id=subscription_id, reason="missing clientState")
    if len(client_state) > MAX_CLIENT_STATE_CHARS:
        return RejectedNotification(index=index, subscription_id=subscription_id, reason="clientState too long")
    try:
        expected = expected_client_state(subscription_id)
    except Exception as error:  # a failing lookup must not turn into an accepted item
        return RejectedNotification(
            index=index, subscription_id=subscription_id, reason=f"subscription lookup failed: {type(error).__name__}"
        )
    if expected is None:
        return RejectedNotification(index=index, subscription_id=subscription_id, reason="unknown subscription")
    if not hmac.compare_digest(client_state.encode("utf-8"), expected.encode("utf-8")):
        return RejectedNotification(index=index, subscription_id=subscription_id, reason="clientState mismatch")

    lifecycle_event = _text(item.get("lifecycleEvent"))
    change_type = _text(item.get("changeType"))
    if lifecycle_event is None and change_type is None:
        return RejectedNotification(
            index=index, subscription_id=subscription_id, reason="neither changeType nor lifecycleEvent"
        )
    if lifecycle_event is not None and lifecycle_event not in LIFECYCLE_EVENTS:
        return RejectedNotification(
            index=index, subscription_id=subscription_id, reason=f"unknown lifecycleEvent {lifecycle_event!r}"
        )
    resource_data = item.get("resourceData")
    message_id = _text(resource_data.get("id")) if isinstance(resource_data, dict) else None
    return AcceptedNotification(
        subscription_id=subscription_id,
        tenant_id=_text(item.get("tenantId")),
        change_type=change_type,
        lifecycle_event=lifecycle_event,
        resource=_text(item.get("resource")),
        message_id=message_id,
        subscription_expires=_text(item.get("subscriptionExpirationDateTime")),
        payload={key: value for key, value in item.items() if key != "clientState"},
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
