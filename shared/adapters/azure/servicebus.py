"""The notification queue on Azure Service Bus, over the documented Service Bus REST API (httpx).

Why REST and not azure-servicebus: the SDK's data plane speaks AMQP only (TCP or WebSockets) and
offers no HTTP transport seam, so it cannot be tested offline against recorded shapes. The REST API
is documented and covers what the drain needs:

- send: ``POST {ns}/{queue}/messages`` with ``BrokerProperties: {"MessageId", "SessionId"}``; the
  queue is created with ``requiresDuplicateDetection`` so a repeated MessageId inside the window is
  dropped by the broker. The broker does not tell the sender, so ``send`` always answers True.
- peek-lock: ``POST {ns}/{queue}/messages/head?timeout=N`` (201 + ``BrokerProperties`` + ``Location``,
  204 when empty); complete: ``DELETE {Location}``; abandon: ``PUT {Location}`` (unlock). After the
  queue's MaxDeliveryCount the broker moves the message to ``{queue}/$DeadLetterQueue`` itself.
- auth: a SAS token (connection string) or an Entra bearer token (``DefaultAzureCredential`` /
  managed identity, scope ``https://servicebus.azure.net/.default``).

What REST cannot do, and how it is approximated (plainly):

- Sessions: REST has no session receiver. ``send`` sets SessionId = mailbox id, so a session-enabled
  AMQP consumer (a Functions Service Bus trigger with ``isSessionsEnabled``) gets one mailbox at a
  time; this REST receiver reads a queue *without* ``requiresSession`` and only groups one session's
  messages into one ``receive`` batch. Two REST receivers may reconcile one mailbox at once; that is
  safe (reconcile is idempotent: message/document dedupe, cursor moved after the work), not exclusive.
- Explicit dead-letter with a reason: REST has no dead-letter operation and a DLQ cannot be sent to.
  ``dead_letter`` sends a copy (same MessageId/SessionId, ``DeadLetterReason`` property) to a companion
  queue (default ``{queue}-deadletter``) and then completes the original. ``papyr deadletter`` reads
  the broker's ``$DeadLetterQueue``, the companion queue and the companion's own ``$DeadLetterQueue``
  (where the broker moves a parked copy once browsing has counted MaxDeliveryCount deliveries; give
  the companion queue a high MaxDeliveryCount).
- Browsing dead letters: REST has no non-destructive peek; listing peek-locks each message and unlocks
  it afterwards (the DLQ's delivery count rises; dead letters are never moved again).
- ``lock_seconds``: the lock lasts the queue's LockDuration (set PT5M); the argument is not sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote, quote_plus

import httpx
from defusedxml import ElementTree

from shared.mailboxes.queue import DeadLetter

SERVICEBUS_SCOPE = "https://servicebus.azure.net/.default"
DEAD_LETTER_PATH = "$DeadLetterQueue"
SAS_TTL_S = 3600
REQUEST_TIMEOUT_S = 70.0  # above the longest server-side long poll we ask for
MANAGEMENT_API_VERSION = "2021-05"
_COUNT_NS = "http://schemas.microsoft.com/netservices/2011/06/servicebus"
MAX_SCAN = 1000  # dead letters looked at by one list / find
# Our reason on a parked copy. Not "DeadLetterReason": browsing (lock + unlock) counts deliveries, so the
# broker may in turn dead-letter a parked copy into the companion queue's own DLQ, overwriting that one.
PARKED_REASON = "PapyrDeadLetterReason"


class TokenSource(Protocol):
    """azure.core.credentials.TokenCredential, structurally (DefaultAzureCredential, a test double)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...


class ServiceBusError(RuntimeError):
    def __init__(self, operation: str, response: httpx.Response) -> None:
        super().__init__(f"service bus {operation} failed: HTTP {response.status_code} {response.text[:200]}")
        self.status_code = response.status_code


@dataclass(frozen=True)
class ServiceBusMessage:
    """A peek-locked message; implements ``shared.mailboxes.ports.QueuedNotification``."""

    message_id: str
    body: dict[str, Any]
    session: str | None
    delivery_count: int
    sequence_number: int
    lock_token: str
    location: str  # the lock URL: DELETE completes, PUT unlocks
    enqueued_at: float | None  # epoch seconds
    properties: dict[str, str]  # custom (application) properties, e.g. DeadLetterReason


