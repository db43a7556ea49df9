"""Activities of the mailbox renewal orchestration (``orchestrators/mailbox_renewal.py``), run by
both hosts through ``shared.activities.ACTIVITIES``. Idempotent: renewing twice only pushes the
expiry further; a reconcile request is a queued hint, deduplicated and harmless when repeated."""

from __future__ import annotations

import logging
from typing import Any

from shared.domain import utcnow
from shared.mailboxes.connectors import build_connectors, push_subscribers
from shared.mailboxes.models import Provider
from shared.mailboxes.ports import PushSubscriber
from shared.mailboxes.service import MailboxService, get_mailbox_service, new_client_state
from shared.services import get_services

log = logging.getLogger(__name__)

_subscribers: dict[Provider, PushSubscriber] | None = None


def set_push_subscribers(subscribers: dict[Provider, PushSubscriber] | None) -> None:
    """Install the subscribers the activities use (a host with its own transports, a test)."""
    global _subscribers
    _subscribers = subscribers


def _subscriber(service: MailboxService, provider: Provider) -> PushSubscriber:
    global _subscribers
    if _subscribers is None:
        _subscribers = dict(push_subscribers(build_connectors(service.registry)))
    return _subscribers[provider]


def renew_subscription(payload: dict[str, Any]) -> dict[str, Any]:
    """Renew the folder's subscription, or create one when there is none (or it ran out)."""
    service = get_mailbox_service(get_services())
    mailbox = service.registry.get(payload["mailbox_id"])
    if mailbox is None:
        return {"status": "gone"}
    folder = str(payload["folder"])
    subscriber = _subscriber(service, mailbox.provider)
    now = utcnow()
    current = [s for s in service.registry.subscriptions_of(mailbox.id, folder) if s.expires_at > now]
    if current:
        old = current[-1]
        try:
            renewed = subscriber.renew(mailbox, old)
            renewed = renewed.model_copy(
                update={"folder": folder, "client_state": renewed.client_state or old.client_state}
            )
            service.registry.save_subscription(renewed)
            return {"status": "renewed", "subscription_id": renewed.id, "expires_at": renewed.expires_at.isoformat()}
        except Exception:  # forgotten by the provider (404) or refused: subscribe afresh below
            log.warning("renewal of subscription %s failed; subscribing again", old.id, exc_info=True)
    created = subscriber.subscribe(mailbox, folder, service.notification_url(mailbox.provider), new_client_state())
    created = created.model_copy(update={"folder": created.folder or folder})
    service.registry.save_subscription(created)
    for stale in service.registry.subscriptions_of(mailbox.id, folder):
        if stale.id != created.id:  # the one it replaces (expired, or refused renewal)
            service.registry.delete_subscription(stale.id)
    return {"status": "created", "subscription_id": created.id, "expires_at": created.expires_at.isoformat()}


def reconcile_mailbox(payload: dict[str, Any]) -> dict[str, Any]:
    """Queue a catch-up reconcile of the folder; the drain does the work (it holds the client)."""
    service = get_mailbox_service(get_services())
    if service.registry.get(payload["mailbox_id"]) is None:
        return {"queued": False}
    return {"queued": service.request_reconcile(payload["mailbox_id"], payload.get("folder"), reason="renewal")}


MAILBOX_ACTIVITIES = {fn.__name__: fn for fn in (renew_subscription, reconcile_mailbox)}

__all__ = ["MAILBOX_ACTIVITIES", "reconcile_mailbox", "renew_subscription", "set_push_subscribers"]
