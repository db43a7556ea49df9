"""The notification service's drain and reconcile against a fake provider, with real intake and the
real local host."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from mailbox_fakes import T0, FakeConnector, FakeSubscriber, ManualClock

from papyr.host import LocalHost
from shared.mailboxes.models import Mailbox, MailRules, Notification, Provider, Subscription
from shared.mailboxes.queue import SqliteNotificationQueue
from shared.mailboxes.registry import MailboxRegistry
from shared.mailboxes.secrets import SecretBox
from shared.mailboxes.service import MAX_PROVIDER_REQUESTS, MailboxService

ADDRESS = "ap@papyr-demo.example"


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_service(host: LocalHost, clock: ManualClock, sleeps: list[float], provider: Provider = Provider.OUTLOOK,
                 rules: MailRules | None = None) -> MailboxService:
    data_dir = host.settings.data_dir
    registry = MailboxRegistry.in_data_dir(data_dir, SecretBox.from_settings(host.settings))
    registry.add(Mailbox(id="mb", provider=provider, address=ADDRESS, created_at=T0,
                         rules=rules or MailRules(folders=["Inbox"])))
    queue = SqliteNotificationQueue(data_dir / "notifications.sqlite3", max_delivery_count=3)
    return MailboxService(registry, queue, host.services, clock=clock, sleep=sleeps.append)


def sample(repo_root: Path, name: str) -> bytes:
    return next((repo_root / "samples" / "mailbox").glob(f"{name}*.eml")).read_bytes()


def test_pages_are_followed_and_the_cursor_saved_after_each(
    host: LocalHost, clock: ManualClock, sleeps: list[float], repo_root: Path
) -> None:
    service = make_service(host, clock, sleeps)
    connector = FakeConnector(clock, page_size=2)
    for name in ("01", "02", "03", "07", "05"):
        connector.deliver(name, sample(repo_root, name), T0)
    mailbox = service.registry.get("mb")
    assert mailbox is not None
    result = asyncio.run(service.reconcile(mailbox, "Inbox", connector, host.client))
    assert (result.seen, result.documents) == (5, 5)
    assert connector.changes_calls == 3
    assert sorted(connector.processed) == ["01", "02", "03", "05", "07"]  # after-processing for each
    cursor = service.registry.get_cursor("mb", "Inbox")
    assert cursor is not None and (cursor.cursor, cursor.synced_from) == ("5", T0)
    again = asyncio.run(service.reconcile(mailbox, "Inbox", connector, host.client))
    assert (again.seen, again.documents) == (0, 0)


def test_sender_rules_skip_before_and_after_the_fetch(
    host: LocalHost, clock: ManualClock, sleeps: list[float], repo_root: Path
) -> None:
    raw = sample(repo_root, "01")
    from email.parser import BytesHeaderParser
    from email.utils import parseaddr

    domain = "@" + parseaddr(str(BytesHeaderParser().parsebytes(raw)["From"]))[1].rsplit("@", 1)[1]
    service = make_service(host, clock, sleeps, rules=MailRules(folders=["Inbox"], deny_senders=[domain]))
    connector = FakeConnector(clock)
    connector.deliver("known", raw, T0, sender="billing" + domain)  # the listing names the sender
    connector.deliver("unknown", raw, T0)  # it does not: the From header decides
    mailbox = service.registry.get("mb")
    assert mailbox is not None
    result = asyncio.run(service.reconcile(mailbox, "Inbox", connector, host.client))
    assert sorted(result.skipped) == ["known", "unknown"]
    assert connector.fetched == ["unknown"]
    assert host.services.repo.list_invoices() == []


def test_at_most_four_provider_requests_per_mailbox(
    host: LocalHost, clock: ManualClock, sleeps: list[float], repo_root: Path
) -> None:
    service = make_service(host, clock, sleeps)
    raw = sample(repo_root, "03")

    connector = FakeConnector(clock, fetch_delay_s=0.05)
    for i in range(12):
        connector.deliver(f"m{i}", raw, T0)
    mailbox = service.registry.get("mb")
    assert mailbox is not None
    asyncio.run(service.reconcile(mailbox, "Inbox", connector, host.client))
    assert len(connector.fetched) == 12
    assert 2 <= connector.max_in_flight <= MAX_PROVIDER_REQUESTS  # concurrent, but bounded


def test_a_failing_provider_is_retried_then_dead_lettered_and_the_loop_survives(
    host: LocalHost, clock: ManualClock, sleeps: list[float], repo_root: Path
) -> None:
    service = make_service(host, clock, sleeps)
    connector = FakeConnector(clock)
    connector.deliver("01", sample(repo_root, "01"), T0)
    connector.fail_changes = 1
    service.request_reconcile("mb")
    drain = {Provider.OUTLOOK: connector}
    assert asyncio.run(service.drain(drain, host.client)) == 0  # failed: abandoned, not lost
    assert service.queue.count() == 1  # type: ignore[attr-defined]
    assert asyncio.run(service.drain(drain, host.client)) == 1  # the retry succeeds
    assert len(host.services.repo.list_invoices()) == 1

    clock.advance(60)
    connector.fail_changes = 10
    service.request_reconcile("mb")
    for _ in range(3):
        asyncio.run(service.drain(drain, host.client))
    assert service.queue.count() == 0  # type: ignore[attr-defined]
    assert [reason for _, _, reason in service.queue.dead_letters()] == [  # type: ignore[attr-defined]
        "max delivery count exceeded"]


def test_lifecycle_events_renew_recreate_and_catch_up(
    host: LocalHost, clock: ManualClock, sleeps: list[float], repo_root: Path
) -> None:
    service = make_service(host, clock, sleeps)
    subscriber = FakeSubscriber(clock)
    old = Subscription(mailbox_id="mb", id="sub-old", resource="r", expires_at=T0 + timedelta(hours=1),
                       client_state="old-state", folder="Inbox")
    service.registry.save_subscription(old)
    connector = FakeConnector(clock)
    connector.deliver("01", sample(repo_root, "01"), T0)

    def lifecycle(event: str, subscription_id: str) -> bytes:
        state = "old-state" if subscription_id == "sub-old" else "x"
        return json.dumps({"value": [{"subscriptionId": subscription_id, "clientState": state,
                                      "lifecycleEvent": event, "resource": "r"}]}).encode()

    providers = {Provider.OUTLOOK: connector}
    assert service.accept_graph(lifecycle("reauthorizationRequired", "sub-old"), {}).status == 202
    asyncio.run(service.drain(providers, host.client, subscribers={Provider.OUTLOOK: subscriber}))
    assert subscriber.renewed == ["sub-old"]
    renewed = service.registry.get_subscription("sub-old")
    assert renewed is not None and renewed.expires_at == T0 + subscriber.lifetime
    assert renewed.client_state == "old-state"

    clock.advance(10)
    assert service.accept_graph(lifecycle("subscriptionRemoved", "sub-old"), {}).status == 202
    asyncio.run(service.drain(providers, host.client, subscribers={Provider.OUTLOOK: subscriber}))
    [created] = subscriber.created
    assert service.registry.get_subscription("sub-old") is None
    stored = service.registry.get_subscription(created.id)
    assert stored is not None and stored.folder == "Inbox" and stored.client_state not in (None, "old-state")
    assert len(host.services.repo.list_invoices()) == 1  # and the catch-up reconcile took the mail in


def test_gmail_empty_history_after_a_push_is_retried_with_backoff(
    host: LocalHost, clock: ManualClock, sleeps: list[float], repo_root: Path
) -> None:
    service = make_service(host, clock, sleeps, provider=Provider.GMAIL, rules=MailRules(folders=["INBOX"]))

    class LaggingConnector(FakeConnector):
        def changes(self, mailbox: Mailbox, folder: str, cursor: str | None):  # type: ignore[no-untyped-def]
            if self.changes_calls == 2:
                self.clock.advance(1)  # history.list catches up with the push on the third read
            return super().changes(mailbox, folder, cursor)

    connector = LaggingConnector(clock)
    connector.deliver("g1", sample(repo_root, "02"), T0 + timedelta(seconds=1))
    service.enqueue(Notification(key="gmail:p1", mailbox_id="mb", kind="push", received_at=T0,
                                 payload={"history_id": 5}))
    assert asyncio.run(service.drain({Provider.GMAIL: connector}, host.client)) == 1
    assert sleeps == [0.5, 1.0]
    assert len(host.services.repo.list_invoices()) == 1

    # Bounded: a push whose history never shows anything gives up after the backoff schedule.
    sleeps.clear()
    clock.advance(10)
    service.enqueue(Notification(key="gmail:p2", mailbox_id="mb", kind="push", received_at=clock.now))
    assert asyncio.run(service.drain({Provider.GMAIL: connector}, host.client)) == 1
    assert sleeps == [0.5, 1.0, 2.0]


def test_notifications_already_covered_by_a_later_reconcile_cost_no_provider_call(
    host: LocalHost, clock: ManualClock, sleeps: list[float]
) -> None:
    service = make_service(host, clock, sleeps)
    connector = FakeConnector(clock)
    early = Notification(key="n-early", mailbox_id="mb", folder="Inbox", received_at=clock.now)
    service.enqueue(early)
    clock.advance(5)
    mailbox = service.registry.get("mb")
    assert mailbox is not None
    asyncio.run(service.reconcile(mailbox, "Inbox", connector, host.client))  # e.g. the safety net
    calls = connector.changes_calls
    assert asyncio.run(service.drain({Provider.OUTLOOK: connector}, host.client)) == 1
    assert connector.changes_calls == calls
