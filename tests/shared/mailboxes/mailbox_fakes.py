"""Test doubles at the provider edge for the mailbox core: a manual clock, a mail connector whose
messages become visible at set times and whose delta pages like Graph's, and a push subscriber."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from shared.mailboxes.models import ChangeBatch, Mailbox, MessageRef, Subscription

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class ManualClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeMessage:
    provider_id: str
    raw: bytes
    visible_at: datetime
    sender: str | None = None


@dataclass
class FakeConnector:
    """Messages become visible at ``visible_at``; ``changes`` returns those visible since the cursor
    (the number of visible messages already handed out), ``page_size`` at a time."""

    clock: ManualClock
    page_size: int = 50
    messages: list[FakeMessage] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    changes_calls: int = 0
    fail_changes: int = 0  # the next n changes() calls raise (a provider outage)
    fetch_delay_s: float = 0.0  # how long a fetch holds its connection
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, provider_id: str, raw: bytes, visible_at: datetime, sender: str | None = None) -> None:
        self.messages.append(FakeMessage(provider_id, raw, visible_at, sender))
        self.messages.sort(key=lambda m: m.visible_at)

    def changes(self, mailbox: Mailbox, folder: str, cursor: str | None) -> ChangeBatch:
        with self._lock:
            self.changes_calls += 1
            if self.fail_changes:
                self.fail_changes -= 1
                raise ConnectionError("provider unavailable")
        visible = [m for m in self.messages if m.visible_at <= self.clock.now]
        start = int(cursor) if cursor else 0
        page = visible[start : start + self.page_size]
        end = start + len(page)
        refs = [MessageRef(mailbox_id=mailbox.id, provider_id=m.provider_id, folder=folder, sender=m.sender)
                for m in page]
        return ChangeBatch(refs=refs, cursor=str(end), complete=end >= len(visible))

    def fetch_mime(self, mailbox: Mailbox, ref: MessageRef) -> bytes:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.fetched.append(ref.provider_id)
        try:
            time.sleep(self.fetch_delay_s)
            return next(m.raw for m in self.messages if m.provider_id == ref.provider_id)
        finally:
            with self._lock:
                self.in_flight -= 1

    def after_processing(self, mailbox: Mailbox, ref: MessageRef) -> None:
        with self._lock:
            self.processed.append(ref.provider_id)


@dataclass
class FakeSubscriber:
    """Subscriptions that last ``lifetime``; records what it was asked to do."""

    clock: ManualClock
    lifetime: timedelta = timedelta(days=3)
    created: list[Subscription] = field(default_factory=list)
    renewed: list[str] = field(default_factory=list)

    def subscribe(self, mailbox: Mailbox, folder: str, notification_url: str, client_state: str) -> Subscription:
        subscription = Subscription(
            mailbox_id=mailbox.id, id=f"sub-{len(self.created) + 1}", resource=f"me/mailFolders('{folder}')/messages",
            expires_at=self.clock.now + self.lifetime, client_state=client_state, folder=folder,
        )
        self.created.append(subscription)
        return subscription

    def renew(self, mailbox: Mailbox, subscription: Subscription) -> Subscription:
        self.renewed.append(subscription.id)
        return subscription.model_copy(update={"expires_at": self.clock.now + self.lifetime})

    def unsubscribe(self, mailbox: Mailbox, subscription: Subscription) -> None:
        pass
