"""The IMAP watcher: an IDLE connection on a real dovecot asks for a reconcile when mail arrives."""

from __future__ import annotations

import threading
import time

from dovecot_server import DovecotServer

from shared.mailboxes.imap import ImapConnector
from shared.mailboxes.imap_watch import start_imap_watchers
from shared.mailboxes.models import Mailbox


def test_new_mail_wakes_the_watcher_which_requests_a_reconcile(
    dovecot: DovecotServer, mailbox: Mailbox, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    requests: list[tuple[str, str, str]] = []
    stop = threading.Event()
    threads = start_imap_watchers([mailbox], lambda _box: connector,
                                  lambda *request: requests.append(request), stop)
    try:
        assert len(threads) == 1
        deadline = time.monotonic() + 10
        while not requests and time.monotonic() < deadline:  # the catch-up request at start
            time.sleep(0.05)
        assert requests == [(mailbox.id, "Inbox", "imap watch started")]
        time.sleep(1.0)  # let the IDLE command be in place
        dovecot.deliver(mailbox.config["user"], sample_mail["01"])
        deadline = time.monotonic() + 15
        while len(requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert requests[1:2] == [(mailbox.id, "Inbox", "imap idle")]
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
    assert not any(thread.is_alive() for thread in threads)
