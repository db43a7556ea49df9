"""Dashboard sessions of the embedded host: a signed cookie, no server-side session table.

The cookie is ``base64url(JSON payload) . base64url(HMAC-SHA256)`` with a key derived from the
installation's master key (``shared.mailboxes.secrets.master_key``). The payload names the user, when
it expires, and the session's CSRF token; roles are read from the user store on every request, so a
removed user or a changed role takes effect at once, and a password change ends older sessions.
Signing out records the session id as revoked until it would have expired.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from shared import b64url
from shared.auth.principal import Principal
from shared.auth.users import UserStore
from shared.domain import utcnow
from shared.mailboxes.secrets import subkey
from shared.ports import Repository

COOKIE_NAME = "papyr_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_LIFETIME = timedelta(hours=8)
REVOKED_KIND = "revoked_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def derive_session_key(master_key: bytes) -> bytes:
    return subkey(master_key, "dashboard-session/v1")


@dataclass(frozen=True)
class Session:
    principal: Principal
    session_id: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionCheck:
    """What a request's cookie says: a session, or none; ``csrf_failed`` when an unsafe request
    carried a valid session but not its CSRF token (the host answers 403)."""

    session: Session | None = None
    csrf_failed: bool = False


class SessionManager:
    def __init__(self, key: bytes, repo: Repository, *, secure: bool = False,
                 lifetime: timedelta = SESSION_LIFETIME) -> None:
        self._key = key
        self._repo = repo
        self._users = UserStore(repo)
        self._secure = secure
        self._lifetime = lifetime

    # -- issuing ------------------------------------------------------------------------------
    def issue(self, email: str, *, now: datetime | None = None) -> str:
        """A signed cookie value for a user who just proved their password."""
        issued = now or utcnow()
        payload = {
            "sub": email.strip().lower(),
            "sid": secrets.token_urlsafe(16),
            "csrf": secrets.token_urlsafe(24),
            "iat": round(issued.timestamp(), 3),
            "exp": int((issued + self._lifetime).timestamp()),
        }
        body = b64url.encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._sign(body)}"

    def set_cookie_header(self, value: str) -> str:
        return self._cookie(value, int(self._lifetime.total_seconds()))

    def clear_cookie_header(self) -> str:
        return self._cookie("", 0)

    def _cookie(self, value: str, max_age: int) -> str:
        secure = "; Secure" if self._secure else ""
        return f"{COOKIE_NAME}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"

    def _sign(self, body: str) -> str:
        return b64url.encode(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    # -- reading ------------------------------------------------------------------------------
    def read(self, value: str, *, now: datetime | None = None) -> Session | None:
        """The session behind a cookie value; None when tampered, expired, revoked, or the user
        is gone or changed their password since."""
        body, _, signature = value.partition(".")
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            return None
        try:
            payload = json.loads(b64url.decode(body))
            email, sid, csrf = str(payload["sub"]), str(payload["sid"]), str(payload["csrf"])
            issued_at, expires = float(payload["iat"]), int(payload["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        moment = now or utcnow()
        if moment.timestamp() >= expires or self._repo.get_item(REVOKED_KIND, sid) is not None:
            return None
        user = self._users.get(email)
        if user is None or user.password_changed_at.timestamp() > issued_at:
            return None
        return Session(principal=user.principal(), session_id=sid, csrf_token=csrf,
                       expires_at=datetime.fromtimestamp(expires, moment.tzinfo))

    def check(self, method: str, headers: dict[str, str], body: bytes = b"",
              *, now: datetime | None = None) -> SessionCheck:
        """The session of a request (headers lower-cased). An unsafe method must echo the session's
        CSRF token: in the ``X-CSRF-Token`` header (scripts) or the ``csrf_token`` field of a form."""
        value = cookie_value(headers.get("cookie", ""), COOKIE_NAME)
        session = self.read(value, now=now) if value else None
        if session is None:
            return SessionCheck()
        if method.upper() in UNSAFE_METHODS:
            sent = headers.get(CSRF_HEADER) or form_field(headers, body, CSRF_FIELD) or ""
            if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
                return SessionCheck(csrf_failed=True)
        return SessionCheck(session=session)

    def revoke(self, session: Session) -> None:
        self._repo.put_item(REVOKED_KIND, session.session_id, {"until": session.expires_at.isoformat()})


def cookie_value(header: str, name: str) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def form_field(headers: dict[str, str], body: bytes, name: str) -> str | None:
    """One field of an ``application/x-www-form-urlencoded`` body (None for other bodies)."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return None
    values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=50).get(name)
    return values[0] if values else None
