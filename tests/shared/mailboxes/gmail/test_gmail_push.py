"""Pub/Sub push OIDC verification with tokens signed by RSA keys generated here, and push bodies."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt

from shared.mailboxes.gmail import (
    GoogleCerts,
    PushAuthError,
    PushFormatError,
    parse_push,
    verify_pubsub_jwt,
)

AUDIENCE = "https://papyr.example.com/api/notifications/gmail"
PUSH_ACCOUNT = "gmail-push@papyr-prod.iam.gserviceaccount.com"
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def _key_and_cert(common_name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=14))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return private_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def google_key() -> tuple[str, str]:
    return _key_and_cert("google-signing-key")


@pytest.fixture(scope="module")
def attacker_key() -> tuple[str, str]:
    return _key_and_cert("attacker")


def _claims(**overrides: Any) -> dict[str, Any]:
    issued = int(NOW.timestamp()) - 30
    claims: dict[str, Any] = {
        "aud": AUDIENCE,
        "azp": "112233445566778899000",
        "email": PUSH_ACCOUNT,
        "email_verified": True,
        "exp": issued + 3600,
        "iat": issued,
        "iss": "https://accounts.google.com",
        "sub": "112233445566778899000",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _token(private_pem: str, claims: dict[str, Any], kid: str = "kid-1") -> str:
    signer = crypt.RSASigner.from_string(private_pem, key_id=kid)
    return google_jwt.encode(signer, claims).decode()


def _verify(token: str, certs: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    return verify_pubsub_jwt(
        f"Bearer {token}",
        audience=AUDIENCE,
        service_account_email=PUSH_ACCOUNT,
        certs=certs,
        now=lambda: kwargs.get("now", NOW),
    )


def test_a_google_signed_token_for_our_audience_and_account_is_accepted(google_key: tuple[str, str]) -> None:
    private_pem, cert_pem = google_key
    claims = _verify(_token(private_pem, _claims()), {"kid-1": cert_pem, "kid-0": "not a cert"})
    assert claims["email"] == PUSH_ACCOUNT
    assert claims["aud"] == AUDIENCE


def test_short_form_issuer_is_accepted_and_certs_may_be_a_callable(google_key: tuple[str, str]) -> None:
    private_pem, cert_pem = google_key
    token = _token(private_pem, _claims(iss="accounts.google.com"))
    claims = verify_pubsub_jwt(
        f"Bearer {token}",
        audience=AUDIENCE,
        service_account_email=PUSH_ACCOUNT,
        certs=lambda: {"kid-1": cert_pem},
        now=lambda: NOW,
    )
    assert claims["iss"] == "accounts.google.com"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (_claims(aud="https://someone-else.example.com/push"), "wrong audience"),
        (_claims(iss="https://evil.example.com"), "wrong issuer"),
        (_claims(email="other@papyr-prod.iam.gserviceaccount.com"), "not the push service account"),
        (_claims(email_verified=False), "email is not verified"),
        (_claims(email_verified="true"), "email is not verified"),
        (_claims(exp=int(NOW.timestamp()) - 3600, iat=int(NOW.timestamp()) - 7200), "expired"),
        (_claims(iat=int(NOW.timestamp()) + 3600, exp=int(NOW.timestamp()) + 7200), "future"),
        (_claims(exp=None), "exp / iat"),
    ],
)
def test_tokens_with_a_wrong_claim_are_rejected(
    google_key: tuple[str, str], claims: dict[str, Any], reason: str
) -> None:
    private_pem, cert_pem = google_key
    with pytest.raises(PushAuthError) as raised:
        _verify(_token(private_pem, claims), {"kid-1": cert_pem})
    assert reason in raised.value.reason


def test_small_clock_skew_is_tolerated(google_key: tuple[str, str]) -> None:
    private_pem, cert_pem = google_key
    token = _token(private_pem, _claims())
    expires = datetime.fromtimestamp(_claims()["exp"], UTC)
    assert _verify(token, {"kid-1": cert_pem}, now=expires + timedelta(seconds=30))
    with pytest.raises(PushAuthError, match="expired"):
        _verify(token, {"kid-1": cert_pem}, now=expires + timedelta(minutes=5))


def test_a_token_signed_by_another_key_is_rejected(google_key: tuple[str, str], attacker_key: tuple[str, str]) -> None:
    _, google_cert = google_key
    attacker_private, _ = attacker_key
    with pytest.raises(PushAuthError, match="signature does not verify"):
        _verify(_token(attacker_private, _claims()), {"kid-1": google_cert})
    with pytest.raises(PushAuthError, match="unknown key id"):
        _verify(_token(attacker_private, _claims(), kid="kid-9"), {"kid-1": google_cert})


def test_a_tampered_payload_is_rejected(google_key: tuple[str, str]) -> None:
    private_pem, cert_pem = google_key
    header, _, signature = _token(private_pem, _claims()).split(".")
    forged = base64.urlsafe_b64encode(json.dumps(_claims(email="me@evil.example")).encode()).rstrip(b"=").decode()
    with pytest.raises(PushAuthError):
        _verify(f"{header}.{forged}.{signature}", {"kid-1": cert_pem})


def test_unsigned_and_hmac_tokens_are_rejected(google_key: tuple[str, str]) -> None:
    _, cert_pem = google_key

    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    for alg in ("none", "HS256"):
        token = f"{segment({'alg': alg, 'kid': 'kid-1'})}.{segment(_claims())}.c2ln"
        with pytest.raises(PushAuthError, match="unsupported token algorithm"):
            _verify(token, {"kid-1": cert_pem})


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-jwt", "Bearer a.b.c"])
def test_missing_or_malformed_authorization_is_rejected(google_key: tuple[str, str], header: str | None) -> None:
    _, cert_pem = google_key
    with pytest.raises(PushAuthError):
        verify_pubsub_jwt(header, audience=AUDIENCE, service_account_email=PUSH_ACCOUNT, certs={"kid-1": cert_pem})


def test_google_certs_are_fetched_once_and_cached_for_max_age(google_key: tuple[str, str]) -> None:
    _, cert_pem = google_key
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(
            200, json={"kid-1": cert_pem}, headers={"Cache-Control": "public, max-age=19800, must-revalidate"}
        )

    clock = [1000.0]
    certs = GoogleCerts(httpx.Client(transport=httpx.MockTransport(handler)), clock=lambda: clock[0])
    assert certs() == {"kid-1": cert_pem}
    clock[0] += 19000
    assert certs() == {"kid-1": cert_pem}
    assert calls == ["https://www.googleapis.com/oauth2/v1/certs"]
    clock[0] += 1000
    certs()
    assert len(calls) == 2


def test_google_certs_keep_a_recent_copy_through_an_outage(google_key: tuple[str, str]) -> None:
    _, cert_pem = google_key
    responses = [httpx.Response(200, json={"kid-1": cert_pem}), httpx.Response(503), httpx.Response(503)]
    client = httpx.Client(transport=httpx.MockTransport(lambda request: responses.pop(0)))
    clock = [0.0]
    certs = GoogleCerts(client, clock=lambda: clock[0])
    certs()
    clock[0] += 3601  # stale, the refetch fails: the last good copy still verifies
    assert certs() == {"kid-1": cert_pem}
    clock[0] += 24 * 3600  # far too stale: the outage surfaces
    with pytest.raises(httpx.HTTPStatusError):
        certs()


def _push_body(payload: dict[str, Any] | bytes, **message: Any) -> bytes:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    envelope = {
        "message": {
            "data": base64.b64encode(raw).decode(),
            "messageId": "2070443601311540",
            "message_id": "2070443601311540",
            "publishTime": "2025-03-04T12:00:00.123Z",
            "attributes": {},
            **message,
        },
        "subscription": "projects/papyr-prod/subscriptions/gmail-push",
    }
    return json.dumps(envelope).encode()


def test_parse_push_reads_the_gmail_notification() -> None:
    push = parse_push(_push_body({"emailAddress": "AP@Example.com", "historyId": 9876543210}))
    assert push.email_address == "ap@example.com"
    assert push.history_id == 9876543210
    assert push.message_id == "2070443601311540"
    assert push.subscription == "projects/papyr-prod/subscriptions/gmail-push"
    assert parse_push(_push_body({"emailAddress": "ap@example.com", "historyId": "42"})).history_id == 42


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"subscription": "x"}',
        _push_body({"emailAddress": "ap@example.com", "historyId": 1}, data=""),
        _push_body({"emailAddress": "ap@example.com", "historyId": 1}, data="***"),
        _push_body(b"not json inside"),
        _push_body({"historyId": 1}),
        _push_body({"emailAddress": "ap@example.com"}),
        _push_body({"emailAddress": "ap@example.com", "historyId": "-5"}),
        _push_body({"emailAddress": "ap@example.com", "historyId": True}),
        _push_body({"emailAddress": "ap@example.com", "historyId": 7}, messageId="", message_id=""),
        b"{" + b" " * 70000 + b"}",
    ],
)
def test_parse_push_rejects_malformed_bodies(body: bytes) -> None:
    with pytest.raises(PushFormatError):
        parse_push(body)
