"""The notification service: accept → persist → 202; drain → reconcile → ingest → orchestrate →
advance the cursor.

Pushes are hints. The request path only validates and persists them (no provider call), so Graph
gets its 2xx well within 3 s; the drain later reconciles the mailbox folder from its stored cursor,
which is what makes duplicates, reordering and early notifications harmless: a reconcile reads what
the provider shows at that moment, message and document dedupe absorb re-reads, and the cursor
moves only after every message of a page is stored. A message that was not yet visible to a
reconcile is found by the next one (the next push, or the safety-net reconcile).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from shared.api.http import ApiResponse
from shared.domain import utcnow
from shared.intake.pool import IntakePool
from shared.intake.service import ingest_message, start_orchestrations
from shared.mailboxes.gmail.push import CertSource, PushAuthError, PushFormatError, parse_push, verify_pubsub_jwt
from shared.mailboxes.graph.notifications import AcceptedNotification, parse_graph_notifications, validation_response
from shared.mailboxes.models import Mailbox, MessageRef, Notification, Provider, Subscription
from shared.mailboxes.ports import MailConnector, NotificationQueue, PushSubscriber
from shared.mailboxes.queue import QUEUE_FILE, SqliteNotificationQueue
from shared.mailboxes.registry import MailboxRegistry
from shared.mailboxes.secrets import SecretBox
from shared.ports import OrchestrationClient
from shared.services import Services, get_services
from shared.settings import Settings
from shared.telemetry import observe_queue_depth

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

MAX_PROVIDER_REQUESTS = 4  # per mailbox, concurrently (Graph throttles beyond)
MAX_PAGES = 1000  # one reconcile never pages forever
GMAIL_EMPTY_HISTORY_BACKOFF_S = (0.5, 1.0, 2.0)  # history.list can lag the push by a moment
LOCK_SECONDS = 300.0
INTAKE_CONCURRENCY = 8  # messages of one page taken in at once (I/O-bound: blobs, SQLite)
# A notification received this long before a reconcile started is covered by that reconcile
# (a margin for clock skew between the instances that accept and the ones that drain).
COVERED_MARGIN = timedelta(seconds=2)
SAFETY_NET = "safety-net"


@dataclass
class ReconcileResult:
    mailbox_id: str
    folder: str
    seen: int = 0
    documents: int = 0  # new documents stored
    duplicates: int = 0  # messages or documents seen before
    skipped: list[str] = field(default_factory=list)  # refused by the mailbox rules
    started: list[str] = field(default_factory=list)  # orchestration instance ids
    full_resync: bool = False


class MailboxService:
    def __init__(
        self,
        registry: MailboxRegistry,
        queue: NotificationQueue[Any],
        services: Services,
        *,
        gmail_certs: CertSource | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        empty_history_backoff_s: tuple[float, ...] = GMAIL_EMPTY_HISTORY_BACKOFF_S,
    ) -> None:
        self.registry = registry
        self.queue = queue
        self.services = services
        self._gmail_certs = gmail_certs
        self._clock = clock
        self._sleep = sleep
        self._empty_history_backoff_s = empty_history_backoff_s
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._semaphores_lock = threading.Lock()
        self.intake_pool: IntakePool | None = None  # papyr serve sets one; else intake runs on threads

    # -- accept (request path: validate and persist only) ------------------------------------

    def accept_graph(self, body: bytes, query: Mapping[str, str]) -> ApiResponse:
        token = validation_response(query)
        if token is not None:  # the subscription handshake: echo the (already URL-decoded) token
            return ApiResponse(status=200, body=token.encode(), content_type="text/plain")
        batch = parse_graph_notifications(body, self._expected_client_state)
        for rejected in batch.rejected:
            log.warning("graph notification rejected: %s (subscription %s, item %s)",
                        rejected.reason, rejected.subscription_id, rejected.index)
        if not batch.accepted:
            unreadable = all(rejected.index is None for rejected in batch.rejected)  # not even a 'value' list
            return ApiResponse.error(400 if unreadable else 403, "no valid notification")
        received_at = self._clock()
        try:
            for accepted in batch.accepted:
                self._enqueue_graph(accepted, received_at)
        except Exception:  # only a failure to persist may answer 5xx (Graph then retries)
            log.exception("graph notifications could not be persisted")
            return ApiResponse.error(503, "notification not persisted; retry")
        return ApiResponse.of_json({"accepted": len(batch.accepted), "rejected": len(batch.rejected)}, status=202)

    def _expected_client_state(self, subscription_id: str) -> str | None:
        subscription = self.registry.get_subscription(subscription_id)
        return subscription.client_state if subscription is not None else None

    def _enqueue_graph(self, accepted: AcceptedNotification, received_at: datetime) -> None:
        subscription = self.registry.get_subscription(accepted.subscription_id)
        if subscription is None:  # removed between validation and now
            return
        parts = [accepted.subscription_id, accepted.resource or "", accepted.change_type or ""]
        if accepted.lifecycle_event:
            parts.append(accepted.lifecycle_event)
        notification = Notification(
            key="graph:" + _digest("\x00".join(parts)),
            mailbox_id=subscription.mailbox_id,
            folder=subscription.folder,
            kind=f"lifecycle:{accepted.lifecycle_event}" if accepted.lifecycle_event else "change",
            received_at=received_at,
            payload={"subscription_id": accepted.subscription_id, "resource": accepted.resource,
                     "change_type": accepted.change_type, "message_id": accepted.message_id},
        )
        self.enqueue(notification)

    def accept_gmail(self, headers: Mapping[str, str], body: bytes) -> ApiResponse:
        settings = self.services.settings
        if not settings.gmail_push_audience or not settings.gmail_push_service_account:
            log.warning("gmail push refused: PAPYR_GMAIL_PUSH_AUDIENCE / _SERVICE_ACCOUNT not configured")
            return ApiResponse.error(401, "push cannot be verified")
        try:
            verify_pubsub_jwt(
                headers.get("authorization"),
                audience=settings.gmail_push_audience,
                service_account_email=settings.gmail_push_service_account,
                certs=self._certs(),
            )
        except PushAuthError as refused:
            log.warning("gmail push refused: %s", refused.reason)
            return ApiResponse.error(401, "push token not verified")
        except Exception:  # Google's certs unreachable: our outage, Pub/Sub retries
            log.exception("gmail push could not be verified")
            return ApiResponse.error(503, "push verification unavailable; retry")
        try:
            push = parse_push(body)
        except PushFormatError as malformed:  # verified but unusable: a NACK would loop forever
            log.warning("gmail push ignored: %s", malformed)
            return ApiResponse.of_json({"ignored": "malformed"}, status=200)
        mailbox = self.registry.find(Provider.GMAIL, push.email_address)
        if mailbox is None:
            log.warning("gmail push for an unknown mailbox ignored")
            return ApiResponse.of_json({"ignored": "unknown mailbox"}, status=200)
        if self._gmail_push_stale(mailbox, push.history_id):
            return ApiResponse.of_json({"ignored": "stale"}, status=200)
        notification = Notification(
            key=f"gmail:{push.message_id}", mailbox_id=mailbox.id, folder=None, kind="push",
            received_at=self._clock(), payload={"history_id": push.history_id},
        )
        try:
            fresh = self.enqueue(notification)
            self.registry.advance_push_mark(mailbox.id, push.history_id)
        except Exception:
            log.exception("gmail push could not be persisted")
            return ApiResponse.error(503, "push not persisted; retry")
        return ApiResponse.of_json({"accepted": 1} if fresh else {"ignored": "duplicate"}, status=200)

    def _certs(self) -> CertSource:
        if self._gmail_certs is None:
            from shared.mailboxes.gmail.certs import GoogleCerts

            self._gmail_certs = GoogleCerts()
        return self._gmail_certs

    def _gmail_push_stale(self, mailbox: Mailbox, history_id: int) -> bool:
        """Already pushed, or the stored history cursor of every label is at or past it."""
        mark = self.registry.push_mark(mailbox.id)
        if mark is not None and history_id <= mark:
            return True
        cursors = [self.registry.get_cursor(mailbox.id, folder) for folder in mailbox.rules.folders]
        return bool(cursors) and all(
            c is not None and c.cursor is not None and c.cursor.isdigit() and int(c.cursor) >= history_id
            for c in cursors
        )

    def enqueue(self, notification: Notification) -> bool:
        """Persist; False for a repeated delivery (same key within the dedupe window). The session
        is the mailbox: one reconcile per mailbox at a time."""
        return self.queue.send(notification.key, notification.model_dump(mode="json"), session=notification.mailbox_id)

    def request_reconcile(self, mailbox_id: str, folder: str | None = None, reason: str = SAFETY_NET) -> bool:
        """Ask the drain for a reconcile (the safety net, a manual catch-up)."""
        now = self._clock()
        return self.enqueue(Notification(
            key=f"{reason}:{mailbox_id}:{folder or '*'}:{now.isoformat()}", mailbox_id=mailbox_id,
            folder=folder, kind=reason, received_at=now,
        ))

    # -- drain (workers: reconcile what the notifications point at) --------------------------

    async def drain(
        self,
        connectors: Mapping[Provider, MailConnector],
        client: OrchestrationClient,
        max_messages: int = 32,
        subscribers: Mapping[Provider, PushSubscriber] | None = None,
    ) -> int:
        """Handle one batch of queued notifications; returns how many were completed. A failing
        group is abandoned (delivered again later, dead-lettered after the maximum deliveries);
        nothing raised here stops the loop that calls it."""
        messages = await asyncio.to_thread(self.queue.receive, max_messages, LOCK_SECONDS)
        groups: dict[tuple[str, str | None], list[Any]] = {}
        for message in messages:
            try:
                notification = Notification.model_validate(message.body)
            except ValueError:
                await asyncio.to_thread(self.queue.dead_letter, message, "not a notification")
                continue
            groups.setdefault((notification.mailbox_id, notification.folder), []).append((message, notification))
        results = await asyncio.gather(*(
            self._handle_group(mailbox_id, folder, group, connectors, client, subscribers or {})
            for (mailbox_id, folder), group in groups.items()
        ))
        return sum(results)

    async def _handle_group(
        self,
        mailbox_id: str,
        folder: str | None,
        group: list[tuple[Any, Notification]],
        connectors: Mapping[Provider, MailConnector],
        client: OrchestrationClient,
        subscribers: Mapping[Provider, PushSubscriber],
    ) -> int:
        try:
            mailbox = await asyncio.to_thread(self.registry.get, mailbox_id)
            if mailbox is not None:
                for _, notification in group:
                    if notification.kind.startswith("lifecycle:"):
                        await self._lifecycle(mailbox, notification, subscribers.get(mailbox.provider))
                folders = [folder] if folder else list(mailbox.rules.folders)
                oldest = min(notification.received_at for _, notification in group)
                push = any(notification.kind == "push" for _, notification in group)
                for name in folders:
                    if not await asyncio.to_thread(self._covered, mailbox.id, name, oldest):
                        await self.reconcile(mailbox, name, connectors[mailbox.provider], client, after_push=push)
            else:
                log.info("notifications for removed mailbox %s dropped", mailbox_id)
        except Exception:
            log.exception("reconcile of mailbox %s folder %s failed; notifications abandoned", mailbox_id, folder)
            for message, _ in group:
                await asyncio.to_thread(self.queue.abandon, message)
            return 0
        for message, _ in group:
            await asyncio.to_thread(self.queue.complete, message)
        return len(group)

    def _covered(self, mailbox_id: str, folder: str, received_at: datetime) -> bool:
        """A reconcile that started after this notification arrived has already done its work."""
        cursor = self.registry.get_cursor(mailbox_id, folder)
        return cursor is not None and received_at + COVERED_MARGIN <= cursor.synced_from

    async def _lifecycle(self, mailbox: Mailbox, notification: Notification, subscriber: PushSubscriber | None) -> None:
        event = notification.kind.removeprefix("lifecycle:")
        subscription_id = str(notification.payload.get("subscription_id") or "")
        subscription = await asyncio.to_thread(self.registry.get_subscription, subscription_id)
        if event == "missed" or subscription is None:
            return  # the reconcile that follows catches up
        if subscriber is None:
            raise RuntimeError(f"no push subscriber for {mailbox.provider.value}: cannot handle {event}")
        if event == "reauthorizationRequired":
            renewed = await self._provider_call(mailbox, subscriber.renew, mailbox, subscription)
            await asyncio.to_thread(self.registry.save_subscription, _keep_state(renewed, subscription))
        elif event == "subscriptionRemoved":
            await self.resubscribe(mailbox, subscription, subscriber)

    async def resubscribe(self, mailbox: Mailbox, old: Subscription, subscriber: PushSubscriber) -> Subscription:
        """Create a new subscription for the old one's folder (a fresh clientState) and forget the old."""
        folder = old.folder or mailbox.rules.folders[0]
        created = await self._provider_call(
            mailbox, subscriber.subscribe, mailbox, folder, self.notification_url(mailbox.provider), new_client_state()
        )
        created = created.model_copy(update={"folder": created.folder or folder})
        await asyncio.to_thread(self.registry.save_subscription, created)
        if created.id != old.id:
            await asyncio.to_thread(self.registry.delete_subscription, old.id)
        return created

    def notification_url(self, provider: Provider) -> str:
        base = self.services.settings.public_base_url.rstrip("/")
        return f"{base}/api/notifications/{'graph' if provider is Provider.OUTLOOK else 'gmail'}"

    # -- reconcile ---------------------------------------------------------------------------

    async def reconcile(
        self,
        mailbox: Mailbox,
        folder: str,
        connector: MailConnector,
        client: OrchestrationClient,
        *,
        after_push: bool = False,
    ) -> ReconcileResult:
        """Read every change since the folder's cursor and take each message in; the cursor moves
        after each page whose messages are all stored (a crash re-reads that page, dedupe absorbs it)."""
        started = self._clock()
        stored = await asyncio.to_thread(self.registry.get_cursor, mailbox.id, folder)
        cursor = stored.cursor if stored is not None else None
        synced_from = stored.synced_from if stored is not None else started - timedelta(days=36500)
        result = ReconcileResult(mailbox_id=mailbox.id, folder=folder)
        retries = list(self._empty_history_backoff_s) if after_push and mailbox.provider is Provider.GMAIL else []
        for _ in range(MAX_PAGES):
            batch = await self._provider_call(mailbox, connector.changes, mailbox, folder, cursor)
            if not batch.refs and batch.complete and retries and result.seen == 0:
                # Gmail's history can lag its push: ask again a few times before concluding "nothing".
                await asyncio.to_thread(self._sleep, retries.pop(0))
                continue
            result.full_resync = result.full_resync or batch.full_resync
            await self._take_in(mailbox, batch.refs, connector, client, result)
            cursor = batch.cursor if batch.cursor is not None else cursor
            await asyncio.to_thread(self.registry.set_cursor, mailbox.id, folder, cursor,
                                    started if batch.complete else synced_from)
            if batch.complete:
                break
            if batch.cursor is None:
                raise RuntimeError(f"{mailbox.provider.value} connector returned an incomplete page without a cursor")
        log.info("reconciled mailbox=%s folder=%s seen=%d documents=%d duplicates=%d skipped=%d",
                 mailbox.id, folder, result.seen, result.documents, result.duplicates, len(result.skipped))
        return result

    async def _take_in(
        self,
        mailbox: Mailbox,
        refs: list[MessageRef],
        connector: MailConnector,
        client: OrchestrationClient,
        result: ReconcileResult,
    ) -> None:
        result.seen += len(refs)
        unique = {ref.provider_id: ref for ref in refs}.values()  # a page naming a message twice
        wanted = [
            ref for ref in unique if self._allowed(mailbox, ref, result) and not self._already_in(mailbox, ref, result)
        ]

        async def fetch(ref: MessageRef) -> bytes | None:
            try:
                return await self._provider_call(mailbox, connector.fetch_mime, mailbox, ref)
            except LookupError:  # deleted or moved since it was listed: nothing left to take in
                result.skipped.append(ref.provider_id)
                log.info("mailbox %s: message %s vanished before it was fetched", mailbox.id, ref.provider_id)
                return None

        raws = await asyncio.gather(*(fetch(ref) for ref in wanted))
        intake = asyncio.Semaphore(INTAKE_CONCURRENCY)

        async def take(ref: MessageRef, raw: bytes | None) -> None:
            if raw is None:
                return
            if ref.sender is None and not mailbox.rules.accepts(_sender_of(raw)):
                result.skipped.append(ref.provider_id)
                log.info("mailbox %s: message %s skipped by the sender rules", mailbox.id, ref.provider_id)
                return
            source = f"{mailbox.provider.value}:{ref.provider_id}"
            async with intake:
                if self.intake_pool is not None:
                    ingested = await self.intake_pool.ingest(raw, mailbox=mailbox.address, source=source)
                else:
                    ingested = await asyncio.to_thread(
                        ingest_message, raw, mailbox=mailbox.address, source=source, services=self.services
                    )
                result.documents += len(ingested.documents)
                result.duplicates += len(ingested.duplicates) + (ingested.outcome.value == "duplicate message")
                result.started += await start_orchestrations(ingested.documents, client, self.services.settings)
            try:
                await self._provider_call(mailbox, connector.after_processing, mailbox, ref)
            except Exception:  # best effort: the documents are stored; never re-read for this
                log.warning("mailbox %s: after-processing of %s failed", mailbox.id, ref.provider_id, exc_info=True)

        # Messages of one page are independent (message and document dedupe are keyed by content), so
        # they are taken in concurrently; the cursor moves only after all of them.
        await asyncio.gather(*(take(ref, raw) for ref, raw in zip(wanted, raws, strict=True)))

    def _already_in(self, mailbox: Mailbox, ref: MessageRef, result: ReconcileResult) -> bool:
        """Delta and history also report messages that changed (e.g. marked read by us): a message
        whose Message-ID intake has already claimed is not fetched again."""
        message_id = (ref.internet_message_id or "").strip().strip("<>")
        if message_id and self.services.repo.message_claimed(mailbox.address, message_id):
            result.duplicates += 1
            return True
        return False

    def _allowed(self, mailbox: Mailbox, ref: MessageRef, result: ReconcileResult) -> bool:
        if ref.sender is None or mailbox.rules.accepts(ref.sender):
            return True
        result.skipped.append(ref.provider_id)
        log.info("mailbox %s: message %s skipped by the sender rules", mailbox.id, ref.provider_id)
        return False

    async def _provider_call(self, mailbox: Mailbox, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A provider request on a worker thread, at most ``MAX_PROVIDER_REQUESTS`` per mailbox."""
        semaphore = self._semaphore(mailbox.id)

        def call() -> T:
            with semaphore:
                return fn(*args, **kwargs)

        return await asyncio.to_thread(call)

    def _semaphore(self, mailbox_id: str) -> threading.BoundedSemaphore:
        with self._semaphores_lock:
            return self._semaphores.setdefault(mailbox_id, threading.BoundedSemaphore(MAX_PROVIDER_REQUESTS))


def run_forever(
    service: MailboxService,
    connectors: Mapping[Provider, MailConnector],
    client: OrchestrationClient,
    stop: threading.Event,
    *,
    subscribers: Mapping[Provider, PushSubscriber] | None = None,
    reconcile_interval_s: float | None = None,
    idle_wait_s: float = 0.5,
) -> None:
    """The local host's mailbox worker: drain as notifications arrive, and every
    ``reconcile_interval_s`` queue the safety-net reconcile of every watched folder. Runs on its own
    thread and event loop until ``stop`` is set; an error is logged and the loop goes on."""
    interval = reconcile_interval_s or service.services.settings.reconcile_interval_s
    next_safety_net = time.monotonic()
    loop = asyncio.new_event_loop()
    try:
        while not stop.is_set():
            try:
                if time.monotonic() >= next_safety_net:
                    next_safety_net = time.monotonic() + interval
                    for mailbox in service.registry.list():
                        for folder in mailbox.rules.folders:
                            service.request_reconcile(mailbox.id, folder)
                handled = loop.run_until_complete(service.drain(connectors, client, subscribers=subscribers))
            except Exception:
                log.exception("mailbox worker: drain failed")
                handled = 0
            if not handled:
                wait = getattr(service.queue, "wait", None)
                if callable(wait):
                    wait(idle_wait_s)
                else:
                    stop.wait(idle_wait_s)
    finally:
        loop.close()


def new_client_state() -> str:
    """A fresh clientState: secret, 43 URL-safe characters (Graph allows 128)."""
    import secrets

    return secrets.token_urlsafe(32)


def _keep_state(renewed: Subscription, old: Subscription) -> Subscription:
    """A renewal keeps the folder and clientState of the subscription it renews."""
    return renewed.model_copy(update={
        "folder": renewed.folder or old.folder, "client_state": renewed.client_state or old.client_state,
    })


def _sender_of(raw: bytes) -> str | None:
    headers = BytesHeaderParser().parsebytes(raw[:256 * 1024])
    address = parseaddr(str(headers.get("From") or ""))[1]
    return address or None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_cache: dict[Path, MailboxService] = {}
_cache_lock = threading.Lock()


def get_mailbox_service(services: Services | None = None) -> MailboxService:
    """The process's service for these services' data dir (registry, queue, secret key there)."""
    services = services or get_services()
    data_dir = services.settings.data_dir.resolve()
    with _cache_lock:
        service = _cache.get(data_dir)
        if service is None or service.services is not services:
            registry = MailboxRegistry.in_data_dir(data_dir, SecretBox.from_settings(services.settings))
            queue = build_notification_queue(services.settings)
            observe_queue_depth("notifications", queue)
            service = _cache[data_dir] = MailboxService(registry, queue, services)
        return service


def build_notification_queue(settings: Settings) -> NotificationQueue[Any]:
    """Service Bus when the settings name a namespace or connection string, else the SQLite queue."""
    connection_string = settings.servicebus_connection_string
    if settings.servicebus_namespace or connection_string:
        from shared.adapters.azure.servicebus import ServiceBusNotificationQueue

        return ServiceBusNotificationQueue.from_settings(
            settings.servicebus_namespace, settings.intake_queue,
            connection_string=connection_string.get_secret_value() if connection_string else None,
            deadletter_queue=settings.intake_deadletter_queue,
        )
    return SqliteNotificationQueue(settings.data_dir.resolve() / QUEUE_FILE,
                                   dedupe_window_s=settings.notification_dedupe_s)


def set_mailbox_service(service: MailboxService) -> None:
    """Install a service built explicitly (a host with its own certs source, a test)."""
    with _cache_lock:
        _cache[service.services.settings.data_dir.resolve()] = service
