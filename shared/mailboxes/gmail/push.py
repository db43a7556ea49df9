"""Gmail push through Cloud Pub/Sub: verify the push's OIDC token, then read the tiny payload.

A Pub/Sub push subscription with authentication sends ``Authorization: Bearer <Google-signed ID
token>``. Only a token that Google signed (RS256, a key from its published certs), for our audience,
issued to the push service account (``email`` verified) and still valid is accepted. The body only
says "mailbox X is now at historyId N"; the reconcile reads what changed from ``history.list``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from google.auth import crypt
from pydantic import BaseModel, ConfigDict

GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
LEEWAY_SECONDS = 60  # clock skew tolerated on iat / exp
MAX_TOKEN_BYTES = 8192  # a Google ID token is ~1 KB; anything far larger is not one
MAX_PUSH_BODY_BYTES = 64 * 1024  # Gmail's payload is ~100 bytes inside a small Pub/Sub envelope

_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")

CertSource = Mapping[str, str] | Callable[[], Mapping[str, str]]


class PushAuthError(Exception):
    """The push is not provably from our Pub/Sub subscription; answer 401 and create nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PushFormatError(ValueError):
    """The body is not a Gmail Pub/Sub push (authenticated, but unusable)."""


class GmailPush(BaseModel):
    model_config = ConfigDict(frozen=True)

    email_address: str
    history_id: int
    message_id: str  # Pub/Sub message id: the same push redelivered carries the same id
    subscription: str | None = None
    publish_time: str | None = None


def verify_pubsub_jwt(
    authorization_header: str | None,
    *,
    audience: str,
    service_account_email: str,
    certs: CertSource,
    now: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    """The verified claims of the push's bearer token; ``PushAuthError`` on any doubt."""
    token = _bearer_token(authorization_header)
    header, claims, signed_section, signature = _split(token)
    if header.get("alg") != "RS256":  # never "none", never HS256 keyed with a public cert
        raise PushAuthError(f"unsupported token algorithm {header.get('alg')!r}")
    _check_signature(signed_section, signature, header.get("kid"), certs() if callable(certs) else certs)
    _check_claims(claims, audience=audience, email=service_account_email, now=(now or _utcnow)())
    return claims


def parse_push(body: bytes) -> GmailPush:
    """The Gmail notification inside a Pub/Sub push envelope; ``PushFormatError`` if malformed."""
    if len(body) > MAX_PUSH_BODY_BYTES:
        raise PushFormatError(f"push body too large: {len(body)} bytes")
    envelope = _json_object(body, "push body")
    message = envelope.get("message")
    if not isinstance(message, dict):
        raise PushFormatError("push body has no 'message' object")
    data = message.get("data")
    if not isinstance(data, str) or not data:
        raise PushFormatError("push message has no 'data'")
    try:
        standard = data.translate(_URLSAFE_TO_STANDARD)  # Pub/Sub sends standard base64; tolerate urlsafe
        decoded = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PushFormatError("push message data is not base64") from exc
    payload = _json_object(decoded, "push message data")
    email_address = payload.get("emailAddress")
    if not isinstance(email_address, str) or "@" not in email_address:
        raise PushFormatError("push data has no valid 'emailAddress'")
    message_id = message.get("messageId") or message.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise PushFormatError("push message has no 'messageId'")
    subscription = envelope.get("subscription")
    publish_time = message.get("publishTime") or message.get("publish_time")
    return GmailPush(
        email_address=email_address.strip().lower(),
        history_id=_history_id(payload.get("historyId")),
        message_id=message_id,
        subscription=subscription if isinstance(subscription, str) else None,
        publish_time=publish_time if isinstance(publish_time, str) else None,
    )


def _bearer_token(authorization_header: str | None) -> str:
    if not authorization_header:
        raise PushAuthError("no Authorization header")
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise PushAuthError("Authorization is not a Bearer token")
    if len(token) > MAX_TOKEN_BYTES:
        raise PushAuthError("bearer token too large")
    return token


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = token.split(".")
    if len(parts) != 3:
        raise PushAuthError("token is not a JWT (expected 3 segments)")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (binascii.Error, ValueError) as exc:
        raise PushAuthError("token segments are not base64url JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise PushAuthError("token header or payload is not a JSON object")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _check_signature(signed_section: bytes, signature: bytes, kid: object, certs: Mapping[str, str]) -> None:
    if isinstance(kid, str) and kid:
        if kid not in certs:
            raise PushAuthError(f"token signed by unknown key id {kid!r}")
        candidates = [certs[kid]]
    else:
        candidates = list(certs.values())
    for pem in candidates:
        try:
            verifier = crypt.RSAVerifier.from_string(pem)  # type: ignore[no-untyped-call]
        except (ValueError, TypeError):
            continue  # a certificate we cannot load cannot vouch for anything
        if verifier.verify(signed_section, signature):
            return
    raise PushAuthError("token signature does not verify")


def _check_claims(claims: Mapping[str, Any], *, audience: str, email: str, now: datetime) -> None:
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise PushAuthError(f"wrong issuer {claims.get('iss')!r}")
    audiences = claims.get("aud")
    if not (audiences == audience or (isinstance(audiences, list) and audience in audiences)):
        raise PushAuthError(f"wrong audience {audiences!r}")
    if claims.get("email") != email:
        raise PushAuthError(f"token issued to {claims.get('email')!r}, not the push service account")
    if claims.get("email_verified") is not True:
        raise PushAuthError("token email is not verified")
    timestamp = now.timestamp()
    expires, issued = _seconds(claims.get("exp")), _seconds(claims.get("iat"))
    if expires is None or issued is None:
        raise PushAuthError("token lacks numeric exp / iat")
    if timestamp > expires + LEEWAY_SECONDS:
        raise PushAuthError("token expired")
    if timestamp < issued - LEEWAY_SECONDS:
        raise PushAuthError("token issued in the future")


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _history_id(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isdigit() and int(value) > 0:
        return int(value)
    raise PushFormatError(f"push data has no valid 'historyId' ({value!r})")


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PushFormatError(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise PushFormatError(f"{what} is not a JSON object")
    return value


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _utcnow() -> datetime:
    return datetime.now(UTC)
