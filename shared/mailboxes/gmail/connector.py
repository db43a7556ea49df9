"""The Gmail connector: history.list reconcile, raw MIME fetch, labels after processing, users.watch.

Built on google-api-python-client with the discovery document that ships inside the package
(``static_discovery=True``: no discovery request). The transport is an httplib2-compatible object,
wrapped with the mailbox's OAuth credentials; tests pass ``googleapiclient.http.HttpMockSequence``.
Requests use ``userId="me"``: with delegation the credentials' subject is the mailbox user.
One connector serves many mailboxes but is not thread-safe (httplib2 is not): one per worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httplib2
from google.auth.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from shared.mailboxes.gmail.mime import GmailPayloadError, decode_base64url, rebuild_mime
from shared.mailboxes.gmail.retry import execute_with_retries
from shared.mailboxes.models import AfterProcessing, ChangeBatch, Mailbox, MessageRef, Subscription

log = logging.getLogger(__name__)

ME = "me"
SYSTEM_LABELS = frozenset({"INBOX", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT", "SENT", "DRAFT", "CHAT"})
HISTORY_TYPES = ["messageAdded", "labelAdded"]  # labelAdded: mail filed into the watched label later
PAGE_SIZE = 500  # the API's maximum for history.list and messages.list
MAX_HISTORY_PAGES = 40
FULL_SYNC_QUERY = "newer_than:30d"
FULL_SYNC_MAX_MESSAGES = 2000
HTTP_TIMEOUT_S = 60

CredentialsFactory = Callable[[Mailbox], Credentials]


class MessageGoneError(LookupError):
    """The message was deleted (or never existed) by the time it was fetched."""


class GmailConnector:
    """``MailConnector`` and ``PushSubscriber`` for Gmail. ``folder`` is a label name or id."""

    def __init__(
        self,
        credentials_factory: CredentialsFactory,
        *,
        http: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._credentials_factory = credentials_factory
        self._http = http
        self._sleep = sleep
        self._services: dict[str, Any] = {}
        self._labels: dict[str, dict[str, str]] = {}  # mailbox id -> lower-case name / id -> label id

    # -- MailConnector -------------------------------------------------------------------------

    def changes(self, mailbox: Mailbox, folder: str, cursor: str | None) -> ChangeBatch:
        """Messages added to ``folder`` since the historyId ``cursor``; None = bounded recent sync.

        An empty history right after a push is retried by the mailbox service (history can lag the
        push by a moment); this reads once.
        """
        label = self._label_id(mailbox, folder)
        if cursor is None:
            return self._recent(mailbox, folder, label, full_resync=False)
        if not cursor.isdigit():
            log.warning("Gmail %s: unusable history cursor, full sync", mailbox.id)
            return self._recent(mailbox, folder, label, full_resync=True)
        try:
            return self._history(mailbox, folder, label, int(cursor))
        except HttpError as error:
            if error.status_code != 404:
                raise
            log.warning("Gmail %s: historyId %s expired (404), full sync", mailbox.id, cursor)
            return self._recent(mailbox, folder, label, full_resync=True)

    def fetch_mime(self, mailbox: Mailbox, ref: MessageRef) -> bytes:
        messages = self._service(mailbox).users().messages()
        try:
            response = self._call(messages.get(userId=ME, id=ref.provider_id, format="raw"), "messages.get")
        except HttpError as error:
            if error.status_code == 404:
                raise MessageGoneError(f"Gmail message {ref.provider_id} no longer exists") from error
            if error.status_code not in (400, 413):
                raise
            log.info("Gmail %s: raw form refused (HTTP %s), rebuilding", ref.provider_id, error.status_code)
            return self._rebuild(mailbox, ref)
        raw = response.get("raw")
        if not isinstance(raw, str) or not raw:
            return self._rebuild(mailbox, ref)
        return decode_base64url(raw)

    def after_processing(self, mailbox: Mailbox, ref: MessageRef) -> None:
        rules = mailbox.rules
        add: list[str] = []
        remove: list[str] = []
        if rules.after == AfterProcessing.MARK_READ:
            remove = ["UNREAD"]
        elif rules.after in (AfterProcessing.LABEL, AfterProcessing.MOVE):
            target = rules.target_label if rules.after == AfterProcessing.LABEL else rules.target_folder
            target = target or rules.target_label or rules.target_folder
            if not target:
                log.warning("Gmail %s: rule %s has no target label; nothing done", mailbox.id, rules.after)
                return
            add = [self._label_id(mailbox, target, create=True)]
            if rules.after == AfterProcessing.MOVE and ref.folder:  # a move leaves the watched label
                source = self._label_id(mailbox, ref.folder)
                remove = [source] if source not in add else []
        else:
            return
        request = (
            self._service(mailbox)
            .users()
            .messages()
            .modify(userId=ME, id=ref.provider_id, body={"addLabelIds": add, "removeLabelIds": remove})
        )
        try:
            self._call(request, "messages.modify")
        except HttpError as error:
            if error.status_code != 404:
                raise
            log.info("Gmail %s: message %s gone before %s", mailbox.id, ref.provider_id, rules.after)

    # -- PushSubscriber ------------------------------------------------------------------------

    def subscribe(self, mailbox: Mailbox, folder: str, notification_url: str, client_state: str) -> Subscription:
        """``users.watch`` on every watched label of the mailbox (a new watch replaces the previous
        one). ``notification_url`` and ``client_state`` do not apply: the Pub/Sub push subscription
        names the endpoint, and its OIDC token authenticates each push."""
        topic = _topic(mailbox)  # before any request: a mailbox without a topic cannot be watched
        names = dict.fromkeys([*mailbox.rules.folders, folder])
        labels = list(dict.fromkeys(self._label_id(mailbox, name) for name in names))
        return self._watch(mailbox, labels, topic)

    def renew(self, mailbox: Mailbox, subscription: Subscription) -> Subscription:
        """Watch again (at least daily; a watch lapses after 7 days)."""
        labels = [label for label in subscription.resource.split(",") if label]
        return self._watch(mailbox, labels, _topic(mailbox))

    def unsubscribe(self, mailbox: Mailbox, subscription: Subscription) -> None:
        try:
            self._call(self._service(mailbox).users().stop(userId=ME), "users.stop")
        except HttpError as error:
            if error.status_code != 404:
                raise

    # -- internals -----------------------------------------------------------------------------

    def _watch(self, mailbox: Mailbox, labels: list[str], topic: str) -> Subscription:
        body = {"topicName": topic, "labelIds": labels, "labelFilterBehavior": "include"}
        response = self._call(self._service(mailbox).users().watch(userId=ME, body=body), "users.watch")
        expires_ms = int(response["expiration"])
        return Subscription(
            mailbox_id=mailbox.id,
            id=str(response["historyId"]),  # the mailbox's historyId when the watch began
            resource=",".join(labels),
            expires_at=datetime.fromtimestamp(expires_ms / 1000, UTC),
        )

    def _history(self, mailbox: Mailbox, folder: str, label: str, start: int) -> ChangeBatch:
        history = self._service(mailbox).users().history()
        refs: dict[str, MessageRef] = {}
        page_token: str | None = None
        last_record: str | None = None
        latest = start
        for _ in range(MAX_HISTORY_PAGES):
            request = history.list(
                userId=ME,
                startHistoryId=str(start),
                labelId=label,
                historyTypes=HISTORY_TYPES,
                maxResults=PAGE_SIZE,
                pageToken=page_token,
            )
            response = self._call(request, "history.list")
            latest = max(latest, int(response.get("historyId") or start))
            for record in response.get("history") or []:
                last_record = str(record.get("id") or last_record)
                for message in _added_messages(record, label):
                    refs.setdefault(message["id"], _ref(mailbox, folder, message))
            page_token = response.get("nextPageToken")
            if not page_token:
                return ChangeBatch(refs=list(refs.values()), cursor=str(latest))
        # more pages than one call may read: resume after the last record seen
        log.info("Gmail %s: history longer than %d pages, continuing next call", mailbox.id, MAX_HISTORY_PAGES)
        return ChangeBatch(refs=list(refs.values()), cursor=last_record, complete=False)

    def _recent(self, mailbox: Mailbox, folder: str, label: str, *, full_resync: bool) -> ChangeBatch:
        """Recent mail of the label, capped; the cursor is the historyId read *before* listing, so
        whatever arrives during the listing shows up in the next history.list (dupes are deduped)."""
        service = self._service(mailbox)
        profile = self._call(service.users().getProfile(userId=ME), "users.getProfile")
        refs: dict[str, MessageRef] = {}
        page_token: str | None = None
        while len(refs) < FULL_SYNC_MAX_MESSAGES:
            request = (
                service.users()
                .messages()
                .list(
                    userId=ME,
                    labelIds=[label],
                    q=FULL_SYNC_QUERY,
                    maxResults=min(PAGE_SIZE, FULL_SYNC_MAX_MESSAGES - len(refs)),
                    pageToken=page_token,
                )
            )
            response = self._call(request, "messages.list")
            for message in response.get("messages") or []:
                refs.setdefault(message["id"], _ref(mailbox, folder, message))
            page_token = response.get("nextPageToken")
            if not page_token:
                break
        oldest_first = list(reversed(refs.values()))  # messages.list answers newest first
        return ChangeBatch(refs=oldest_first, cursor=str(profile["historyId"]), full_resync=full_resync)

    def _rebuild(self, mailbox: Mailbox, ref: MessageRef) -> bytes:
        messages = self._service(mailbox).users().messages()
        full = self._call(messages.get(userId=ME, id=ref.provider_id, format="full"), "messages.get(full)")
        payload = full.get("payload")
        if not isinstance(payload, dict):
            raise GmailPayloadError(f"Gmail message {ref.provider_id} has no payload")

        def attachment(attachment_id: str) -> bytes:
            request = messages.attachments().get(userId=ME, messageId=ref.provider_id, id=attachment_id)
            return decode_base64url(str(self._call(request, "attachments.get").get("data") or ""))

        return rebuild_mime(payload, attachment)

    def _label_id(self, mailbox: Mailbox, name: str, *, create: bool = False) -> str:
        if name.upper() in SYSTEM_LABELS or name.upper().startswith("CATEGORY_"):
            return name.upper()
        labels = self._labels.get(mailbox.id)
        if labels is None or (name.lower() not in labels and name not in labels.values()):
            labels = self._load_labels(mailbox)
        if name in labels.values():
            return name
        if name.lower() in labels:
            return labels[name.lower()]
        if not create:
            raise LookupError(f"Gmail label {name!r} does not exist in mailbox {mailbox.id}")
        body = {"name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"}
        created = self._call(self._service(mailbox).users().labels().create(userId=ME, body=body), "labels.create")
        labels[name.lower()] = str(created["id"])
        return labels[name.lower()]

    def _load_labels(self, mailbox: Mailbox) -> dict[str, str]:
        response = self._call(self._service(mailbox).users().labels().list(userId=ME), "labels.list")
        labels = {str(item["name"]).lower(): str(item["id"]) for item in response.get("labels") or []}
        self._labels[mailbox.id] = labels
        return labels

    def _service(self, mailbox: Mailbox) -> Any:
        service = self._services.get(mailbox.id)
        if service is None:
            transport = self._http if self._http is not None else httplib2.Http(timeout=HTTP_TIMEOUT_S)
            authorized = AuthorizedHttp(self._credentials_factory(mailbox), http=transport)
            service = build("gmail", "v1", http=authorized, static_discovery=True, cache_discovery=False)
            self._services[mailbox.id] = service
        return service

    def _call(self, request: Any, what: str) -> Any:
        return execute_with_retries(request, sleep=self._sleep, what=what)


def _added_messages(record: dict[str, Any], label: str) -> list[dict[str, Any]]:
    """Messages that entered ``label`` in one history record."""
    found = []
    for added in record.get("messagesAdded") or []:
        message = added.get("message") or {}
        label_ids = message.get("labelIds")
        if message.get("id") and (label_ids is None or label in label_ids) and "DRAFT" not in (label_ids or []):
            found.append(message)
    for labelled in record.get("labelsAdded") or []:
        message = labelled.get("message") or {}
        if message.get("id") and label in (labelled.get("labelIds") or []):
            found.append(message)
    return found


def _ref(mailbox: Mailbox, folder: str, message: dict[str, Any]) -> MessageRef:
    return MessageRef(mailbox_id=mailbox.id, provider_id=str(message["id"]), folder=folder)


def _topic(mailbox: Mailbox) -> str:
    topic = mailbox.config.get("topic_name") or mailbox.config.get("topic")
    if not isinstance(topic, str) or not topic.startswith("projects/"):
        raise ValueError(f"Gmail mailbox {mailbox.id} needs config topic_name 'projects/<project>/topics/<topic>'")
    return topic
