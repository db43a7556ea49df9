"""One logged-in IMAP connection (standard library imaplib), with every failure as an ImapError."""

from __future__ import annotations

import contextlib
import imaplib
import ssl
from dataclasses import dataclass
from typing import Any

from shared.mailboxes.imap.config import ImapSettings
from shared.mailboxes.imap.errors import ImapConnectionLost, ImapError
from shared.mailboxes.imap.protocol import quote_mailbox

# Errors imaplib and the socket layer raise for a broken or refusing server.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (imaplib.IMAP4.error, OSError, EOFError, ssl.SSLError)


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int | None
    exists: int


class ImapSession:
    """A connection in the authenticated state. Use as a context manager; ``close`` logs out."""

    def __init__(self, conn: imaplib.IMAP4, settings: ImapSettings) -> None:
        self.conn = conn
        self.settings = settings
        self.capabilities: frozenset[str] = frozenset()
        self.selected: tuple[str, bool] | None = None

    def __enter__(self) -> ImapSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def where(self) -> str:
        return f"{self.settings.user}@{self.settings.host}:{self.settings.port}"

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    def refresh_capabilities(self) -> None:
        _typ, data = self.call("CAPABILITY", self.conn.capability)
        line = data[-1] if data and isinstance(data[-1], bytes) else b""
        self.capabilities = frozenset(line.decode("ascii", "replace").upper().split())

    def call(self, what: str, method: Any, *args: Any) -> tuple[str, list[Any]]:
        """Run an imaplib method; transport failures and BAD answers become ImapError."""
        try:
            typ, data = method(*args)
        except TRANSPORT_ERRORS as exc:
            raise ImapConnectionLost(f"IMAP {what} failed on {self.where}: {exc}") from exc
        return str(typ), list(data)

    def ok(self, what: str, method: Any, *args: Any) -> list[Any]:
        typ, data = self.call(what, method, *args)
        if typ != "OK":
            raise ImapError(f"IMAP {what} refused on {self.where}: {_text(data)}")
        return data

    def select(self, folder: str, *, readonly: bool) -> FolderState:
        """SELECT (or EXAMINE when readonly) the folder afresh: the answer tells UIDVALIDITY and UIDNEXT."""
        typ, data = self.call(f"SELECT {folder}", self.conn.select, quote_mailbox(folder), readonly)
        if typ != "OK":
            self.selected = None
            raise ImapError(f"IMAP cannot open folder {folder!r} on {self.where}: {_text(data)}")
        self.selected = (folder, readonly)
        validity = _number(self.conn.untagged_responses.get("UIDVALIDITY"))
        if validity is None:
            raise ImapError(f"IMAP server {self.where} sent no UIDVALIDITY for {folder!r}")
        exists = _number(self.conn.untagged_responses.get("EXISTS")) or 0
        return FolderState(validity, _number(self.conn.untagged_responses.get("UIDNEXT")), exists)

    def alive(self) -> bool:
        """Whether a pooled connection still answers (servers drop idle ones after ~30 minutes)."""
        try:
            typ, _data = self.conn.noop()
        except TRANSPORT_ERRORS:
            return False
        return str(typ) == "OK"

    def uid(self, command: str, *args: str) -> list[Any]:
        return self.ok(f"UID {command}", self.conn.uid, command, *args)

    def close(self) -> None:
        with contextlib.suppress(*TRANSPORT_ERRORS):  # the connection is gone either way
            self.conn.logout()


def open_session(
    settings: ImapSettings, password: str, *, ssl_context: ssl.SSLContext | None, timeout_s: float
) -> ImapSession:
    """Connect, secure (TLS or STARTTLS), log in. The password goes only into the LOGIN/AUTHENTICATE command."""
    context = ssl_context or ssl.create_default_context()
    where = f"{settings.user}@{settings.host}:{settings.port}"
    try:
        conn: imaplib.IMAP4
        if settings.security == "ssl":
            conn = imaplib.IMAP4_SSL(settings.host, settings.port, ssl_context=context, timeout=timeout_s)
        else:
            conn = imaplib.IMAP4(settings.host, settings.port, timeout=timeout_s)
        conn.debug = 0  # imaplib's debug output would include the LOGIN line
    except TRANSPORT_ERRORS as exc:  # socket timeouts are OSErrors
        raise ImapError(f"IMAP cannot connect to {where}: {exc}") from exc
    session = ImapSession(conn, settings)
    try:
        if settings.security == "starttls":
            session.ok("STARTTLS", conn.starttls, context)
        session.refresh_capabilities()
        _login(session, password)
        session.refresh_capabilities()  # servers announce more (MOVE, UIDPLUS, IDLE...) once logged in
    except BaseException:
        session.close()
        raise
    return session


def _login(session: ImapSession, password: str) -> None:
    user = session.settings.user
    if not session.has("AUTH=PLAIN") and session.has("LOGINDISABLED"):
        raise ImapError(f"IMAP server {session.where} allows no login on this connection (use ssl/starttls)")
    try:
        if session.has("AUTH=PLAIN"):
            # AUTHENTICATE PLAIN carries UTF-8 user names and passwords, which LOGIN cannot.
            secret = f"\0{user}\0{password}".encode()
            typ, data = session.conn.authenticate("PLAIN", lambda _challenge: secret)
            answer: list[Any] = [data]
        else:
            typ, login_answer = session.conn.login(user, password)
            answer = list(login_answer)
    except imaplib.IMAP4.error as exc:
        raise ImapError(f"IMAP login refused for {session.where}: {_scrub(str(exc), password)}") from None
    except TRANSPORT_ERRORS as exc:
        raise ImapError(f"IMAP login failed on {session.where}: {_scrub(str(exc), password)}") from None
    if typ != "OK":
        raise ImapError(f"IMAP login refused for {session.where}: {_scrub(_text(list(answer)), password)}")


def _scrub(text: str, password: str) -> str:
    return text.replace(password, "***") if password else text


def _number(values: list[Any] | None) -> int | None:
    for value in reversed(values or []):
        token = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        if token.strip().isdigit():
            return int(token.strip())
    return None


def _text(data: list[Any]) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d)
