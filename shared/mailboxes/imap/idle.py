"""Waiting for new mail: IMAP IDLE (RFC 2177) where the server offers it, a STATUS poll otherwise.

imaplib (3.11) has no IDLE: the command is written on the socket with our own tag, and the untagged
``EXISTS`` / ``RECENT`` lines are read straight from the socket with a short timeout, so a ``stop``
event or the deadline ends the wait within a second.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable

from shared.mailboxes.imap.errors import ImapError
from shared.mailboxes.imap.protocol import quote_mailbox
from shared.mailboxes.imap.session import ImapSession

# RFC 2177: clients must re-issue IDLE at least every 29 minutes or the server may drop them.
IDLE_REFRESH_S = 29 * 60 - 30
_READ_TICK_S = 0.5
_NEW_MAIL = re.compile(rb"^\* \d+ (EXISTS|RECENT)\b", re.IGNORECASE)
_STATUS_ITEMS = re.compile(rb"(UIDNEXT|UIDVALIDITY|MESSAGES) (\d+)", re.IGNORECASE)


class _LineReader:
    """CRLF lines from the raw socket, with a timeout that leaves partial lines buffered."""

    def __init__(self, session: ImapSession) -> None:
        self.session = session
        self.sock: socket.socket = session.conn.sock
        self.buffer = b""

    def send(self, line: bytes) -> None:
        try:
            self.sock.sendall(line + b"\r\n")
        except OSError as exc:
            raise ImapError(f"IMAP IDLE lost the connection to {self.session.where}: {exc}") from exc

    def lines(self, wait_s: float) -> list[bytes]:
        """Whole lines that arrived within ``wait_s`` (maybe none)."""
        self.sock.settimeout(max(wait_s, 0.01))
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            chunk = None
        except OSError as exc:
            raise ImapError(f"IMAP IDLE lost the connection to {self.session.where}: {exc}") from exc
        if chunk == b"":
            raise ImapError(f"IMAP server {self.session.where} closed the connection during IDLE")
        self.buffer += chunk or b""
        *complete, self.buffer = self.buffer.split(b"\r\n")
        return complete

    def until_tagged(self, tag: bytes, deadline: float) -> bytes:
        while time.monotonic() < deadline:
            for line in self.lines(_READ_TICK_S):
                if line.startswith(tag + b" "):
                    return line
        raise ImapError(f"IMAP server {self.session.where} did not answer {tag.decode()} in time")


def idle_session(
    session: ImapSession,
    folder: str,
    timeout_s: float,
    on_change: Callable[[], None],
    stop: threading.Event,
    *,
    command_timeout_s: float = 30.0,
) -> int:
    """IDLE on ``folder`` until ``timeout_s`` passes or ``stop`` is set; ``on_change`` once per burst of
    new-mail lines. Returns how often it was called. The session must not be used by anyone else."""
    session.select(folder, readonly=True)
    reader = _LineReader(session)
    deadline = time.monotonic() + timeout_s
    wakes = 0
    round_no = 0
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            round_no += 1
            tag = b"PIDLE%d" % round_no
            reader.send(tag + b" IDLE")
            _await_continuation(reader, tag, time.monotonic() + command_timeout_s)
            round_end = min(deadline, time.monotonic() + IDLE_REFRESH_S)
            while not stop.is_set() and time.monotonic() < round_end:
                lines = reader.lines(min(_READ_TICK_S, max(round_end - time.monotonic(), 0.0)))
                if any(line.startswith(b"* BYE") for line in lines):
                    raise ImapError(f"IMAP server {session.where} ended the IDLE session: {lines[-1]!r}")
                if any(_NEW_MAIL.match(line) for line in lines):
                    wakes += 1
                    on_change()
            reader.send(b"DONE")
            answer = reader.until_tagged(tag, time.monotonic() + command_timeout_s)
            if not answer.startswith(tag + b" OK"):
                raise ImapError(f"IMAP IDLE ended badly on {session.where}: {answer!r}")
    finally:
        session.conn.sock.settimeout(command_timeout_s)
    return wakes


def _await_continuation(reader: _LineReader, tag: bytes, deadline: float) -> None:
    while time.monotonic() < deadline:
        for line in reader.lines(_READ_TICK_S):
            if line.startswith(b"+"):
                return
            if line.startswith(tag + b" "):
                raise ImapError(f"IMAP server {reader.session.where} refused IDLE: {line!r}")
    raise ImapError(f"IMAP server {reader.session.where} did not accept IDLE in time")


def poll_session(
    session: ImapSession,
    folder: str,
    timeout_s: float,
    on_change: Callable[[], None],
    stop: threading.Event,
    *,
    interval_s: float,
) -> int:
    """For servers without IDLE: STATUS (UIDNEXT UIDVALIDITY MESSAGES) every ``interval_s``."""
    deadline = time.monotonic() + timeout_s
    last = _status(session, folder)
    wakes = 0
    while not stop.wait(max(min(interval_s, deadline - time.monotonic()), 0.0)):
        if time.monotonic() >= deadline:
            break
        current = _status(session, folder)
        if current != last:
            last = current
            wakes += 1
            on_change()
    return wakes


def _status(session: ImapSession, folder: str) -> dict[bytes, int]:
    items = "(UIDNEXT UIDVALIDITY MESSAGES)"
    data = session.ok(f"STATUS {folder}", session.conn.status, quote_mailbox(folder), items)
    line = b" ".join(d for d in data if isinstance(d, bytes))
    return {name.upper(): int(value) for name, value in _STATUS_ITEMS.findall(line)}