def sas_token(resource_uri: str, key_name: str, key: str, expiry: int) -> str:
    """A Service Bus SAS token: HMAC-SHA256 over ``quote_plus(uri) + "\\n" + expiry``."""
    encoded_uri = quote_plus(resource_uri)
    digest = hmac.new(key.encode(), f"{encoded_uri}\n{expiry}".encode(), hashlib.sha256).digest()
    signature = quote_plus(base64.b64encode(digest).decode())
    return f"SharedAccessSignature sr={encoded_uri}&sig={signature}&se={expiry}&skn={quote_plus(key_name)}"


def parse_connection_string(connection_string: str) -> tuple[str, str, str]:
    """(namespace host, key name, key) from ``Endpoint=sb://host/;SharedAccessKeyName=..;SharedAccessKey=..``."""
    parts = dict(
        part.split("=", 1) for part in connection_string.strip().strip(";").split(";") if "=" in part
    )
    endpoint = parts.get("Endpoint", "")
    host = endpoint.removeprefix("sb://").removeprefix("https://").strip("/")
    if not host or "SharedAccessKeyName" not in parts or "SharedAccessKey" not in parts:
        raise ValueError("a Service Bus connection string needs Endpoint, SharedAccessKeyName and SharedAccessKey")
    return host, parts["SharedAccessKeyName"], parts["SharedAccessKey"]


def namespace_host(namespace: str) -> str:
    """``papyr-prod`` → ``papyr-prod.servicebus.windows.net``; a full host name is kept."""
    namespace = namespace.removeprefix("sb://").removeprefix("https://").strip("/")
    return namespace if "." in namespace else f"{namespace}.servicebus.windows.net"


