"""Entra ID bearer tokens: RS256 against the tenant's JWKS (fetched with httpx, cached), our
audience, the tenant's v2.0 issuer, exp / nbf."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.approvals.entra import BearerError, EntraVerifier
from shared.auth import AuthMethod, Role
from tests.shared.approvals.entra_keys import AUDIENCE, TENANT, FakeTenant


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier(tenant: FakeTenant, clock: Clock | None = None) -> EntraVerifier:
    transport = tenant.transport()
    return EntraVerifier(tenant=TENANT, audience=AUDIENCE, clock=clock or Clock(),
                         client_factory=lambda timeout: httpx.Client(transport=transport, timeout=timeout))


def test_valid_token_names_the_user() -> None:
    tenant = FakeTenant()
    check = verifier(tenant)
    principal = check.principal(tenant.token(roles=["approver", "Something.Else"]))
    assert (principal.id, principal.name, principal.method) == ("ap.clerk@example.com", "Alex Clerk",
                                                                 AuthMethod.ENTRA)
    assert principal.roles == frozenset({Role.APPROVER})
    check.principal(tenant.token(preferred_username=None, upn="Jane@Example.com"))
    assert tenant.jwks_requests == 1  # the keys are cached


@pytest.mark.parametrize(("claims", "reason"), [
    ({"aud": "api://someone-else"}, "Audience doesn't match"),
    ({"iss": "https://login.microsoftonline.com/another-tenant/v2.0"}, "Invalid issuer"),
    ({"iss": f"https://sts.windows.net/{TENANT}/"}, "Invalid issuer"),  # a v1.0 token
    ({"exp": int(time.time()) - 120}, "expired"),
    ({"nbf": int(time.time()) + 600}, "not yet valid"),
    ({"exp": None}, 'missing the "exp" claim'),
    ({"preferred_username": None}, "names no user"),
])
def test_wrong_claims_are_refused(claims: dict[str, object], reason: str) -> None:
    tenant = FakeTenant()
    with pytest.raises(BearerError, match=reason):
        verifier(tenant).principal(tenant.token(**claims))


def test_unknown_key_refetches_once_then_refuses() -> None:
    tenant = FakeTenant()
    clock = Clock()
    check = verifier(tenant, clock)
    check.principal(tenant.token())
    tenant.rotate("kid-2")  # Entra published a new key
    clock.now += 301
    assert check.principal(tenant.token(kid="kid-2")).id == "ap.clerk@example.com"
    assert tenant.jwks_requests == 2

    stranger = FakeTenant().keys["kid-1"]
    with pytest.raises(BearerError, match="unknown key 'kid-9'"):
        check.principal(tenant.token(kid="kid-9", key=stranger))
    with pytest.raises(BearerError, match="unknown key 'kid-8'"):
        check.principal(tenant.token(kid="kid-8", key=stranger))
    assert tenant.jwks_requests == 2  # made-up key ids do not hammer the keys endpoint


def test_a_known_kid_with_a_foreign_signature_is_refused() -> None:
    tenant = FakeTenant()
    forged = tenant.token(key=FakeTenant().keys["kid-1"])  # right kid, someone else's key
    with pytest.raises(BearerError, match="Signature verification failed"):
        verifier(tenant).principal(forged)


def test_other_algorithms_and_garbage_are_refused() -> None:
    tenant = FakeTenant()
    # The classic confusion attack: HS256 "signed" with the public key the verifier knows.
    public_pem = tenant.keys["kid-1"].public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    hs256 = jwt.encode({"aud": AUDIENCE}, public_pem[:64], algorithm="HS256", headers={"kid": "kid-1"})
    unsigned = jwt.encode({"aud": AUDIENCE}, None, algorithm="none")
    check = verifier(tenant)
    for token, reason in ((hs256, "unsupported"), (unsigned, "unsupported"), ("not-a-jwt", "not a JWT")):
        with pytest.raises(BearerError, match=reason):
            check.principal(token)


def test_keys_endpoint_down_is_a_refusal_not_a_crash() -> None:
    down = httpx.MockTransport(lambda request: httpx.Response(503))
    check = EntraVerifier(tenant=TENANT, audience=AUDIENCE,
                          client_factory=lambda timeout: httpx.Client(transport=down, timeout=timeout))
    with pytest.raises(BearerError, match="signing keys unavailable"):
        check.principal(FakeTenant().token())
