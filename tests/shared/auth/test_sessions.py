from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.local.sqlite import SqliteRepository
from shared.auth import Role
from shared.auth.sessions import COOKIE_NAME, SessionManager, derive_session_key
from shared.auth.users import UserStore

KEY = derive_session_key(b"k" * 32)


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    repository = SqliteRepository(tmp_path / "db.sqlite3")
    UserStore(repository).add("clerk@example.com", "a good password", frozenset({Role.CLERK}))
    return repository


@pytest.fixture
def now(repo: SqliteRepository) -> datetime:
    """After the fixture's user was created (a session older than the password is void)."""
    return datetime.now(UTC) + timedelta(seconds=5)


def headers(cookie: str, **extra: str) -> dict[str, str]:
    return {"cookie": f"{COOKIE_NAME}={cookie}", **extra}


def test_a_session_names_its_user_until_it_expires(repo: SqliteRepository, now: datetime) -> None:
    sessions = SessionManager(KEY, repo)
    cookie = sessions.issue("clerk@example.com", now=now)
    session = sessions.read(cookie, now=now + timedelta(hours=7, minutes=59))
    assert session is not None and session.principal.id == "clerk@example.com"
    assert session.principal.roles == frozenset({Role.CLERK})
    assert sessions.read(cookie, now=now + timedelta(hours=8)) is None


def test_a_tampered_or_foreign_cookie_is_nobody(repo: SqliteRepository, now: datetime) -> None:
    sessions = SessionManager(KEY, repo)
    cookie = sessions.issue("clerk@example.com", now=now)
    body, signature = cookie.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["sub"], payload["exp"] = "admin@example.com", payload["exp"] + 10**6
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    assert sessions.read(f"{forged}.{signature}", now=now) is None
    assert sessions.read(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"), now=now) is None
    assert sessions.read("garbage", now=now) is None and sessions.read("a.b.c", now=now) is None
    other_install = SessionManager(derive_session_key(b"o" * 32), repo)
    assert other_install.read(cookie, now=now) is None


def test_a_password_change_ends_older_sessions(repo: SqliteRepository, now: datetime) -> None:
    sessions, users = SessionManager(KEY, repo), UserStore(repo)
    cookie = sessions.issue("clerk@example.com", now=datetime.now(UTC))
    assert sessions.read(cookie, now=now) is not None
    users.add("clerk@example.com", "another good password", frozenset({Role.CLERK, Role.APPROVER}))
    assert sessions.read(cookie, now=now + timedelta(minutes=1)) is None


def test_unsafe_methods_need_the_sessions_csrf_token(repo: SqliteRepository, now: datetime) -> None:
    sessions = SessionManager(KEY, repo)
    cookie = sessions.issue("clerk@example.com", now=now)
    token = sessions.read(cookie, now=now).csrf_token  # type: ignore[union-attr]
    assert sessions.check("GET", headers(cookie), now=now).session is not None
    assert sessions.check("POST", headers(cookie), now=now).csrf_failed
    assert sessions.check("POST", headers(cookie, **{"x-csrf-token": "nope"}), now=now).csrf_failed
    assert sessions.check("POST", headers(cookie, **{"x-csrf-token": token}), now=now).session is not None
    form = headers(cookie, **{"content-type": "application/x-www-form-urlencoded"})
    assert sessions.check("POST", form, f"csrf_token={token}".encode(), now=now).session is not None
    # no cookie: no session, nothing to forge
    assert sessions.check("POST", {}, now=now).session is None and not sessions.check("POST", {}, now=now).csrf_failed


def test_cookie_flags(repo: SqliteRepository, now: datetime) -> None:
    header = SessionManager(KEY, repo, secure=True).set_cookie_header("v")
    assert header == f"{COOKIE_NAME}=v; Path=/; Max-Age=28800; HttpOnly; SameSite=Strict; Secure"
    assert "Secure" not in SessionManager(KEY, repo).set_cookie_header("v")
