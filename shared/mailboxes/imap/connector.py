"""IMAP connector for any provider: UID cursor with UIDVALIDITY, BODY.PEEK fetch, mark read / move / keyword.

Cursor = ``"UIDVALIDITY:LASTUID"`` per folder. ``MessageRef.provider_id`` = ``"UIDVALIDITY:UID"``, so a
UID is never applied to a different message after the folder was recreated.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr
from typing import TypeVar

from shared.mailboxes.imap.config import ImapSettings
from shared.mailboxes.imap.errors import ImapConnectionLost, ImapError, MessageGone
from shared.mailboxes.imap.idle import idle_session, poll_session
from shared.mailboxes.imap.protocol import (
    fetched_literals,
    format_cursor,
    keyword,
    message_key,
    parse_cursor,
    parse_message_key,
    quote_mailbox,
    search_uids,
    uid_sets,
)
from shared.mailboxes.imap.session import FolderState, ImapSession, open_session
from shared.mailboxes.models import AfterProcessing, ChangeBatch, Mailbox, MessageRef

log = logging.getLogger(__name__)

RESYNC_DAYS = 30
_POOL_SIZE = 4  # the mailbox service makes at most 4 concurrent requests per mailbox
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HEADERS_ITEM = "(UID BODY.PEEK[HEADER.FIELDS (FROM MESSAGE-ID)])"


T = TypeVar("T")


class ImapConnector:
    """``MailConnector`` over imaplib. Thread-safe: each call takes a logged-in connection of its own
    from a small per-mailbox pool (checked with NOOP before reuse). ``password_lookup`` returns the
    decrypted password when a connection is opened; it is never logged. ``close()`` logs out the pool."""

    def __init__(
        self,
        password_lookup: Callable[[Mailbox], str],
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = 30,
        batch_size: int = 500,
        poll_interval_s: float = 60,
    ) -> None:
        self._password_lookup = password_lookup
        self._ssl_context = ssl_context
        self._timeout_s = timeout_s
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._idle_sessions: dict[str, list[ImapSession]] = {}
        self._pool_lock = threading.Lock()

    # -- MailConnector -------------------------------------------------------------------------

    def changes(self, mailbox: Mailbox, folder: str, cursor: str | None) -> ChangeBatch:
        """New messages since ``cursor``, oldest first, at most ``batch_size`` (``complete`` False when
        more wait). No cursor, or one from another UIDVALIDITY, means a sync bounded to the last 30 days
        (``full_resync`` True for the latter). Senders the mailbox rules refuse are left out, but the
        cursor moves past them."""
        previous = parse_cursor(cursor) if cursor else None
        return self._run(mailbox, lambda session: self._changes(session, mailbox, folder, previous))

    def _changes(
        self, session: ImapSession, mailbox: Mailbox, folder: str, previous: tuple[int, int] | None
    ) -> ChangeBatch:
        state = session.select(folder, readonly=True)
        resync = previous is not None and previous[0] != state.uidvalidity
        if previous is None or resync:
            since = (datetime.now(UTC) - timedelta(days=RESYNC_DAYS)).date()
            uids = search_uids(session.uid("SEARCH", "SINCE", _imap_date(since)))
            floor = 0
        else:
            floor = previous[1]
            # "N:*" always matches the highest UID even when it is below N: filter.
            uids = [uid for uid in search_uids(session.uid("SEARCH", "UID", f"{floor + 1}:*")) if uid > floor]
        batch, more = uids[: self._batch_size], len(uids) > self._batch_size
        last = batch[-1] if more else _highest(state, batch, floor)
        refs = [
            ref for ref in self._refs(session, mailbox, folder, state, batch) if mailbox.rules.accepts(ref.sender)
        ]
        return ChangeBatch(
            refs=refs, cursor=format_cursor(state.uidvalidity, last), full_resync=resync, complete=not more
        )

    def fetch_mime(self, mailbox: Mailbox, ref: MessageRef) -> bytes:
        """The exact message bytes (BODY.PEEK[]: the message stays unread). Raises MessageGone when it
        was expunged or the folder's UIDVALIDITY changed since it was listed."""
        validity, uid = parse_message_key(ref.provider_id)
        folder = ref.folder or "INBOX"

        def fetch(session: ImapSession) -> dict[int, bytes]:
            state = session.select(folder, readonly=True)
            if state.uidvalidity != validity:
                raise MessageGone(f"IMAP folder {folder!r} was recreated; message {ref.provider_id} is gone")
            return fetched_literals(session.uid("FETCH", str(uid), "(UID BODY.PEEK[])"))

        found = self._run(mailbox, fetch)
        if uid not in found:
            raise MessageGone(f"IMAP message {ref.provider_id} is no longer in {folder!r}")
        return found[uid]

    def after_processing(self, mailbox: Mailbox, ref: MessageRef) -> None:
        """Mark read, move, or add a keyword, as the rules say. A vanished message is logged and skipped."""
        rules = mailbox.rules
        if rules.after == AfterProcessing.NOTHING:
            return
        validity, uid = parse_message_key(ref.provider_id)
        folder = ref.folder or "INBOX"
        self._run(mailbox, lambda session: self._after_processing(session, mailbox, ref, folder, validity, uid))

    def _after_processing(
        self, session: ImapSession, mailbox: Mailbox, ref: MessageRef, folder: str, validity: int, uid: int
    ) -> None:
        rules = mailbox.rules
        state = session.select(folder, readonly=False)
        if state.uidvalidity != validity or not search_uids(session.uid("SEARCH", "UID", str(uid))):
            log.info("IMAP message %s vanished from %r before after-processing", ref.provider_id, folder)
            return
        if rules.after == AfterProcessing.MARK_READ:
            session.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)")
        elif rules.after == AfterProcessing.LABEL:
            if not rules.target_label:
                raise ImapError(f"mailbox {mailbox.id}: rules.after=label needs rules.target_label")
            session.uid("STORE", str(uid), "+FLAGS.SILENT", f"({keyword(rules.target_label)})")
        elif rules.after == AfterProcessing.MOVE:
            if not rules.target_folder:
                raise ImapError(f"mailbox {mailbox.id}: rules.after=move needs rules.target_folder")
            _move(session, uid, rules.target_folder)

    # -- waiting for mail ----------------------------------------------------------------------

    def supports_idle(self, mailbox: Mailbox) -> bool:
        return self._run(mailbox, lambda session: session.has("IDLE"))

    def idle(
        self,
        mailbox: Mailbox,
        folder: str,
        timeout_s: float,
        on_change: Callable[[], None],
        stop: threading.Event,
    ) -> int:
        """Block up to ``timeout_s`` (or until ``stop``), calling ``on_change`` when mail arrives in
        ``folder``: IMAP IDLE where offered, else a STATUS poll every ``poll_interval_s``. Returns how
        many times ``on_change`` was called; ``on_change`` should only schedule a reconcile."""
        with self._open(mailbox) as session:  # its own connection: IDLE occupies it for the whole wait
            if session.has("IDLE"):
                return idle_session(session, folder, timeout_s, on_change, stop, command_timeout_s=self._timeout_s)
            return poll_session(session, folder, timeout_s, on_change, stop, interval_s=self._poll_interval_s)

    # -- internals -----------------------------------------------------------------------------

    def close(self) -> None:
        """Log out every pooled connection."""
        with self._pool_lock:
            sessions = [session for pool in self._idle_sessions.values() for session in pool]
            self._idle_sessions.clear()
        for session in sessions:
            session.close()

    def _open(self, mailbox: Mailbox) -> ImapSession:
        settings = ImapSettings.from_mailbox(mailbox)
        password = self._password_lookup(mailbox)
        return open_session(settings, password, ssl_context=self._ssl_context, timeout_s=self._timeout_s)

    def _run(self, mailbox: Mailbox, work: Callable[[ImapSession], T]) -> T:
        """``work`` on a pooled connection. A pooled one the server dropped after its NOOP check (an
        admin kick, a restart: "BYE Server shutting down") is replaced once by a fresh connection."""
        pooled = self._pooled(mailbox)
        if pooled is not None:
            try:
                with self._session(mailbox, pooled) as session:
                    return work(session)
            except ImapConnectionLost as lost:
                log.info("IMAP %s: pooled connection lost (%s); reconnecting", mailbox.id, lost)
        with self._session(mailbox, self._open(mailbox)) as session:
            return work(session)

    @contextmanager
    def _session(self, mailbox: Mailbox, session: ImapSession) -> Iterator[ImapSession]:
        """Back to the pool after a clean use, logged out after any error."""
        try:
            yield session
        except BaseException:
            session.close()
            raise
        with self._pool_lock:
            pool = self._idle_sessions.setdefault(mailbox.id, [])
            if len(pool) < _POOL_SIZE:
                pool.append(session)
                return
        session.close()

    def _pooled(self, mailbox: Mailbox) -> ImapSession | None:
        while True:
            with self._pool_lock:
                pool = self._idle_sessions.get(mailbox.id)
                if not pool:
                    return None
                session = pool.pop()
            if session.alive():
                return session
            session.close()

    def _refs(
        self, session: ImapSession, mailbox: Mailbox, folder: str, state: FolderState, uids: list[int]
    ) -> list[MessageRef]:
        """Sender and Message-ID of each UID (headers only, unread flag untouched); expunged UIDs drop out."""
        headers: dict[int, bytes] = {}
        for uid_set in uid_sets(uids):
            headers.update(fetched_literals(session.uid("FETCH", uid_set, _HEADERS_ITEM)))
        parser = BytesHeaderParser(policy=compat32)
        refs: list[MessageRef] = []
        for uid in uids:
            if uid not in headers:
                continue  # expunged between SEARCH and FETCH
            parsed = parser.parsebytes(headers[uid])
            sender = parseaddr(str(parsed.get("From", "")))[1] or None
            message_id = str(parsed.get("Message-ID", "")).strip() or None
            refs.append(
                MessageRef(
                    mailbox_id=mailbox.id,
                    provider_id=message_key(state.uidvalidity, uid),
                    folder=folder,
                    sender=sender,
                    internet_message_id=message_id,
                )
            )
        return refs


