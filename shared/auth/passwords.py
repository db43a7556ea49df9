"""Password hashing for local users: scrypt (memory-hard, salted), compared in constant time.

Stored as ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>`` so the cost can rise later without
breaking older hashes: verification reads the parameters from the stored string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

SCHEME = "scrypt"
LOG2_N = 15  # n = 32768, r = 8: 32 MiB and ~0.1 s per hash on a laptop core
BLOCK_SIZE = 8
PARALLEL = 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 8
MAX_LENGTH = 1024  # a hash of a megabyte password is a denial of service, not a password


class PasswordPolicyError(ValueError):
    """A new password that is refused (too short, too long)."""


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES,
                          maxmem=2 * 128 * r * n + (1 << 20))


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"a password may have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_policy(password)
    salt = os.urandom(SALT_BYTES)
    digest = _scrypt(password, salt, LOG2_N, BLOCK_SIZE, PARALLEL)
    encode = base64.urlsafe_b64encode
    return f"{SCHEME}${LOG2_N}${BLOCK_SIZE}${PARALLEL}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches; a malformed stored hash is simply no match."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME or not (10 <= int(log2_n) <= 20) or not (1 <= int(r) <= 32) or not (1 <= int(p) <= 4):
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = _scrypt(password, base64.urlsafe_b64decode(salt), int(log2_n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# Verified against when the user does not exist, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH: list[str] = []


def burn_time(password: str) -> None:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("not-a-real-password"))
    verify_password(password, _DUMMY_HASH[0])
