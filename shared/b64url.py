"""Unpadded base64url (RFC 4648 §5), as in JWTs: the encoding of Papyr's own signed strings
(dashboard session cookies, approval action tokens)."""

from __future__ import annotations

import base64
import binascii


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode(text: str) -> bytes:
    """Strict: any character outside the alphabet is a ``ValueError``, never silently dropped."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64url") from error
