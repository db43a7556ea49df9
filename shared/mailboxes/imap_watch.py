"""IMAP has no push: one watcher thread per IMAP folder holds an IDLE connection (or polls where the
server has no IDLE) and asks for a reconcile when mail arrives. The reconcile itself goes through the
notification queue like every push, so one worker reconciles a folder at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from shared.mailboxes.models import Mailbox, Provider

log = logging.getLogger(__name__)
IDLE_ROUND_S = 600.0  # each IDLE round re-checks the stop flag and re-validates the mailbox
ERROR_BACKOFF_S = (5.0, 15.0, 60.0, 300.0)


def watch_imap_folder(
    connector: Any,
    mailbox: Mailbox,
    folder: str,
    request_reconcile: Callable[[str, str, str], object],
    stop: threading.Event,
) -> None:
    """Until ``stop``: IDLE (or poll) on ``folder``; every change queues a reconcile. A failing server
    is retried with growing pauses; the safety-net reconcile still covers the gap."""
    failures = 0
    request_reconcile(mailbox.id, folder, "imap watch started")  # catch up on what arrived while down
    while not stop.is_set():
        try:
            connector.idle(mailbox, folder, IDLE_ROUND_S,
                           lambda: request_reconcile(mailbox.id, folder, "imap idle"), stop)
            failures = 0
        except Exception:
            pause = ERROR_BACKOFF_S[min(failures, len(ERROR_BACKOFF_S) - 1)]
            failures += 1
            log.warning("imap watch of %s/%s failed; retrying in %.0f s", mailbox.id, folder, pause, exc_info=True)
            stop.wait(pause)


def start_imap_watchers(
    mailboxes: list[Mailbox],
    connector_for: Callable[[Mailbox], Any],
    request_reconcile: Callable[[str, str, str], object],
    stop: threading.Event,
) -> list[threading.Thread]:
    threads = []
    for mailbox in mailboxes:
        if mailbox.provider is not Provider.IMAP:
            continue
        for folder in mailbox.rules.folders:
            thread = threading.Thread(
                target=watch_imap_folder,
                args=(connector_for(mailbox), mailbox, folder, request_reconcile, stop),
                name=f"imap-watch-{mailbox.id}-{folder}",
                daemon=True,
            )
            thread.start()
            threads.append(thread)
    return threads
