"""Waiting for new mail on a real dovecot: IDLE wakes on another client's APPEND; polling as the fallback."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from dovecot_server import PASSWORD, DovecotServer

from shared.mailboxes.imap import ImapConnector
from shared.mailboxes.imap.config import ImapSettings
from shared.mailboxes.imap.idle import poll_session
from shared.mailboxes.imap.session import open_session
from shared.mailboxes.models import Mailbox


def _deliver_until(event: threading.Event, deliver: object, attempts: int = 10) -> int:
    """Deliver a message every half second until ``event`` is set; returns how many were needed.
    (The waiter may not be idling yet when the first one lands.)"""
    assert callable(deliver)
    for attempt in range(1, attempts + 1):
        deliver()
        if event.wait(0.5):
            return attempt
    return 0


def test_idle_wakes_on_an_append_from_another_connection_and_stops_on_request(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    assert connector.supports_idle(mailbox)
    woke, stop = threading.Event(), threading.Event()
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(connector.idle, mailbox, "INBOX", 30, woke.set, stop)

        needed = _deliver_until(woke, lambda: dovecot.deliver(imap_user, sample_mail["01"]))

        assert needed > 0, "IDLE never reported the new message"
        stop.set()
        wakes = waiting.result(timeout=5)  # stoppable: ends within a read tick, not after 30 s
    assert wakes >= 1
    # The IDLE connection ended cleanly (DONE, tagged OK, LOGOUT): the new mail is listed normally.
    assert len(connector.changes(mailbox, "INBOX", None).refs) == needed


def test_idle_returns_after_its_timeout_without_mail(mailbox: Mailbox, connector: ImapConnector) -> None:
    calls: list[None] = []

    wakes = connector.idle(mailbox, "INBOX", 1.0, lambda: calls.append(None), threading.Event())

    assert wakes == 0 and calls == []


def test_poll_fallback_notices_new_mail(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, sample_mail: dict[str, bytes]
) -> None:
    woke, stop = threading.Event(), threading.Event()
    with (
        open_session(ImapSettings.from_mailbox(mailbox), PASSWORD, ssl_context=None, timeout_s=10) as session,
        ThreadPoolExecutor(1) as pool,
    ):
        waiting = pool.submit(poll_session, session, "INBOX", 30, woke.set, stop, interval_s=0.2)

        needed = _deliver_until(woke, lambda: dovecot.deliver(imap_user, sample_mail["03"]))

        assert needed > 0, "polling never reported the new message"
        stop.set()
        assert waiting.result(timeout=5) >= 1
