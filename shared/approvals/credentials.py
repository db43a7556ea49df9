"""Who is answering an approval: the credential of the callback, checked in a fixed order.

1. an action token in the body (a Teams card through Power Automate, a dashboard link, the CLI);
2. an Entra ID bearer token (``Authorization: Bearer``) on Azure;
3. the principal the host resolved (a dashboard session).

A credential that is present but wrong is refused (401) rather than skipped, so a bad token never
falls through to a weaker one. The approver's identity always comes from the credential.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.approvals.entra import BearerError
from shared.approvals.tokens import ActionClaims, ActionTokens, TokenError
from shared.auth import AuthMethod, Principal, Role
from shared.services import Services


class Unauthenticated(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Credential:
    principal: Principal
    token: ActionClaims | None = None


def authenticate(services: Services, *, token: str | None, authorization: str | None,
                 principal: Principal | None) -> Credential:
    if token is not None:
        try:
            claims = ActionTokens.from_settings(services.settings).verify(token)
        except TokenError as error:
            raise Unauthenticated(error.reason) from None
        holder = Principal(id=claims.approver, roles=frozenset({Role.APPROVER}), method=AuthMethod.ACTION_TOKEN)
        return Credential(principal=holder, token=claims)
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("the Authorization header is not a bearer token")
        verifier = services.entra
        if verifier is None:
            raise Unauthenticated("Entra ID bearer tokens are not accepted: PAPYR_ENTRA_TENANT_ID / "
                                  "PAPYR_ENTRA_AUDIENCE are not set")
        try:
            return Credential(principal=verifier.principal(value.strip()))
        except BearerError as error:
            raise Unauthenticated(error.reason) from None
    if principal is not None:
        return Credential(principal=principal)
    raise Unauthenticated("no credential: send an action token, an Entra ID bearer token, or sign in")
