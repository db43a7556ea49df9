"""App Service authentication headers, in the documented shape
(https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities)."""

from __future__ import annotations

import base64
import json
from typing import Any

from shared.auth import AuthMethod, Role
from shared.auth.easy_auth import principal_from_easy_auth


def encoded(payload: Any) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


ENTRA = {
    "auth_typ": "aad",
    "claims": [
        {"typ": "name", "val": "Ada Approver"},
        {"typ": "preferred_username", "val": "Ada@Contoso.com"},
        {"typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "val": "Papyr.Approver"},
        {"typ": "roles", "val": "clerk"},
        {"typ": "roles", "val": "Finance.Reader"},
    ],
    "name_typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "role_typ": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
}


def test_principal_from_the_client_principal_header() -> None:
    principal = principal_from_easy_auth({"x-ms-client-principal": encoded(ENTRA),
                                          "x-ms-client-principal-name": "ada@contoso.com"})
    assert principal is not None
    assert principal.id == "ada@contoso.com" and principal.name == "Ada Approver"
    assert principal.roles == frozenset({Role.APPROVER, Role.CLERK})  # unknown app roles are ignored
    assert principal.method is AuthMethod.ENTRA


def test_the_name_falls_back_to_the_claims() -> None:
    principal = principal_from_easy_auth({"x-ms-client-principal": encoded(ENTRA)})
    assert principal is not None and principal.id == "ada@contoso.com"


def test_missing_or_unreadable_headers_are_nobody() -> None:
    assert principal_from_easy_auth({}) is None
    assert principal_from_easy_auth({"x-ms-client-principal": "%%% not base64"}) is None
    assert principal_from_easy_auth({"x-ms-client-principal": encoded(["not", "an", "object"])}) is None
    assert principal_from_easy_auth({"x-ms-client-principal": encoded({"claims": []})}) is None  # no name
    assert principal_from_easy_auth({"x-ms-client-principal": "A" * 40000}) is None
