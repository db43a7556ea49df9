"""Deliver the approval card: to a Power Automate flow, else a Teams incoming webhook, else nowhere.

Every outcome lands in the audit trail — ``approval_card_sent``, ``approval_card_not_sent`` (no URL
configured) or ``approval_request_failed`` — and none raises: a card that cannot be delivered must
not fail the orchestration, the invoice still waits in the dashboard.

Throttling (429) and server errors (5xx) are retried with exponential backoff, honouring
Retry-After; the Teams connector also reports throttling as a 200 whose body says "HTTP error 429".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import httpx

from shared.approvals.card import CONTENT_TYPE, CardLinks, Reason, build_approval_card
from shared.approvals.tokens import ActionTokens
from shared.domain import AuditEntry, InvoiceRecord
from shared.mailboxes.graph.errors import parse_retry_after
from shared.routing import current_policy
from shared.services import Services

log = logging.getLogger(__name__)
ACTOR = "papyr"
Channel = Literal["power_automate", "teams_webhook"]
MAX_BACKOFF_S = 30.0
MAX_ERROR_CHARS = 300
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_CONNECTOR_THROTTLED = "HTTP error 429"


@dataclass(frozen=True)
class DeliveryResult:
    status: Literal["sent", "not_sent", "failed"]
    channel: Channel | None = None
    attempts: int = 0
    http_status: int | None = None
    error: str | None = None


class DeliveryError(Exception):
    def __init__(self, message: str, *, http_status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.retry_after = retry_after


def send_approval_card(services: Services, record: InvoiceRecord, level: int, approver: str,
                       reason: Reason = "request") -> DeliveryResult:
    """Build the card for ``approver`` at ``level`` and post it; audit what happened."""
    settings = services.settings
    detail: dict[str, Any] = {"level": level, "approver": approver, "reason": reason}
    target = _target(services)
    if target is None:
        result = DeliveryResult(status="not_sent")
        _audit(services, record, "approval_card_not_sent", **detail,
               why="no PAPYR_APPROVAL_FLOW_URL or PAPYR_TEAMS_WEBHOOK_URL is set; decide in the dashboard")
        return result
    channel, url = target
    links = CardLinks.for_invoice(settings.public_base_url, record.id)
    token = None
    if channel == "power_automate":  # a personal card: it carries the approver's action token
        token = ActionTokens.from_settings(settings).mint(
            invoice_id=record.id, level=level, approver=approver,
            valid_for=timedelta(hours=current_policy(settings).timings.expire_after_hours))
    card = build_approval_card(record, level=level, approver=approver, links=links, token=token, reason=reason,
                               actions="submit" if token else "open_url")
    payload = (_flow_payload(record, level, approver, reason, card, settings.public_base_url)
               if channel == "power_automate" else _webhook_payload(card))
    with services.http_client(settings.approval_delivery_timeout_s) as client:
        result = post_with_retry(client, url, payload, channel=channel, attempts=settings.approval_delivery_attempts)
    if result.status == "sent":
        _audit(services, record, "approval_card_sent", **detail, channel=channel, attempts=result.attempts)
    else:
        log.warning("approval card for %s level %s not delivered: %s", record.id, level, result.error)
        _audit(services, record, "approval_request_failed", **detail, channel=channel, attempts=result.attempts,
               http_status=result.http_status, error=result.error)
    return result


def post_with_retry(client: httpx.Client, url: str, payload: dict[str, Any], *, channel: Channel, attempts: int,
                    sleep: Callable[[float], None] = time.sleep) -> DeliveryResult:
    unusable = _unusable(url)
    if unusable:
        return DeliveryResult(status="failed", channel=channel, error=unusable)
    last = DeliveryError("no attempt made")
    attempt = 0
    for attempt in range(1, attempts + 1):
        try:
            status = _post_once(client, url, payload)
            return DeliveryResult(status="sent", channel=channel, attempts=attempt, http_status=status)
        except DeliveryError as error:
            last = error
            if error.http_status is not None and error.http_status not in _RETRY_STATUSES:
                break  # 400 / 401 / 403 / 404: a wrong URL or payload does not heal by waiting
            if attempt < attempts:
                backoff = min(2.0 ** (attempt - 1), MAX_BACKOFF_S)
                sleep(min(error.retry_after, MAX_BACKOFF_S) if error.retry_after is not None else backoff)
    return DeliveryResult(status="failed", channel=channel, attempts=attempt, http_status=last.http_status,
                          error=str(last))


def _post_once(client: httpx.Client, url: str, payload: dict[str, Any]) -> int:
    try:
        response = client.post(url, json=payload)
    except httpx.HTTPError as error:  # timeouts, refused connections: worth another try
        raise DeliveryError(f"{type(error).__name__}: {error}") from None
    text = response.text[:MAX_ERROR_CHARS]
    if response.status_code == 200 and _CONNECTOR_THROTTLED in response.text:
        raise DeliveryError(f"throttled: {text}", http_status=429)
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}: {text}", http_status=response.status_code,
                            retry_after=parse_retry_after(response.headers.get("retry-after")))
    return response.status_code


def _unusable(url: str) -> str | None:
    """Why ``url`` cannot be posted to (the "set-me" placeholder, a typo), or None."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        return f"not a usable URL: {error}"
    if parsed.scheme not in ("https", "http") or not parsed.host:
        return "not a usable URL: expected https://..."
    return None


def _target(services: Services) -> tuple[Channel, str] | None:
    settings = services.settings
    if settings.approval_flow_url is not None and settings.approval_flow_url.get_secret_value().strip():
        return "power_automate", settings.approval_flow_url.get_secret_value().strip()
    if settings.teams_webhook_url is not None and settings.teams_webhook_url.get_secret_value().strip():
        return "teams_webhook", settings.teams_webhook_url.get_secret_value().strip()
    return None


def _webhook_payload(card: dict[str, Any]) -> dict[str, Any]:
    """The message shape Teams incoming webhooks and Workflows' webhook trigger accept."""
    return {"type": "message",
            "attachments": [{"contentType": CONTENT_TYPE, "contentUrl": None, "content": card}]}


def _flow_payload(record: InvoiceRecord, level: int, approver: str, reason: Reason, card: dict[str, Any],
                  public_base_url: str) -> dict[str, Any]:
    """What the Power Automate flow's HTTP trigger receives (its JSON schema is in
    docs/power-automate/approval-flow.json): whom to ask, the card, and where to answer."""
    total = record.total
    return {
        "kind": "papyr.approval_request",
        "reason": reason,
        "invoice_id": record.id,
        "level": level,
        "approver": approver,
        "callback_url": f"{public_base_url.rstrip('/')}/api/approvals/{record.id}",
        "summary": {
            "vendor": record.vendor,
            "invoice_number": record.extraction.value("invoice_number") if record.extraction else None,
            "amount": str(total.amount) if total else None,
            "currency": total.currency if total else None,
            "due_date": record.extraction.value("due_date") if record.extraction else None,
            "risk_score": round(record.risk_score, 2),
            "findings": len(record.findings),
        },
        "card": card,
    }


def _audit(services: Services, record: InvoiceRecord, action: str, **detail: Any) -> None:
    services.repo.append_audit(record.id, AuditEntry(actor=ACTOR, action=action, detail=detail))