def _highest(state: FolderState, uids: list[int], floor: int) -> int:
    """The cursor after a complete batch: past every UID seen, and past UIDNEXT-1 (mail older than
    the resync window, or refused, is not listed again)."""
    known = [floor, *uids]
    if state.uidnext is not None:
        known.append(state.uidnext - 1)
    return max(known)


def _move(session: ImapSession, uid: int, target: str) -> None:
    quoted = quote_mailbox(target)
    if not _exists(session, target):
        session.ok(f"CREATE {target}", session.conn.create, quoted)
    if session.has("MOVE"):
        session.uid("MOVE", str(uid), quoted)
        return
    session.uid("COPY", str(uid), quoted)
    session.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
    if session.has("UIDPLUS"):
        session.uid("EXPUNGE", str(uid))
    # Without UIDPLUS a plain EXPUNGE would also purge other messages the user flagged \Deleted:
    # the copy stays flagged for the user's client to expunge.


def _exists(session: ImapSession, folder: str) -> bool:
    typ, data = session.call(f"LIST {folder}", session.conn.list, '""', quote_mailbox(folder))
    return typ == "OK" and any(isinstance(line, bytes) for line in data)


def _imap_date(day: date) -> str:
    """RFC 3501 date (``1-Feb-2024``), independent of the process locale."""
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"
