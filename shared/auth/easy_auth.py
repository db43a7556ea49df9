"""The caller on Azure: App Service authentication ("Easy Auth") in front of the Function App signs
the user in with Entra ID and passes who they are in request headers.

``X-MS-CLIENT-PRINCIPAL`` is base64 JSON ``{"auth_typ", "claims": [{"typ", "val"}], "name_typ",
"role_typ"}``; ``X-MS-CLIENT-PRINCIPAL-NAME`` is the e-mail / UPN. App roles assigned in Entra ID
arrive as ``roles`` claims (or under ``role_typ``); their values name Papyr's roles (``clerk``,
``approver``, ``admin``, optionally prefixed ``Papyr.``). The platform strips these headers from
outside requests only while authentication is enabled, so the host trusts them only then.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from pydantic import ValidationError

from shared.auth.principal import AuthMethod, Principal, Role

log = logging.getLogger(__name__)

PRINCIPAL_HEADER = "x-ms-client-principal"
NAME_HEADER = "x-ms-client-principal-name"
_ROLE_CLAIMS = frozenset({"roles", "role", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})
_NAME_CLAIMS = ("preferred_username", "email", "upn", "name",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn")
MAX_HEADER_CHARS = 32 * 1024


def role_from_claim(value: str) -> Role | None:
    name = value.strip().lower().removeprefix("papyr.")
    try:
        return Role(name)
    except ValueError:
        return None


def _claims(encoded: str) -> tuple[list[tuple[str, str]], str | None] | None:
    if len(encoded) > MAX_HEADER_CHARS:
        return None
    try:
        payload: Any = json.loads(base64.b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("claims", []), list):
        return None
    claims = [(str(c.get("typ", "")), str(c.get("val", ""))) for c in payload.get("claims", []) if isinstance(c, dict)]
    role_typ = payload.get("role_typ")
    return claims, str(role_typ) if role_typ else None


def principal_from_easy_auth(headers: dict[str, str]) -> Principal | None:
    """The signed-in user from App Service authentication headers (keys lower-case); None when
    absent or unreadable. Trust these headers only when App Service authentication is enabled."""
    encoded = headers.get(PRINCIPAL_HEADER)
    if not encoded:
        return None
    parsed = _claims(encoded.strip())
    if parsed is None:
        log.warning("ignored an unreadable %s header", PRINCIPAL_HEADER)
        return None
    claims, role_typ = parsed
    role_types = _ROLE_CLAIMS | ({role_typ} if role_typ else set())
    roles = frozenset(role for typ, val in claims if typ in role_types if (role := role_from_claim(val)))
    by_type = {typ: val for typ, val in claims}
    name = headers.get(NAME_HEADER) or next((by_type[t] for t in _NAME_CLAIMS if by_type.get(t)), None)
    if not name:
        return None
    try:
        return Principal(id=name, name=by_type.get("name") or name, roles=roles, method=AuthMethod.ENTRA)
    except ValidationError:
        return None
