"""The issue's "Done when": a duplicate storm yields each invoice exactly once, and a missed
notification is recovered by the safety-net reconcile. Real intake, real sample mail, the real local
host (its engine's orchestration store); only the provider is a fake."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from mailbox_fakes import T0, FakeConnector, ManualClock

from orchestrators.invoice import ORCHESTRATOR_NAME, instance_id_for
from papyr.host import LocalHost
from shared.intake import parse_message
from shared.intake.service import sha256_hex
from shared.mailboxes.models import Mailbox, MailRules, Provider, Subscription
from shared.mailboxes.queue import SqliteNotificationQueue
from shared.mailboxes.registry import MailboxRegistry
from shared.mailboxes.secrets import SecretBox
from shared.mailboxes.service import MailboxService

ADDRESS = "ap@papyr-demo.example"
CLIENT_STATE = "b6c1f0e2-storm-client-state"


@pytest.fixture
def service(host: LocalHost, clock: ManualClock) -> MailboxService:
    data_dir = host.settings.data_dir
    registry = MailboxRegistry.in_data_dir(data_dir, SecretBox.from_settings(host.settings))
    registry.add(Mailbox(id="mb-ap", provider=Provider.OUTLOOK, address=ADDRESS, created_at=T0,
                         rules=MailRules(folders=["Inbox"])))
    registry.save_subscription(Subscription(
        mailbox_id="mb-ap", id="sub-inbox", resource="Users/ap/MailFolders('Inbox')/Messages",
        expires_at=T0.replace(day=6), client_state=CLIENT_STATE, folder="Inbox",
    ))
    queue = SqliteNotificationQueue(data_dir / "notifications.sqlite3")
    return MailboxService(registry, queue, host.services, clock=clock, sleep=lambda _: None)


def samples(repo_root: Path) -> list[tuple[str, bytes]]:
    return [(path.stem[:2], path.read_bytes()) for path in sorted((repo_root / "samples" / "mailbox").glob("*.eml"))]


def expected_documents(raws: list[bytes]) -> set[str]:
    return {sha256_hex(carrier.data) for raw in raws for carrier in parse_message(raw, mailbox=ADDRESS).carriers}


def graph_body(message_id: str, client_state: str = CLIENT_STATE) -> bytes:
    return json.dumps({"value": [{
        "subscriptionId": "sub-inbox", "clientState": client_state, "changeType": "created",
        "resource": f"Users/ap/Messages/{message_id}", "tenantId": "tenant-1",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Message", "id": message_id},
    }]}).encode()


async def drain_all(service: MailboxService, connector: FakeConnector, host: LocalHost) -> None:
    for _ in range(100):
        await service.drain({Provider.OUTLOOK: connector}, host.client)
        if service.queue.count() == 0:  # type: ignore[attr-defined]
            return
    raise AssertionError("queue never drained")


def assert_each_document_once(host: LocalHost, expected: set[str]) -> None:
    records = host.services.repo.list_invoices(limit=1000)
    assert sorted(r.id for r in records) == sorted(expected)
    for record in records:
        received = [a for a in host.services.repo.audit_trail(record.id) if a.action == "received"]
        assert len(received) == 1, record.document.filename
    instances = host.engine.list_instances(orchestrator=ORCHESTRATOR_NAME)
    assert sorted(i.instance_id for i in instances) == sorted(instance_id_for(sha) for sha in expected)


def test_duplicate_storm_out_of_order_and_early_yields_each_invoice_once(
    host: LocalHost, service: MailboxService, clock: ManualClock, repo_root: Path
) -> None:
    mail = samples(repo_root)
    connector = FakeConnector(clock)
    for index, (name, raw) in enumerate(mail):
        connector.deliver(name, raw, T0 + timedelta(seconds=6 * index))  # staggered arrivals
    visible_at = {m.provider_id: m.visible_at for m in connector.messages}
    deliveries = [name for name, _ in mail for _ in range(3)]  # every notification three times
    random.Random(4).shuffle(deliveries)  # out of order

    early = 0
    accepted = 0

    async def storm() -> None:
        nonlocal early, accepted
        for step, name in enumerate(deliveries):
            early += clock.now < visible_at[name]
            response = service.accept_graph(graph_body(name), {})
            assert response.status == 202
            accepted += 1
            if step % 2:
                await service.drain({Provider.OUTLOOK: connector}, host.client)
            clock.advance(2)
        await drain_all(service, connector, host)
        clock.advance(600)  # everything is visible now; the safety net catches what came early
        service.request_reconcile("mb-ap")
        await drain_all(service, connector, host)

    asyncio.run(storm())
    assert accepted == 21
    assert early > 0, "the storm must deliver some notifications before their message is visible"
    assert_each_document_once(host, expected_documents([raw for _, raw in mail]))
    assert sorted(set(connector.fetched)) == sorted(name for name, _ in mail)
    for _, raw in mail:  # every message claimed once by intake
        message_id = parse_message(raw, mailbox=ADDRESS).mail.message_id
        assert message_id and host.services.repo.message_claimed(ADDRESS, message_id)
    cursor = service.registry.get_cursor("mb-ap", "Inbox")
    assert cursor is not None and cursor.cursor == str(len(mail))


def test_missed_notification_is_recovered_by_the_safety_net_reconcile(
    host: LocalHost, service: MailboxService, clock: ManualClock, repo_root: Path
) -> None:
    first, second = samples(repo_root)[0], samples(repo_root)[2]
    connector = FakeConnector(clock)
    connector.deliver(first[0], first[1], clock.now)
    connector.deliver(second[0], second[1], clock.now)  # its notification is never delivered

    async def run() -> None:
        assert service.accept_graph(graph_body(first[0]), {}).status == 202
        await drain_all(service, connector, host)

    # One reconcile reads the whole folder: to see only the first, make the second visible later.
    connector.messages[1].visible_at = clock.now + timedelta(hours=1)
    asyncio.run(run())
    assert_each_document_once(host, expected_documents([first[1]]))

    clock.advance(2 * 3600)  # the second arrives; Graph's notification for it is lost

    async def safety_net() -> None:
        assert service.request_reconcile("mb-ap") is True
        await drain_all(service, connector, host)

    asyncio.run(safety_net())
    assert_each_document_once(host, expected_documents([first[1], second[1]]))
