"""Signing in to the local host from tests: users in the real store, the real sign-in form, the
real session cookie (its CSRF token read back from the signed payload, as the page's meta tag has it)."""

from __future__ import annotations

import base64
import json

import httpx

from shared.auth import Role
from shared.auth.sessions import COOKIE_NAME, CSRF_HEADER
from shared.auth.users import UserStore
from shared.services import Services

PASSWORD = "correct horse battery staple"


def add_user(services: Services, email: str, *roles: Role, name: str | None = None) -> None:
    UserStore(services.repo).add(email, PASSWORD, frozenset(roles), name=name)


def csrf_of(cookie: str) -> str:
    body = cookie.split(".", 1)[0]
    return str(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["csrf"])


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form; the client keeps the cookie and sends the CSRF header from now
    on. Returns the CSRF token."""
    response = client.post("/signin", data={"email": email, "password": password, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    token = csrf_of(client.cookies[COOKIE_NAME])
    client.headers[CSRF_HEADER] = token
    return token
