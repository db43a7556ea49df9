"""Connection settings of an IMAP mailbox, read from ``Mailbox.config`` (non-secret values only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from shared.mailboxes.imap.errors import ImapError
from shared.mailboxes.models import Mailbox

Security = Literal["ssl", "starttls", "plain"]
_DEFAULT_PORTS: dict[str, int] = {"ssl": 993, "starttls": 143, "plain": 143}
# Unencrypted IMAP would send the password in clear text: allowed only to a server on this machine.
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    security: Security = "ssl"

    @classmethod
    def from_mailbox(cls, mailbox: Mailbox) -> ImapSettings:
        config = mailbox.config
        host = str(config.get("host") or "").strip()
        if not host:
            raise ImapError(f"mailbox {mailbox.id}: config.host is missing")
        security = str(config.get("security") or "ssl").lower()
        if security not in _DEFAULT_PORTS:
            raise ImapError(f"mailbox {mailbox.id}: security must be ssl, starttls or plain, not {security!r}")
        if security == "plain" and host not in _LOOPBACK:
            raise ImapError(f"mailbox {mailbox.id}: plain (unencrypted) IMAP is only allowed to 127.0.0.1")
        try:
            port = int(config.get("port") or _DEFAULT_PORTS[security])
        except (TypeError, ValueError) as exc:
            raise ImapError(f"mailbox {mailbox.id}: config.port is not a number") from exc
        user = str(config.get("user") or mailbox.address)
        return cls(host=host, port=port, user=user, security=cast(Security, security))
