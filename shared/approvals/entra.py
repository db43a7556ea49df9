"""Entra ID bearer tokens on the approval callback (Azure): RS256 access tokens of our tenant.

The signing keys come from the tenant's JWKS (``/discovery/v2.0/keys``), fetched with httpx and
cached for an hour; a token signed with a key id we do not know triggers one refetch (Entra rotates
keys), at most every five minutes, so a stream of made-up key ids cannot hammer the endpoint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from shared.auth import AuthMethod, Principal, Role
from shared.settings import Settings

LOGIN = "https://login.microsoftonline.com"
JWKS_MAX_AGE_S = 3600.0
REFETCH_AFTER_S = 300.0
LEEWAY_S = 60
_USER_CLAIMS = ("preferred_username", "upn", "email")


class BearerError(Exception):
    """The bearer token is not a valid Entra ID token for us: answer 401 with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def issuer_for(tenant: str) -> str:
    return f"{LOGIN}/{tenant}/v2.0"


def jwks_url_for(tenant: str) -> str:
    return f"{LOGIN}/{tenant}/discovery/v2.0/keys"


class EntraVerifier:
    def __init__(
        self,
        *,
        tenant: str,
        audience: str,
        client_factory: Callable[[float], httpx.Client],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer_for(tenant)
        self.audience = audience
        self._jwks_url = jwks_url_for(tenant)
        self._client_factory = client_factory
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings, client_factory: Callable[[float], httpx.Client]) -> EntraVerifier | None:
        if not settings.entra_tenant_id or not settings.entra_audience:
            return None
        return cls(tenant=settings.entra_tenant_id, audience=settings.entra_audience, client_factory=client_factory)

    def principal(self, token: str) -> Principal:
        """The signed-in user of a valid token; ``BearerError`` on any doubt."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise BearerError("bearer token is not a JWT") from None
        if header.get("alg") != "RS256":  # never "none", never HS256 keyed with a public key
            raise BearerError(f"unsupported bearer token algorithm {header.get('alg')!r}")
        key = self._key(str(header.get("kid") or ""))
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key, algorithms=["RS256"], audience=self.audience, issuer=self.issuer,
                leeway=LEEWAY_S, options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise BearerError(f"bearer token rejected: {error}") from None
        user = next((claims[name] for name in _USER_CLAIMS if isinstance(claims.get(name), str) and claims[name]), None)
        if user is None:
            raise BearerError("bearer token names no user (preferred_username, upn or email)")
        roles = frozenset(Role(r) for r in claims.get("roles") or [] if r in Role._value2member_map_)
        return Principal(id=user, name=claims.get("name"), roles=roles, method=AuthMethod.ENTRA)

    def _key(self, kid: str) -> Any:
        with self._lock:
            now = self._clock()
            stale = now - self._fetched_at >= JWKS_MAX_AGE_S
            unknown = kid not in self._keys and now - self._fetched_at >= REFETCH_AFTER_S
            if stale or unknown:
                self._keys = self._fetch()
                self._fetched_at = now
            if kid not in self._keys:
                raise BearerError(f"bearer token signed with an unknown key {kid!r}")
            return self._keys[kid]

    def _fetch(self) -> dict[str, Any]:
        try:
            with self._client_factory(10.0) as client:
                response = client.get(self._jwks_url)
                response.raise_for_status()
                jwks = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
            if self._keys:  # keep serving the keys we have through a short outage
                return self._keys
            raise BearerError(f"Entra ID signing keys unavailable: {error}") from None
        return {k.key_id: k.key for k in jwks.keys if k.key_id}
