"""The real connectors behind the service, one per mailbox (each has its own credentials), built on
first use from the mailbox's config and its sealed secrets in the registry.

Secret names (``papyr mailbox add`` writes them): Outlook ``client_secret`` (app-only, with
config ``tenant_id`` / ``client_id``); Gmail ``credentials`` (a service-account JSON, with config
``subject``) or ``refresh_token`` + ``client_secret`` (with config ``client_id``); IMAP ``password``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from shared.mailboxes.models import ChangeBatch, Mailbox, MessageRef, Provider, Subscription
from shared.mailboxes.registry import MailboxRegistry


class MissingSecret(LookupError):
    pass


class PerMailboxConnector:
    """``MailConnector`` and ``PushSubscriber`` for one provider, dispatching each call to the
    mailbox's own connector."""

    def __init__(self, provider: Provider, registry: MailboxRegistry) -> None:
        self.provider = provider
        self._registry = registry
        self._connectors: dict[str, Any] = {}
        self._lock = threading.Lock()

    def connector_for(self, mailbox: Mailbox) -> Any:
        """The mailbox's own connector (e.g. for IMAP IDLE, which no protocol method covers)."""
        return self._for(mailbox)

    def _for(self, mailbox: Mailbox) -> Any:
        with self._lock:
            connector = self._connectors.get(mailbox.id)
            if connector is None:
                connector = self._connectors[mailbox.id] = build_connector(mailbox, self._registry)
            return connector

    def changes(self, mailbox: Mailbox, folder: str, cursor: str | None) -> ChangeBatch:
        batch: ChangeBatch = self._for(mailbox).changes(mailbox, folder, cursor)
        return batch

    def fetch_mime(self, mailbox: Mailbox, ref: MessageRef) -> bytes:
        raw: bytes = self._for(mailbox).fetch_mime(mailbox, ref)
        return raw

    def after_processing(self, mailbox: Mailbox, ref: MessageRef) -> None:
        self._for(mailbox).after_processing(mailbox, ref)

    def subscribe(self, mailbox: Mailbox, folder: str, notification_url: str, client_state: str) -> Subscription:
        created: Subscription = self._for(mailbox).subscribe(mailbox, folder, notification_url, client_state)
        return created

    def renew(self, mailbox: Mailbox, subscription: Subscription) -> Subscription:
        renewed: Subscription = self._for(mailbox).renew(mailbox, subscription)
        return renewed

    def unsubscribe(self, mailbox: Mailbox, subscription: Subscription) -> None:
        self._for(mailbox).unsubscribe(mailbox, subscription)

    def forget(self, mailbox_id: str) -> None:
        """Drop a cached connector (the mailbox was removed or its secrets changed)."""
        with self._lock:
            connector = self._connectors.pop(mailbox_id, None)
        if connector is not None and hasattr(connector, "close"):
            connector.close()


def build_connectors(registry: MailboxRegistry) -> dict[Provider, PerMailboxConnector]:
    return {provider: PerMailboxConnector(provider, registry) for provider in Provider}


def push_subscribers(connectors: dict[Provider, PerMailboxConnector]) -> dict[Provider, PerMailboxConnector]:
    """IMAP has no push subscription (IDLE or polling instead)."""
    return {provider: c for provider, c in connectors.items() if provider is not Provider.IMAP}


def build_connector(mailbox: Mailbox, registry: MailboxRegistry) -> Any:
    def secret(name: str) -> str:
        value = registry.get_secret(mailbox.id, name)
        if value is None:
            raise MissingSecret(f"mailbox {mailbox.id} has no {name!r} secret")
        return value

    if mailbox.provider is Provider.OUTLOOK:
        from azure.identity import ClientSecretCredential

        from shared.mailboxes.graph.connector import GraphConnector

        credential = ClientSecretCredential(
            str(mailbox.config["tenant_id"]), str(mailbox.config["client_id"]), secret("client_secret")
        )
        return GraphConnector(credential)
    if mailbox.provider is Provider.GMAIL:
        from shared.mailboxes.gmail import GmailConnector, delegated_credentials, refresh_token_credentials

        def credentials(box: Mailbox) -> Any:
            if registry.get_secret(box.id, "credentials") is not None:
                info = json.loads(secret("credentials"))
                return delegated_credentials(info, subject=str(box.config.get("subject") or box.address))
            return refresh_token_credentials(
                client_id=str(box.config["client_id"]),
                client_secret=secret("client_secret"),
                refresh_token=secret("refresh_token"),
            )

        return GmailConnector(credentials)
    from shared.mailboxes.imap.connector import ImapConnector

    return ImapConnector(lambda box: secret("password"))
