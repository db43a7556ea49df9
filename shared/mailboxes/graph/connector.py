"""Outlook / Microsoft 365 mailboxes through Microsoft Graph (msgraph-sdk on one httpx client).

- changes: per-folder messages delta; the cursor is the @odata.deltaLink (or a @odata.nextLink when a
  call stops after ``max_pages``); 410 Gone → a fresh initial delta bounded to recent mail.
- fetch_mime: ``/messages/{id}/$value`` streamed through the same httpx client (the SDK buffers it).
- subscriptions: POST / PATCH / DELETE ``/subscriptions``; renew at half the lifetime.
- throttling: 429 / 503 / 504 honour Retry-After with bounded retries. The ≤ 4 requests in flight
  per mailbox that Graph allows are enforced once, for every provider, by the mailbox service.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import IO, Any, TypeVar
from urllib.parse import quote

import httpx
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.subscription import Subscription as GraphSubscription
from msgraph.generated.users.item.mail_folders.item.messages.delta.delta_get_response import DeltaGetResponse
from msgraph.generated.users.item.mail_folders.item.messages.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.item.mail_folders.mail_folders_request_builder import MailFoldersRequestBuilder
from msgraph.generated.users.item.messages.item.move.move_post_request_body import MovePostRequestBody

from shared.mailboxes.graph.errors import GraphError, parse_retry_after
from shared.mailboxes.graph.runtime import GraphRuntime, TokenSource
from shared.mailboxes.models import AfterProcessing, ChangeBatch, Mailbox, MessageRef, Subscription

T = TypeVar("T")

GRAPH_V1 = "https://graph.microsoft.com/v1.0"
DELTA_SELECT = ["id", "internetMessageId", "from", "hasAttachments", "receivedDateTime", "isRead"]
MAX_SUBSCRIPTION_LIFETIME = timedelta(minutes=10080)  # Graph's maximum for Outlook messages
WELL_KNOWN_FOLDERS = frozenset(
    {"inbox", "archive", "deleteditems", "drafts", "junkemail", "outbox", "sentitems", "clutter", "msgfolderroot"}
)
MAX_MIME_BYTES = 160 * 1024 * 1024  # Exchange Online caps a message at 150 MB
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024


class GraphConnector:
    """MailConnector + PushSubscriber for Outlook mailboxes.

    ``credential_or_token_provider``: an azure-identity credential (``ClientSecretCredential`` for
    app-only ``Mail.Read`` on a shared AP mailbox) or a callable returning a delegated bearer token.
    ``transport`` is the test seam (``httpx.MockTransport`` works: it is an async transport too).
    The mailbox is addressed as ``/users/{mailbox.config['user_id'] or mailbox.address}``.
    """

    def __init__(
        self,
        credential_or_token_provider: TokenSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        base_url: str = GRAPH_V1,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 5,
        max_retry_wait_s: float = 300.0,
        initial_sync_days: int = 30,
        page_size: int = 50,
        max_pages: int = 100,
        subscription_lifetime: timedelta = MAX_SUBSCRIPTION_LIFETIME - timedelta(minutes=10),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if subscription_lifetime > MAX_SUBSCRIPTION_LIFETIME:
            raise ValueError(f"subscription lifetime above Graph's maximum of {MAX_SUBSCRIPTION_LIFETIME}")
        self._runtime = GraphRuntime(credential_or_token_provider, transport=transport, base_url=base_url)
        self._graph = self._runtime.graph
        self._sleep = sleep
        self._max_retries = max_retries
        self._max_retry_wait_s = max_retry_wait_s
        self._initial_sync_days = initial_sync_days
        self._page_size = page_size
        self._max_pages = max_pages
        self._lifetime = subscription_lifetime
        self._clock = clock
        self._folder_ids: dict[tuple[str, str], str] = {}

    def close(self) -> None:
        """Close the HTTP client and stop the private loop thread."""
        self._runtime.close()

    def __enter__(self) -> GraphConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- MailConnector -------------------------------------------------------------------------

    def changes(self, mailbox: Mailbox, folder: str, cursor: str | None) -> ChangeBatch:
        try:
            return self._delta(mailbox, folder, cursor, full_resync=False)
        except GraphError as error:
            if cursor is None or not error.is_sync_state_lost:
                raise
        # The stored delta link expired (410): start over, bounded to recent mail; intake dedupes the rest.
        return self._delta(mailbox, folder, None, full_resync=True)

    def fetch_mime(self, mailbox: Mailbox, ref: MessageRef) -> bytes:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
            self.fetch_mime_to(mailbox, ref, spool)
            spool.seek(0)
            return spool.read()

    def fetch_mime_to(self, mailbox: Mailbox, ref: MessageRef, sink: IO[bytes]) -> int:
        """Stream the message's MIME into ``sink`` (a file); returns the byte count."""
        user, message_id = _segment(self._user(mailbox)), _segment(ref.provider_id)
        url = f"{self._runtime.base_url}/users/{user}/messages/{message_id}/$value"
        start = sink.tell()

        async def stream() -> int:
            sink.seek(start)
            sink.truncate()
            headers = {"Authorization": await self._runtime.bearer(url), "Accept": "message/rfc822"}
            async with self._runtime.http.stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _http_error(response)
                written = 0
                async for chunk in response.aiter_bytes():
                    written += len(chunk)
                    if written > MAX_MIME_BYTES:
                        raise GraphError(413, "messageTooLarge", f"MIME above {MAX_MIME_BYTES} bytes")
                    sink.write(chunk)
                return written

        return self._call(mailbox, stream)

    def after_processing(self, mailbox: Mailbox, ref: MessageRef) -> None:
        rules = mailbox.rules
        message = self._graph.users.by_user_id(self._user(mailbox)).messages.by_message_id(ref.provider_id)
        try:
            if rules.after is AfterProcessing.MARK_READ:
                self._call(mailbox, lambda: message.patch(Message(is_read=True)))
            elif rules.after is AfterProcessing.MOVE and rules.target_folder:
                destination = self._folder_id(mailbox, rules.target_folder)
                self._call(mailbox, lambda: message.move.post(MovePostRequestBody(destination_id=destination)))
        except GraphError as error:
            if not error.is_not_found:  # the message was moved or deleted meanwhile: nothing left to do
                raise

    # -- PushSubscriber ------------------------------------------------------------------------

    def subscribe(self, mailbox: Mailbox, folder: str, notification_url: str, client_state: str) -> Subscription:
        if not 0 < len(client_state) <= 128:
            raise ValueError("clientState must be 1..128 characters")
        folder_id = self._folder_id(mailbox, folder)
        resource = f"/users/{self._user(mailbox)}/mailFolders('{folder_id}')/messages"
        body = GraphSubscription(
            change_type="created",
            resource=resource,
            notification_url=notification_url,
            lifecycle_notification_url=notification_url,
            client_state=client_state,
            expiration_date_time=self._clock() + self._lifetime,
        )
        created = self._call(mailbox, lambda: self._graph.subscriptions.post(body))
        if created is None or not created.id:
            raise GraphError(502, "emptyResponse", "subscription created without an id")
        return Subscription(
            mailbox_id=mailbox.id,
            id=created.id,
            resource=created.resource or resource,
            expires_at=_aware(created.expiration_date_time) or body.expiration_date_time,
            client_state=client_state,
            folder=folder,
        )

    def renew(self, mailbox: Mailbox, subscription: Subscription) -> Subscription:
        expires = self._clock() + self._lifetime
        builder = self._graph.subscriptions.by_subscription_id(subscription.id)
        renewed = self._call(mailbox, lambda: builder.patch(GraphSubscription(expiration_date_time=expires)))
        confirmed = _aware(renewed.expiration_date_time) if renewed is not None else None
        return subscription.model_copy(update={"expires_at": confirmed or expires})

    def unsubscribe(self, mailbox: Mailbox, subscription: Subscription) -> None:
        builder = self._graph.subscriptions.by_subscription_id(subscription.id)
        try:
            self._call(mailbox, builder.delete)
        except GraphError as error:
            if not error.is_not_found:
                raise

    def renew_at(self, subscription: Subscription) -> datetime:
        """When to renew: half the configured lifetime before expiry (i.e. about halfway through)."""
        return subscription.expires_at - self._lifetime / 2

    # -- delta ---------------------------------------------------------------------------------

    def _delta(self, mailbox: Mailbox, folder: str, cursor: str | None, *, full_resync: bool) -> ChangeBatch:
        refs: list[MessageRef] = []
        link = cursor
        for _ in range(self._max_pages):
            page = self._call(mailbox, lambda link=link: self._delta_page(mailbox, folder, link))  # type: ignore[misc]
            if page is None:
                raise GraphError(502, "emptyResponse", "delta page without a body")
            refs.extend(_refs(mailbox, folder, page.value or []))
            if page.odata_delta_link:
                return ChangeBatch(refs=refs, cursor=page.odata_delta_link, full_resync=full_resync)
            if not page.odata_next_link:
                raise GraphError(502, "noDeltaLink", "delta page with neither nextLink nor deltaLink")
            link = page.odata_next_link
        # Stopped early: the nextLink is itself a resumable cursor.
        return ChangeBatch(refs=refs, cursor=link, full_resync=full_resync, complete=False)

    async def _delta_page(self, mailbox: Mailbox, folder: str, link: str | None) -> DeltaGetResponse | None:
        config: RequestConfiguration[Any] = RequestConfiguration()
        config.headers.add("Prefer", f"odata.maxpagesize={self._page_size}")
        if link:  # next/delta links carry every query option already
            return await DeltaRequestBuilder(self._graph.request_adapter, link).get(request_configuration=config)
        since = self._clock() - timedelta(days=self._initial_sync_days)
        config.query_parameters = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            select=DELTA_SELECT,
            filter=f"receivedDateTime ge {since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        )
        folder_id = await self._folder_id_async(mailbox, folder)
        user = self._graph.users.by_user_id(self._user(mailbox))
        return await user.mail_folders.by_mail_folder_id(folder_id).messages.delta.get(request_configuration=config)

    # -- folders -------------------------------------------------------------------------------

    def _folder_id(self, mailbox: Mailbox, name: str) -> str:
        return self._call(mailbox, lambda: self._folder_id_async(mailbox, name))

    async def _folder_id_async(self, mailbox: Mailbox, name: str) -> str:
        """A well-known name (inbox, archive...) as is; a display name ("Invoices", "AP/Processed") resolved once."""
        if name.lower() in WELL_KNOWN_FOLDERS:
            return name.lower()
        key = (mailbox.id, name)
        if key in self._folder_ids:
            return self._folder_ids[key]
        folders = self._graph.users.by_user_id(self._user(mailbox)).mail_folders
        parent_id: str | None = None
        for part in [p for p in name.split("/") if p]:
            config: RequestConfiguration[Any] = RequestConfiguration(
                query_parameters=MailFoldersRequestBuilder.MailFoldersRequestBuilderGetQueryParameters(
                    filter=f"displayName eq '{part.replace(chr(39), chr(39) * 2)}'", select=["id", "displayName"]
                )
            )
            if parent_id is None:
                found = await folders.get(request_configuration=config)
            else:
                found = await folders.by_mail_folder_id(parent_id).child_folders.get(request_configuration=config)
            matches = [f.id for f in (found.value if found and found.value else []) if f.id]
            if not matches:
                raise GraphError(404, "folderNotFound", f"no mail folder named {name!r} in {mailbox.address}")
            parent_id = matches[0]
        if parent_id is None:
            raise ValueError("empty folder name")
        self._folder_ids[key] = parent_id
        return parent_id

    # -- calls and retries ---------------------------------------------------------------------------

    def _call(self, mailbox: Mailbox, make: Callable[[], Awaitable[T]]) -> T:
        """Run one request on the private loop; retry 429/503/504 after Retry-After (waits in the caller's thread)."""
        for attempt in range(self._max_retries + 1):
            try:
                return self._runtime.loop.run(self._translated(make))
            except GraphError as error:
                if not error.retryable or attempt == self._max_retries:
                    raise
                wait = error.retry_after if error.retry_after is not None else min(2.0**attempt, 60.0)
                if wait > self._max_retry_wait_s:
                    raise
                self._sleep(wait)
        raise AssertionError("unreachable")

    @staticmethod
    async def _translated(make: Callable[[], Awaitable[T]]) -> T:
        """The SDK's and httpx's errors as GraphError (status, code, Retry-After)."""
        try:
            return await make()
        except ODataError as error:
            main = error.error
            raise _api_error(error, main.code if main else None, main.message if main else None) from error
        except APIError as error:
            raise _api_error(error, None, error.message) from error
        except httpx.TransportError as error:
            raise GraphError(503, "transportError", f"{type(error).__name__}: {error}") from error

    def _user(self, mailbox: Mailbox) -> str:
        return str(mailbox.config.get("user_id") or mailbox.address)


