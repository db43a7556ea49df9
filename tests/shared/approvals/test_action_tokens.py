"""Action tokens: signed, expiring, bound to invoice / level / approver / decisions, single use."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from shared.approvals.tokens import (
    TOKEN_KIND,
    ActionTokens,
    TokenError,
    claim_token,
    derive_token_key,
    release_token,
    token_use,
)
from shared.services import Services

NOW = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
KEY = derive_token_key(b"k" * 32)


def mint(tokens: ActionTokens, **overrides: object) -> str:
    args: dict[str, object] = {"invoice_id": "a" * 64, "level": 1, "approver": " AP.Clerk@Example.com ",
                               "valid_for": timedelta(days=14), "now": NOW}
    return tokens.mint(**{**args, **overrides})  # type: ignore[arg-type]


def reencode(token: str, **changes: object) -> str:
    """The same token with changed claims and the original MAC: a forgery attempt."""
    prefix, body, mac = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{forged}.{mac}"


def test_round_trip_binds_invoice_level_approver_and_scope() -> None:
    tokens = ActionTokens(KEY)
    claims = tokens.verify(mint(tokens), now=NOW + timedelta(days=13))
    assert (claims.invoice_id, claims.level, claims.approver) == ("a" * 64, 1, "ap.clerk@example.com")
    assert claims.scope == ("approved", "rejected", "question")
    assert claims.expires_at - claims.issued_at == 14 * 24 * 3600
    narrow = tokens.verify(mint(tokens, scope=["rejected"]), now=NOW)
    assert narrow.allows("rejected") and not narrow.allows("approved")
    assert tokens.verify(mint(tokens), now=NOW).token_id != claims.token_id  # every token is its own


def test_tampered_or_foreign_tokens_are_refused() -> None:
    tokens = ActionTokens(KEY)
    token = mint(tokens)
    prefix, body, mac = token.split(".")
    forged = [
        reencode(token, inv="b" * 64),  # another invoice
        reencode(token, lvl=2),  # another level
        reencode(token, sub="mallory@example.com"),  # another approver
        reencode(token, exp=2_000_000_000),  # a longer life
        f"{prefix}.{body}.{mac[:-2]}AA",  # a changed signature
        mint(ActionTokens(derive_token_key(os.urandom(32)))),  # signed with another key
    ]
    for bad in forged:
        with pytest.raises(TokenError, match="signature does not match"):
            tokens.verify(bad, now=NOW)
    for garbage in ("", "pat1", "pat2.a.b", "pat1.a.b.c", "pat1.!!!.###", "x" * 5000):
        with pytest.raises(TokenError, match="malformed"):
            tokens.verify(garbage, now=NOW)


def test_signed_but_unreadable_claims_are_refused() -> None:
    tokens = ActionTokens(KEY)
    body = base64.urlsafe_b64encode(b'{"tid": "x"}').rstrip(b"=").decode()
    signed = f"pat1.{body}"
    mac = base64.urlsafe_b64encode(tokens._mac(signed)).rstrip(b"=").decode()
    with pytest.raises(TokenError, match="unreadable"):
        tokens.verify(f"{signed}.{mac}", now=NOW)


def test_expired_tokens_are_refused() -> None:
    tokens = ActionTokens(KEY)
    token = mint(tokens, valid_for=timedelta(hours=1))
    tokens.verify(token, now=NOW + timedelta(minutes=59))
    with pytest.raises(TokenError, match="expired at 2024-03-04T10:00:00"):
        tokens.verify(token, now=NOW + timedelta(hours=1))


def test_the_key_is_derived_from_the_app_secret_key(services: Services) -> None:
    first = ActionTokens.from_settings(services.settings)
    second = ActionTokens.from_settings(services.settings)  # same data dir: same key file
    assert second.verify(mint(first), now=NOW).approver == "ap.clerk@example.com"
    assert (services.settings.data_dir / "secret.key").exists()


def test_single_use_claim_and_release(services: Services) -> None:
    tokens = ActionTokens(KEY)
    claims = tokens.verify(mint(tokens), now=NOW)
    assert token_use(services.repo, claims) is None
    assert claim_token(services.repo, claims, {"decision": "approved"})
    assert not claim_token(services.repo, claims, {"decision": "rejected"})
    assert token_use(services.repo, claims) == {"invoice_id": "a" * 64, "level": 1,
                                                "approver": "ap.clerk@example.com", "decision": "approved",
                                                "state": "accepted"}
    release_token(services.repo, claims)  # the event could not be delivered
    assert token_use(services.repo, claims) is None
    assert claim_token(services.repo, claims, {"decision": "approved"})
    assert [item["state"] for item in services.repo.list_items(TOKEN_KIND)] == ["accepted"]
