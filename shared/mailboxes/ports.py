"""Interfaces of the mailbox context: provider connectors, the mailbox registry, the notification queue.

Connectors are synchronous and take their HTTP/IMAP transport by injection, so tests drive them
through documented request/response shapes (httpx MockTransport, googleapiclient HttpMockSequence,
a real IMAP server) and never by patching our own functions.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from shared.mailboxes.models import ChangeBatch, Mailbox, MessageRef, Subscription


class MailConnector(Protocol):
    def changes(self, mailbox: Mailbox, folder: str, cursor: str | None) -> ChangeBatch:
        """Messages added since ``cursor`` in ``folder`` (None = initial sync, bounded to recent mail)."""
        ...

    def fetch_mime(self, mailbox: Mailbox, ref: MessageRef) -> bytes:
        """The whole RFC 5322 message (attachments included; large ones streamed)."""
        ...

    def after_processing(self, mailbox: Mailbox, ref: MessageRef) -> None:
        """Apply ``mailbox.rules.after`` (mark read / move / label); best effort, never raises for
        a message that disappeared in the meantime."""
        ...


class PushSubscriber(Protocol):
    """Graph subscriptions / Gmail watch. IMAP has none (IDLE or polling instead)."""

    def subscribe(self, mailbox: Mailbox, folder: str, notification_url: str, client_state: str) -> Subscription: ...

    def renew(self, mailbox: Mailbox, subscription: Subscription) -> Subscription: ...

    def unsubscribe(self, mailbox: Mailbox, subscription: Subscription) -> None: ...


class QueuedNotification(Protocol):
    """A received, locked message (``shared.mailboxes.queue.QueuedMessage`` locally)."""

    @property
    def message_id(self) -> str: ...

    @property
    def body(self) -> dict[str, Any]: ...

    @property
    def session(self) -> str | None: ...

    @property
    def delivery_count(self) -> int: ...


Q = TypeVar("Q", bound=QueuedNotification)


class NotificationQueue(Protocol[Q]):
    """Where accepted notifications wait for the drain: the embedded SQLite queue locally, Service Bus
    on Azure (issue 7). Duplicate detection by message id; peek-lock; sessions (one locked message per
    session at a time); dead-letter after the maximum delivery count."""

    def send(self, message_id: str, body: dict[str, Any], session: str | None = None) -> bool:
        """False when ``message_id`` is a duplicate within the dedupe window (nothing stored)."""
        ...

    def receive(self, max_messages: int = 32, lock_seconds: float = 60.0) -> list[Q]: ...

    def count(self) -> int:
        """Messages waiting (the queue-depth metric)."""
        ...

    def complete(self, message: Q) -> bool: ...

    def abandon(self, message: Q) -> None: ...

    def dead_letter(self, message: Q, reason: str) -> None: ...
