"""The Service Bus queue over the REST API, through httpx.MockTransport.

``Broker`` keeps the state a Service Bus namespace keeps (queues, duplicate detection, locks, delivery
counts, the dead-letter sub-queue after MaxDeliveryCount) and answers in the documented shapes
stored in recorded/servicebus/ (status, headers, BrokerProperties, Location). The tests assert the
requests our adapter sends (paths, methods, BrokerProperties, auth) and the queue semantics it gives.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.servicebus._pyamqp.utils import generate_sas_token

from papyr.host import build_local_host
from shared.adapters.azure.servicebus import (
    ServiceBusAuth,
    ServiceBusError,
    ServiceBusNotificationQueue,
    parse_connection_string,
    sas_token,
)
from shared.mailboxes.models import Notification
from shared.mailboxes.queue import SqliteNotificationQueue
from shared.mailboxes.registry import MailboxRegistry
from shared.mailboxes.secrets import SecretBox
from shared.mailboxes.service import MailboxService, build_notification_queue
from shared.services import set_services
from shared.settings import Settings

RECORDED = Path(__file__).parent / "recorded" / "servicebus"
HOST = "papyr-test.servicebus.windows.net"
KEY = "c2VjcmV0LWtleQ=="
CONNECTION = f"Endpoint=sb://{HOST}/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={KEY}"
DLQ = "$DeadLetterQueue"


def recorded(name: str) -> dict[str, Any]:
    shape: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return shape


def respond(name: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    shape = recorded(name)
    merged = dict(shape["headers"]) | (headers or {})
    merged.pop("Transfer-Encoding", None)
    return httpx.Response(shape["status"], headers=merged,
                          content=body if body is not None else str(shape["body"]).encode())


@dataclass
class Stored:
    sequence: int
    message_id: str
    session: str | None
    body: bytes
    properties: dict[str, str]
    enqueued: float
    delivery_count: int = 0
    lock_token: str | None = None


@dataclass
class Broker:
    """One namespace. Queues are created up front (like Terraform would) with duplicate detection."""

    queues: tuple[str, ...] = ("notifications", "notifications-deadletter")  # Terraform creates both
    max_delivery_count: int = 3
    entities: dict[str, list[Stored]] = field(default_factory=dict)
    seen_ids: dict[str, set[str]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    sequence: int = 0

    def __post_init__(self) -> None:
        for queue in self.queues:
            self.entities[queue] = []
            self.entities[f"{queue}/{DLQ}"] = []
            self.seen_ids[queue] = set()

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not request.headers.get("Authorization"):
            return respond("unauthorized_401.json")
        path = request.url.path.lstrip("/")
        entity, _, rest = path.partition("/messages")
        if entity not in self.entities:
            return respond("entity_missing_410.json")
        if request.method == "POST" and rest == "":
            return self._send(entity, request)
        if request.method == "POST" and rest == "/head":
            return self._peek_lock(entity)
        message_id, lock_token = rest.strip("/").split("/")
        held = [m for m in self.entities[entity] if m.lock_token == lock_token and m.message_id == message_id]
        if not held:
            return respond("lock_lost_404.json")
        if request.method == "DELETE":
            self.entities[entity].remove(held[0])
        elif request.method == "PUT":
            self._unlock(entity, held[0])
        return respond("settle_200.json")

    def _send(self, entity: str, request: httpx.Request) -> httpx.Response:
        if entity.endswith(DLQ):
            return respond("send_to_dlq_400.json")
        broker = json.loads(request.headers["BrokerProperties"])
        if broker["MessageId"] in self.seen_ids[entity]:
            return respond("send_201.json")  # accepted and dropped: the sender cannot tell
        self.seen_ids[entity].add(broker["MessageId"])
        self.sequence += 1
        properties = {k: v for k, v in request.headers.items()
                      if k not in ("authorization", "brokerproperties", "content-type", "content-length", "host",
                                   "accept", "accept-encoding", "connection", "user-agent")}
        self.entities[entity].append(Stored(self.sequence, broker["MessageId"], broker.get("SessionId"),
                                            request.content, properties, time.time()))
        return respond("send_201.json")

    def _peek_lock(self, entity: str) -> httpx.Response:
        free = [m for m in self.entities[entity] if m.lock_token is None]
        if not free:
            return respond("empty_204.json")
        message = free[0]
        message.delivery_count += 1
        message.lock_token = str(uuid.uuid4())
        broker = {"DeliveryCount": message.delivery_count, "EnqueuedTimeUtc": "Wed, 02 Jul 2014 01:32:27 GMT",
                  "LockToken": message.lock_token, "LockedUntilUtc": "Wed, 02 Jul 2014 01:33:27 GMT",
                  "MessageId": message.message_id, "SequenceNumber": message.sequence, "State": "Active"}
        if message.session is not None:
            broker["SessionId"] = message.session
        location = f"https://{HOST}/{quote(entity, safe='/$')}/messages/{message.message_id}/{message.lock_token}"
        template = recorded("peek_lock_201.json")["headers"]
        headers = {"Content-Type": "application/json", "Location": location, "BrokerProperties": json.dumps(broker),
                   "Server": template["Server"], "Date": template["Date"]} | message.properties
        return respond("peek_lock_201.json", body=message.body, headers=headers)

    def _unlock(self, entity: str, message: Stored) -> None:
        message.lock_token = None
        if not entity.endswith(DLQ) and message.delivery_count >= self.max_delivery_count:
            self.entities[entity].remove(message)
            message.properties = message.properties | {"deadletterreason": '"MaxDeliveryCountExceeded"',
                                                       "deadlettererrordescription": '"Message could not be '
                                                       'consumed after 3 delivery attempts."'}
            self.entities[f"{entity}/{DLQ}"].append(message)

    def expire_locks(self) -> None:
        for messages in self.entities.values():
            for message in messages:
                message.lock_token = None

    def ids(self, entity: str) -> list[str]:
        return [m.message_id for m in self.entities[entity]]


@pytest.fixture
def broker() -> Broker:
    return Broker()


@pytest.fixture
def queue(broker: Broker) -> ServiceBusNotificationQueue:
    return ServiceBusNotificationQueue.from_settings(None, "notifications", connection_string=CONNECTION,
                                                     transport=httpx.MockTransport(broker.handle))


def test_send_sets_message_id_session_and_a_sas_token(queue: ServiceBusNotificationQueue, broker: Broker) -> None:
    assert queue.send("graph:abc", {"mailbox_id": "m1", "kind": "change"}, session="m1") is True

    [request] = broker.requests
    assert request.method == "POST"
    assert str(request.url) == f"https://{HOST}/notifications/messages"
    assert json.loads(request.headers["BrokerProperties"]) == {"MessageId": "graph:abc", "SessionId": "m1"}
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"mailbox_id": "m1", "kind": "change"}
    token = request.headers["Authorization"]
    assert token.startswith(f"SharedAccessSignature sr=https%3A%2F%2F{HOST}%2Fnotifications&sig=")
    assert token.endswith("&skn=RootManageSharedAccessKey")
    expiry = int(token.split("&se=")[1].split("&")[0])
    # The same signature as the azure-servicebus SDK computes for this audience, key and expiry.
    sdk: str = generate_sas_token(  # type: ignore[no-untyped-call]
        f"https://{HOST}/notifications", "RootManageSharedAccessKey", KEY, expiry)
    assert sorted(token.removeprefix("SharedAccessSignature ").split("&")) == \
        sorted(sdk.removeprefix("SharedAccessSignature ").split("&"))


def test_duplicates_are_dropped_by_the_broker(queue: ServiceBusNotificationQueue, broker: Broker) -> None:
    assert queue.send("n1", {"a": 1}) is True
    assert queue.send("n1", {"a": 2}) is True  # the broker accepts and drops it; REST cannot tell
    assert [json.loads(r.headers["BrokerProperties"])["MessageId"] for r in broker.requests] == ["n1", "n1"]
    assert [m.body for m in queue.receive(10)] == [{"a": 1}]


def test_peek_lock_complete_and_a_lost_lock(queue: ServiceBusNotificationQueue, broker: Broker) -> None:
    queue.send("n1", {"k": "v"}, session="m1")
    broker.requests.clear()
    [first] = queue.receive(10)
    assert (first.message_id, first.body, first.session, first.delivery_count) == ("n1", {"k": "v"}, "m1", 1)
    head = broker.requests[0]
    assert (head.method, head.url.path, head.url.params["timeout"]) == ("POST", "/notifications/messages/head", "5")
    assert queue.receive(10) == []  # locked
    broker.expire_locks()
    [again] = queue.receive(10)
    assert again.delivery_count == 2
    assert queue.complete(first) is False  # 404: the first receiver's lock is gone
    assert queue.complete(again) is True
    assert broker.requests[-1].method == "DELETE"
    assert broker.requests[-1].url.path == f"/notifications/messages/n1/{again.lock_token}"
    assert broker.ids("notifications") == []


def test_a_sessions_messages_come_together(queue: ServiceBusNotificationQueue) -> None:
    for message_id, session in (("a0", "mailbox-a"), ("b0", "mailbox-b"), ("a1", "mailbox-a"), ("free", None)):
        queue.send(message_id, {"id": message_id}, session=session)
    assert [m.message_id for m in queue.receive(10)] == ["a0", "a1", "b0", "free"]


def test_abandon_then_the_broker_dead_letters_and_we_list_it(queue: ServiceBusNotificationQueue,
                                                             broker: Broker) -> None:
    queue.send("poison", {"x": 1}, session="s")
    for expected in (1, 2, 3):
        [message] = queue.receive(1)
        assert message.delivery_count == expected
        queue.abandon(message)
        assert broker.requests[-1].method == "PUT"  # unlock
    assert queue.receive(1) == []
    assert broker.ids(f"notifications/{DLQ}") == ["poison"]

    [dead] = queue.dead_lettered()
    assert (dead.message_id, dead.body, dead.session) == ("poison", {"x": 1}, "s")
    assert dead.reason == "MaxDeliveryCountExceeded: Message could not be consumed after 3 delivery attempts."
    assert any(r.url.path == f"/notifications/{DLQ}/messages/head" for r in broker.requests)
    assert [m.lock_token for m in broker.entities[f"notifications/{DLQ}"]] == [None]  # browsing unlocked it


def test_explicit_dead_letter_parks_a_copy_with_the_reason(queue: ServiceBusNotificationQueue,
                                                           broker: Broker) -> None:
    queue.send("bad", {"x": "y"}, session="m1")
    queue.send("good", {"x": "z"})
    bad, good = queue.receive(2)
    queue.dead_letter(bad, "not a notification")

    park = [r for r in broker.requests if r.url.path == "/notifications-deadletter/messages"]
    assert len(park) == 1 and json.loads(park[0].headers["BrokerProperties"]) == {"MessageId": "bad",
                                                                                   "SessionId": "m1"}
    assert park[0].headers["PapyrDeadLetterReason"] == '"not a notification"'
    assert broker.ids("notifications") == ["good"]  # the original was completed
    [dead] = queue.dead_lettered()
    assert (dead.message_id, dead.reason, dead.delivery_count, dead.body) == ("bad", "not a notification", 1,
                                                                                {"x": "y"})
    assert queue.complete(good) is True


def test_resubmit_and_purge_dead_letters(queue: ServiceBusNotificationQueue, broker: Broker) -> None:
    for message_id in ("d1", "d2", "d3"):
        queue.send(message_id, {"id": message_id}, session="m1")
    d1, d2, d3 = queue.receive(3)
    for message in (d1, d2, d3):
        queue.dead_letter(message, "boom")

    new_id = queue.resubmit_dead_letter("d2")
    assert new_id is not None and new_id.startswith("d2#resubmit-")
    assert broker.ids("notifications") == [new_id]  # a new MessageId: the old one is inside the dedupe window
    [back] = queue.receive(1)
    assert (back.body, back.session, back.delivery_count) == ({"id": "d2"}, "m1", 1)
    assert queue.purge_dead_letter("d3") is True
    assert queue.purge_dead_letter("nope") is False
    assert queue.resubmit_dead_letter("nope") is None
    assert [d.message_id for d in queue.dead_lettered()] == ["d1"]
    assert all(m.lock_token is None for m in broker.entities["notifications-deadletter"])  # others unlocked


def test_the_documented_peek_lock_response_is_read(broker: Broker) -> None:
    shape = recorded("peek_lock_201.json")
    queue = ServiceBusNotificationQueue(
        "your-namespace", "httpclientsamplequeue", ServiceBusAuth(sas_key=("k", KEY)),
        transport=httpx.MockTransport(lambda request: respond("peek_lock_201.json")), receive_wait_s=60,
    )
    [message] = queue.receive(1)
    assert message.message_id == "31907572-1647-43c3-8741-631acd554d6f"
    assert message.lock_token == "7da9cfd5-40d5-4bb1-8d64-ec5a52e1c547"
    assert message.location == shape["headers"]["Location"]
    assert message.sequence_number == 1 and message.delivery_count == 1 and message.session is None
    assert message.enqueued_at == 1404264747.0  # Wed, 02 Jul 2014 01:32:27 GMT
    assert message.properties["priority"] == "High" and message.properties["customer"] == "12345,ABC"
    assert message.body == {"unreadable_body": "This is a message."}  # not a JSON object: the drain dead-letters it


def test_bearer_tokens_from_an_entra_credential(broker: Broker) -> None:
    scopes: list[tuple[str, ...]] = []

    class Credential:
        def get_token(self, *requested: str, **kwargs: Any) -> AccessToken:
            scopes.append(requested)
            return AccessToken("sb-token", int(time.time()) + 3600)

    queue = ServiceBusNotificationQueue.from_settings("papyr-test", "notifications", credential=Credential(),
                                                      transport=httpx.MockTransport(broker.handle))
    queue.send("n1", {})
    queue.send("n2", {})
    assert [r.headers["Authorization"] for r in broker.requests] == ["Bearer sb-token"] * 2
    assert scopes == [("https://servicebus.azure.net/.default",)]  # cached until near expiry
    assert broker.requests[0].url.host == HOST


def test_errors_are_raised_not_swallowed(broker: Broker) -> None:
    missing = ServiceBusNotificationQueue.from_settings(None, "nope", connection_string=CONNECTION,
                                                        transport=httpx.MockTransport(broker.handle))
    with pytest.raises(ServiceBusError) as raised:
        missing.send("n1", {})
    assert raised.value.status_code == 410
    with pytest.raises(ServiceBusError):
        missing.receive(1)


def test_connection_strings_and_tokens() -> None:
    assert parse_connection_string(CONNECTION) == (HOST, "RootManageSharedAccessKey", KEY)
    with pytest.raises(ValueError):
        parse_connection_string("Endpoint=sb://x/;SharedAccessKeyName=k")
    token = sas_token("https://h/q", "key name", KEY, 1_700_000_000)
    assert "&se=1700000000&" in token and token.endswith("&skn=key+name")


def test_settings_choose_the_queue(tmp_path: Path) -> None:
    local = build_notification_queue(Settings(data_dir=tmp_path))
    assert isinstance(local, SqliteNotificationQueue)
    remote = build_notification_queue(Settings(data_dir=tmp_path, servicebus_connection_string=CONNECTION,
                                               intake_queue="intake"))
    assert isinstance(remote, ServiceBusNotificationQueue)
    assert (remote.host, remote.queue, remote.deadletter_queue) == (HOST, "intake", "intake-deadletter")
    named = build_notification_queue(Settings(data_dir=tmp_path, servicebus_namespace="papyr-prod",
                                              intake_deadletter_queue="parked"))
    assert isinstance(named, ServiceBusNotificationQueue)
    assert (named.host, named.queue, named.deadletter_queue) == (
        "papyr-prod.servicebus.windows.net", "intake", "parked")


def test_parked_copies_keep_their_reason_after_browsing_moves_them(queue: ServiceBusNotificationQueue,
                                                                   broker: Broker) -> None:
    queue.send("bad", {"x": 1})
    [bad] = queue.receive(1)
    queue.dead_letter(bad, "not a notification")
    for _ in range(broker.max_delivery_count + 1):  # each browse is a delivery of the parked copy
        assert [(d.message_id, d.reason) for d in queue.dead_lettered()] == [("bad", "not a notification")]
    assert broker.ids(f"notifications-deadletter/{DLQ}") == ["bad"]  # the broker moved it meanwhile
    assert queue.purge_dead_letter("bad") is True
    assert queue.dead_lettered() == []


def test_the_mailbox_drain_runs_on_service_bus(tmp_path: Path, queue: ServiceBusNotificationQueue,
                                               broker: Broker) -> None:
    host = build_local_host(tmp_path / "papyr")
    try:
        registry = MailboxRegistry.in_data_dir(host.settings.data_dir, SecretBox.from_settings(host.settings))
        service = MailboxService(registry, queue, host.services)
        now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
        assert service.enqueue(Notification(key="graph:k1", mailbox_id="removed-mailbox", received_at=now))
        queue.send("junk", {"not": "a notification"}, session="removed-mailbox")
        sent = json.loads(broker.requests[0].headers["BrokerProperties"])
        assert sent == {"MessageId": "graph:k1", "SessionId": "removed-mailbox"}  # the session is the mailbox

        handled = asyncio.run(service.drain({}, host.client))

        assert handled == 1  # the removed mailbox's notification completed (dropped), not retried
        assert broker.ids("notifications") == []
        assert [(d.message_id, d.reason) for d in queue.dead_lettered()] == [("junk", "not a notification")]
    finally:
        host.engine.close()
        set_services(None)


def test_count_reads_the_active_messages_of_the_queue_description() -> None:
    seen: list[httpx.Request] = []

    def describe(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond("queue_description_200.json")

    queue = ServiceBusNotificationQueue.from_settings(None, "notifications", connection_string=CONNECTION,
                                                      transport=httpx.MockTransport(describe))
    assert queue.count() == 7  # ActiveMessageCount; the 2 dead letters are not waiting
    [request] = seen
    assert (request.method, request.url.path, request.url.params["api-version"]) == ("GET", "/notifications", "2021-05")
    assert request.headers["Authorization"].startswith("SharedAccessSignature ")
