"""A stand-in Entra ID tenant for tests: our own RSA keys, published as a JWKS at the tenant's real
keys URL through httpx.MockTransport (the documented v2.0 shapes), and tokens signed with them."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.approvals.entra import issuer_for, jwks_url_for

TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://papyr-approvals"


class FakeTenant:
    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {"kid-1": _new_key()}
        self.jwks_requests = 0

    def rotate(self, kid: str) -> None:
        self.keys[kid] = _new_key()

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            if str(request.url) != jwks_url_for(TENANT):
                return httpx.Response(404)
            self.jwks_requests += 1
            keys = []
            for kid, key in self.keys.items():
                jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
                keys.append({**jwk, "kid": kid, "use": "sig", "kty": "RSA"})
            return httpx.Response(200, json={"keys": keys})

        return httpx.MockTransport(handle)

    def token(self, *, kid: str = "kid-1", key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {"aud": AUDIENCE, "iss": issuer_for(TENANT), "iat": now, "nbf": now,
                                "exp": now + 3600, "preferred_username": "AP.Clerk@Example.com",
                                "name": "Alex Clerk", "tid": TENANT, "ver": "2.0"}
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        return jwt.encode(body, key or self.keys[kid], algorithm="RS256", headers={"kid": kid})


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
