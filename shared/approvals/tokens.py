"""Action tokens: what an approval card (or the local CLI) carries to prove who may decide what.

A token is ``pat1.<claims>.<mac>``: base64url JSON claims and an HMAC-SHA256 over ``pat1.<claims>``
keyed with a subkey derived (HKDF) from the app's secret key, so it can be neither forged nor
altered. It is bound to one invoice, one approval level, one approver and a set of decisions, and
expires with the approval policy. Single use: the callback claims ``action_token/<token id>`` in the
repository only when it accepts the decision, so a replay finds the claim and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared import b64url
from shared.domain import utcnow
from shared.ports import Repository
from shared.settings import Settings

PREFIX = "pat1"
TOKEN_KIND = "action_token"  # repository item kind of the single-use claims
MAX_TOKEN_CHARS = 2048
Decision = Literal["approved", "rejected", "question"]
ALL_DECISIONS: tuple[Decision, ...] = ("approved", "rejected", "question")


class TokenError(Exception):
    """The token is not one Papyr issued and still honours: answer 401 with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ActionClaims(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    token_id: str = Field(alias="tid", min_length=8)
    invoice_id: str = Field(alias="inv", min_length=1)
    level: int = Field(alias="lvl", ge=1)
    approver: str = Field(alias="sub", min_length=1)
    scope: tuple[Decision, ...] = Field(alias="scp", min_length=1)
    issued_at: int = Field(alias="iat")
    expires_at: int = Field(alias="exp")

    @field_validator("approver")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    def allows(self, decision: str) -> bool:
        return decision in self.scope


def derive_token_key(master: bytes) -> bytes:
    """A subkey for tokens only: the master key itself also seals mailbox secrets."""
    from shared.mailboxes.secrets import subkey

    return subkey(master, "action-token/v1")


class ActionTokens:
    """Mints and verifies action tokens with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the action token key must be 32 bytes")
        self._key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> ActionTokens:
        from shared.mailboxes.secrets import master_key

        return cls(derive_token_key(master_key(settings)))

    def mint(
        self,
        *,
        invoice_id: str,
        level: int,
        approver: str,
        valid_for: timedelta,
        scope: Iterable[Decision] = ALL_DECISIONS,
        now: datetime | None = None,
    ) -> str:
        issued = now or utcnow()
        claims = {
            "tid": uuid.uuid4().hex,
            "inv": invoice_id,
            "lvl": level,
            "sub": approver.strip().lower(),
            "scp": list(dict.fromkeys(scope)),
            "iat": int(issued.timestamp()),
            "exp": int((issued + valid_for).timestamp()),
        }
        body = b64url.encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        signed = f"{PREFIX}.{body}"
        return f"{signed}.{b64url.encode(self._mac(signed))}"

    def verify(self, token: str, *, now: datetime | None = None) -> ActionClaims:
        """The claims of a genuine, unexpired token; ``TokenError`` otherwise."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenError("malformed action token")
        parts = token.strip().split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            raise TokenError("malformed action token")
        try:
            mac = b64url.decode(parts[2])
        except ValueError:
            raise TokenError("malformed action token") from None
        if not hmac.compare_digest(mac, self._mac(f"{parts[0]}.{parts[1]}")):
            raise TokenError("action token signature does not match")
        try:
            claims = ActionClaims.model_validate(json.loads(b64url.decode(parts[1])))
        except (ValueError, ValidationError):
            raise TokenError("action token claims are unreadable") from None
        moment = int((now or utcnow()).timestamp())
        if moment >= claims.expires_at:
            expired = datetime.fromtimestamp(claims.expires_at, UTC).isoformat()
            raise TokenError(f"action token expired at {expired}")
        return claims

    def _mac(self, signed: str) -> bytes:
        return hmac.new(self._key, signed.encode(), hashlib.sha256).digest()


def claim_token(repo: Repository, claims: ActionClaims, use: dict[str, Any]) -> bool:
    """Mark the token used (True the first time): its decision was accepted. A claim whose event
    could not be delivered (``release_token``) may be claimed again."""
    data: dict[str, Any] = {"invoice_id": claims.invoice_id, "level": claims.level, "approver": claims.approver,
                            **use, "state": "accepted"}
    if repo.create_item(TOKEN_KIND, claims.token_id, data):
        return True
    current = repo.get_item(TOKEN_KIND, claims.token_id)
    if current is not None and current.get("state") == "undelivered":
        repo.put_item(TOKEN_KIND, claims.token_id, data)
        return True
    return False


def release_token(repo: Repository, claims: ActionClaims) -> None:
    """The decision never reached the orchestration: let the same token try again."""
    current = repo.get_item(TOKEN_KIND, claims.token_id) or {}
    repo.put_item(TOKEN_KIND, claims.token_id, {**current, "state": "undelivered"})


def token_use(repo: Repository, claims: ActionClaims) -> dict[str, Any] | None:
    """What the token was used for, if it was."""
    found = repo.get_item(TOKEN_KIND, claims.token_id)
    return dict(found) if found is not None and found.get("state") == "accepted" else None
