from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.mailboxes.models import Mailbox, MailRules, Provider, Subscription
from shared.mailboxes.registry import MailboxRegistry
from shared.mailboxes.secrets import SecretBox
from shared.settings import Settings

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> MailboxRegistry:
    return MailboxRegistry.in_data_dir(tmp_path, SecretBox.from_settings(Settings(data_dir=tmp_path)))


def mailbox(mailbox_id: str = "mb1", provider: Provider = Provider.OUTLOOK, address: str = "AP@Example.com") -> Mailbox:
    return Mailbox(id=mailbox_id, provider=provider, address=address, created_at=NOW,
                   rules=MailRules(folders=["Inbox", "Invoices"], deny_senders=["@spam.example"]),
                   config={"tenant_id": "t-1", "client_id": "c-1"})


def test_add_get_find_list_remove(registry: MailboxRegistry) -> None:
    registry.add(mailbox())
    registry.add(mailbox("mb2", Provider.GMAIL, "billing@example.org"))
    assert registry.get("mb1") == mailbox()
    assert registry.get("nope") is None
    found = registry.find(Provider.OUTLOOK, " ap@example.com ")
    assert found is not None and found.id == "mb1"
    assert registry.find(Provider.GMAIL, "ap@example.com") is None
    assert [m.id for m in registry.list()] == ["mb1", "mb2"]

    registry.put_secret("mb1", "client_secret", "s")
    registry.set_cursor("mb1", "Inbox", "delta-1", NOW)
    registry.save_subscription(Subscription(mailbox_id="mb1", id="sub-1", resource="r", expires_at=NOW,
                                            client_state="cs", folder="Inbox"))
    assert registry.remove("mb1") is True
    assert registry.remove("mb1") is False
    assert registry.get("mb1") is None
    assert registry.get_secret("mb1", "client_secret") is None
    assert registry.get_cursor("mb1", "Inbox") is None
    assert registry.get_subscription("sub-1") is None
    assert [m.id for m in registry.list()] == ["mb2"]


def test_cursors_per_folder(registry: MailboxRegistry) -> None:
    assert registry.get_cursor("mb1", "Inbox") is None
    registry.set_cursor("mb1", "Inbox", "delta-1", NOW)
    registry.set_cursor("mb1", "Invoices", None, NOW + timedelta(minutes=1))
    inbox, invoices = registry.get_cursor("mb1", "Inbox"), registry.get_cursor("mb1", "Invoices")
    assert inbox is not None and (inbox.cursor, inbox.synced_from) == ("delta-1", NOW)
    assert invoices is not None and invoices.cursor is None
    registry.set_cursor("mb1", "Inbox", "delta-2", NOW + timedelta(minutes=2))
    moved = registry.get_cursor("mb1", "Inbox")
    assert moved is not None and moved.cursor == "delta-2"
    with pytest.raises(ValueError):
        registry.set_cursor("mb1", "Inbox", "x", datetime(2025, 1, 1))  # naive: refused


def test_subscriptions_keep_client_state_sealed_and_list_due(registry: MailboxRegistry, tmp_path: Path) -> None:
    soon = Subscription(mailbox_id="mb1", id="sub-soon", resource="r1", expires_at=NOW + timedelta(hours=1),
                        client_state="state-soon-7f3a9c", folder="Inbox")
    later = Subscription(mailbox_id="mb1", id="sub-later", resource="r2", expires_at=NOW + timedelta(days=2),
                         client_state="state-later-1b2c3d", folder="Invoices")
    registry.save_subscription(soon)
    registry.save_subscription(later)
    assert registry.get_subscription("sub-soon") == soon
    assert [s.id for s in registry.list_due(NOW + timedelta(hours=2))] == ["sub-soon"]
    assert [s.id for s in registry.subscriptions_of("mb1", "Invoices")] == ["sub-later"]
    assert registry.secret_names("mb1") == []  # client states are not listed as mailbox secrets
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("mailboxes.sqlite3*"))
    assert b"state-soon-7f3a9c" not in on_disk
    registry.delete_subscription("sub-soon")
    assert registry.get_subscription("sub-soon") is None


def test_push_mark_only_moves_forward(registry: MailboxRegistry) -> None:
    assert registry.push_mark("mb2") is None
    assert registry.advance_push_mark("mb2", 100) is True
    assert registry.advance_push_mark("mb2", 100) is False
    assert registry.advance_push_mark("mb2", 99) is False
    assert registry.advance_push_mark("mb2", 101) is True
    assert registry.push_mark("mb2") == 101


def test_thread_safe_concurrent_writers(registry: MailboxRegistry) -> None:
    def write(n: int) -> None:
        for i in range(20):
            registry.put_secret(f"mb{n}", f"s{i}", f"value-{n}-{i}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(registry.get_secret(f"mb{n}", "s19") == f"value-{n}-19" for n in range(6))
    assert len(registry.secret_names("mb3")) == 20