def _refs(mailbox: Mailbox, folder: str, messages: list[Message]) -> list[MessageRef]:
    refs = []
    for message in messages:
        if not message.id or "@removed" in (message.additional_data or {}):
            continue  # deleted or moved out of the folder: nothing to fetch
        sender = message.from_.email_address.address if message.from_ and message.from_.email_address else None
        refs.append(
            MessageRef(
                mailbox_id=mailbox.id,
                provider_id=message.id,
                folder=folder,
                sender=sender,
                internet_message_id=message.internet_message_id,
            )
        )
    return refs


def _api_error(error: APIError, code: str | None, message: str | None) -> GraphError:
    headers = error.response_headers or {}
    retry_after = headers.get("Retry-After") or headers.get("retry-after")
    return GraphError(
        error.response_status_code or 0,
        code,
        message or str(error),
        retry_after=parse_retry_after(retry_after),
    )


def _http_error(response: httpx.Response) -> GraphError:
    code, message = None, response.reason_phrase
    try:
        detail = response.json().get("error", {})
        code, message = detail.get("code"), detail.get("message") or message
    except (ValueError, AttributeError):
        pass
    return GraphError(
        response.status_code, code, message, retry_after=parse_retry_after(response.headers.get("Retry-After"))
    )


def _segment(value: str) -> str:
    return quote(value, safe="@")


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