class ServiceBusAuth:
    """The Authorization header value: SAS (key) or bearer (Entra token), refreshed before expiry."""

    def __init__(self, *, sas_key: tuple[str, str] | None = None, credential: TokenSource | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if (sas_key is None) == (credential is None):
            raise ValueError("give either a SAS key (name, key) or a token credential")
        self._sas_key = sas_key
        self._credential = credential
        self._clock = clock
        self._cached: dict[str, tuple[str, float]] = {}

    def header(self, resource_uri: str) -> str:
        key = resource_uri if self._sas_key else SERVICEBUS_SCOPE
        cached = self._cached.get(key)
        now = self._clock()
        if cached is not None and cached[1] - 300 > now:
            return cached[0]
        if self._sas_key is not None:
            expiry = int(now) + SAS_TTL_S
            value = sas_token(resource_uri, self._sas_key[0], self._sas_key[1], expiry)
        else:
            assert self._credential is not None
            token = self._credential.get_token(SERVICEBUS_SCOPE)
            value, expiry = f"Bearer {token.token}", int(token.expires_on)
        self._cached[key] = (value, float(expiry))
        return value


class ServiceBusNotificationQueue:
    """Implements ``shared.mailboxes.ports.NotificationQueue`` and the dead-letter operations of
    ``papyr deadletter`` (``shared.mailboxes.queue.DeadLetterStore``) on one Service Bus queue."""

    def __init__(
        self,
        namespace: str,
        queue: str,
        auth: ServiceBusAuth,
        *,
        deadletter_queue: str | None = None,
        transport: httpx.BaseTransport | None = None,
        receive_wait_s: int = 5,
    ) -> None:
        self.host = namespace_host(namespace)
        self.queue = queue
        self.deadletter_queue = deadletter_queue or f"{queue}-deadletter"
        self.receive_wait_s = receive_wait_s
        self._auth = auth
        self._http = httpx.Client(transport=transport, timeout=REQUEST_TIMEOUT_S)

    @classmethod
    def from_settings(cls, namespace: str | None, queue: str, *, connection_string: str | None = None,
                      deadletter_queue: str | None = None, credential: TokenSource | None = None,
                      transport: httpx.BaseTransport | None = None) -> ServiceBusNotificationQueue:
        """SAS when a connection string is given, else an Entra credential (DefaultAzureCredential:
        the Function App's managed identity, or ``az login`` on a laptop)."""
        if connection_string:
            host, key_name, key = parse_connection_string(connection_string)
            return cls(namespace or host, queue, ServiceBusAuth(sas_key=(key_name, key)),
                       deadletter_queue=deadletter_queue, transport=transport)
        if not namespace:
            raise ValueError("a Service Bus namespace or connection string is required")
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return cls(namespace, queue, ServiceBusAuth(credential=credential), deadletter_queue=deadletter_queue,
                   transport=transport)

    def close(self) -> None:
        self._http.close()

    # -- NotificationQueue ---------------------------------------------------------------------

    def send(self, message_id: str, body: dict[str, Any], session: str | None = None) -> bool:
        """Durable once this returns (201). A duplicate MessageId is dropped by the broker silently,
        so True means "accepted", not "new"."""
        self._send(self.queue, message_id, body, session, {})
        return True

    def receive(self, max_messages: int = 32, lock_seconds: float = 60.0) -> list[ServiceBusMessage]:
        """Peek-lock up to ``max_messages`` (one request each; the first long-polls ``receive_wait_s``),
        a session's messages kept together in arrival order."""
        taken: list[ServiceBusMessage] = []
        while len(taken) < max_messages:
            message = self._peek_lock(self.queue, self.receive_wait_s if not taken else 1)
            if message is None:
                break
            taken.append(message)
        order = {message.session: index for index, message in reversed(list(enumerate(taken)))}
        return sorted(taken, key=lambda m: (order[m.session], m.sequence_number))

    def complete(self, message: ServiceBusMessage) -> bool:
        """False when the lock was lost (404/410: redelivered to someone else, or gone)."""
        return self._settle("DELETE", message, "complete")

    def abandon(self, message: ServiceBusMessage) -> None:
        self._settle("PUT", message, "unlock")

    def renew_lock(self, message: ServiceBusMessage) -> bool:
        return self._settle("POST", message, "renew lock")

    def dead_letter(self, message: ServiceBusMessage, reason: str) -> None:
        """Park a copy with the reason in the companion queue, then complete the original (see the
        module docstring: REST cannot dead-letter). Repeated after a lost lock, the copy is deduplicated
        by MessageId when the companion queue has duplicate detection."""
        properties = {PARKED_REASON: reason, "OriginalDeliveryCount": str(message.delivery_count)}
        self._send(self.deadletter_queue, message.message_id, message.body, message.session, properties)
        self.complete(message)

    def count(self) -> int:
        """Active messages (waiting or locked; not dead letters), for the queue-depth gauge: the
        entity's runtime description (``GET {ns}/{queue}?api-version=2021-05``, Atom XML). Needs read
        access to the entity (a Manage SAS key, or an RBAC role that reads queues)."""
        response = self._http.get(self._entity_uri(self.queue), params={"api-version": MANAGEMENT_API_VERSION},
                                  headers=self._headers(self.queue))
        if response.status_code != 200:
            raise ServiceBusError("queue description", response)
        found = ElementTree.fromstring(response.content).find(f".//{{{_COUNT_NS}}}ActiveMessageCount")
        if found is None or not (found.text or "").strip().isdigit():
            raise ServiceBusError("queue description (no ActiveMessageCount)", response)
        return int(str(found.text).strip())

    # -- dead letters (papyr deadletter) -------------------------------------------------------

    def dead_lettered(self) -> list[DeadLetter]:
        """Every dead letter (the broker's DLQ first, then the companion queue), browsed by locking
        and unlocking each."""
        # Everything is locked before anything is unlocked: an unlock may move a parked copy into the
        # next entity scanned, which would list it twice.
        locked = [message for entity in self._dead_letter_entities() for message in self._lock_all(entity)]
        for message in locked:
            self._settle("PUT", message, "unlock")
        return [_dead_letter_of(message) for message in locked]

    def resubmit_dead_letter(self, message_id: str) -> str | None:
        """Send the dead letter back to the queue under a new MessageId (the old one may still be in
        the duplicate-detection window) and remove it; the new id, or None when not found."""
        message = self._find(message_id)
        if message is None:
            return None
        new_id = f"{message.message_id.split('#resubmit-')[0]}#resubmit-{uuid.uuid4().hex[:8]}"
        self._send(self.queue, new_id, message.body, message.session, {})
        self.complete(message)
        return new_id

    def purge_dead_letter(self, message_id: str) -> bool:
        message = self._find(message_id)
        return message is not None and self.complete(message)

    # -- REST calls ----------------------------------------------------------------------------

    def _entity_uri(self, entity: str) -> str:
        return f"https://{self.host}/{quote(entity, safe='/$')}"

    def _headers(self, entity: str) -> dict[str, str]:
        # The SAS audience is the queue (a DLQ path is authorised by its queue's token).
        return {"Authorization": self._auth.header(self._entity_uri(entity.split("/")[0]))}

    def _send(self, entity: str, message_id: str, body: dict[str, Any], session: str | None,
              properties: dict[str, str]) -> None:
        broker: dict[str, Any] = {"MessageId": message_id}
        if session is not None:
            broker["SessionId"] = session
        headers = self._headers(entity) | {
            "Content-Type": "application/json",
            "BrokerProperties": json.dumps(broker),
        } | {name: json.dumps(value) for name, value in properties.items()}
        response = self._http.post(f"{self._entity_uri(entity)}/messages", headers=headers,
                                   content=json.dumps(body, default=str).encode())
        if response.status_code != 201:
            raise ServiceBusError("send", response)

    def _peek_lock(self, entity: str, timeout_s: int) -> ServiceBusMessage | None:
        response = self._http.post(f"{self._entity_uri(entity)}/messages/head", params={"timeout": timeout_s},
                                   headers=self._headers(entity))
        if response.status_code == 204:
            return None
        if response.status_code not in (200, 201):
            raise ServiceBusError("peek-lock", response)
        return _message_of(response)

    def _settle(self, method: str, message: ServiceBusMessage, operation: str) -> bool:
        entity = httpx.URL(message.location).path.split("/messages/")[0].lstrip("/")
        response = self._http.request(method, message.location, headers=self._headers(entity))
        if response.status_code in (404, 410):
            return False
        if response.status_code >= 300:
            raise ServiceBusError(operation, response)
        return True

    def _dead_letter_entities(self) -> list[str]:
        return [f"{self.queue}/{DEAD_LETTER_PATH}", self.deadletter_queue,
                f"{self.deadletter_queue}/{DEAD_LETTER_PATH}"]

    def _lock_all(self, entity: str) -> list[ServiceBusMessage]:
        locked: list[ServiceBusMessage] = []
        while len(locked) < MAX_SCAN:
            message = self._peek_lock(entity, 1)
            if message is None:
                break
            locked.append(message)
        return locked

    def _find(self, message_id: str) -> ServiceBusMessage | None:
        """Lock dead letters until ``message_id``; the others are unlocked again."""
        for entity in self._dead_letter_entities():
            passed: list[ServiceBusMessage] = []
            try:
                for _ in range(MAX_SCAN):
                    message = self._peek_lock(entity, 1)
                    if message is None:
                        break
                    if message.message_id == message_id:
                        return message
                    passed.append(message)
            finally:
                for other in passed:
                    self._settle("PUT", other, "unlock")
        return None


_BROKER_HEADERS = {"brokerproperties", "content-type", "content-length", "location", "date", "server",
                   "transfer-encoding", "strict-transport-security", "connection"}


def _message_of(response: httpx.Response) -> ServiceBusMessage:
    broker = json.loads(response.headers.get("BrokerProperties", "{}"))
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    enqueued = broker.get("EnqueuedTimeUtc")
    properties = {
        name: _property_value(value) for name, value in response.headers.items() if name.lower() not in _BROKER_HEADERS
    }
    return ServiceBusMessage(
        message_id=str(broker.get("MessageId", "")),
        # A body that is not a JSON object stays visible (and is dead-lettered by the drain).
        body=body if isinstance(body, dict) else {"unreadable_body": response.text[:1000]},
        session=broker.get("SessionId"),
        delivery_count=int(broker.get("DeliveryCount", 1)),
        sequence_number=int(broker.get("SequenceNumber", 0)),
        lock_token=str(broker.get("LockToken", "")),
        location=response.headers["Location"],
        enqueued_at=parsedate_to_datetime(enqueued).timestamp() if enqueued else None,
        properties=properties,
    )


def _property_value(raw: str) -> str:
    """Custom properties come back as headers holding JSON values (``"text"``, ``12``)."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, str) else raw


def _dead_letter_of(message: ServiceBusMessage) -> DeadLetter:
    parked = message.properties.get(PARKED_REASON.lower())
    if parked is not None:
        reason, description = parked, None
    else:  # dead-lettered by the broker (MaxDeliveryCountExceeded, TTLExpiredException, ...)
        reason = message.properties.get("deadletterreason") or "unknown"
        description = message.properties.get("deadlettererrordescription")
    return DeadLetter(
        message_id=message.message_id,
        body=message.body,
        reason=f"{reason}: {description}" if description else reason,
        session=message.session,
        delivery_count=int(message.properties.get("originaldeliverycount", message.delivery_count)),
        enqueued_at=message.enqueued_at,
    )
