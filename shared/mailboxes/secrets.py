"""Mailbox secrets at rest: AES-256-GCM with a fresh nonce per secret.

The associated data binds each ciphertext to its mailbox and name, so a sealed value copied to
another row (another mailbox's refresh token, say) fails to open instead of being used.
The key comes from ``PAPYR_SECRET_KEY`` (base64 of 32 bytes); on the local host, when unset, a key
file is created once in the data dir with 0600 permissions. (Azure keeps secrets in Key Vault.)
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.settings import Settings

KEY_FILE = "secret.key"
_NONCE_BYTES = 12
_VERSION = b"\x01"  # leading byte of every sealed value: room for a key or algorithm change


class SecretError(Exception):
    """A sealed secret could not be opened: wrong key, tampered bytes, or the wrong row."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the secret key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(master_key(settings))

    def seal(self, value: str, *, mailbox_id: str, name: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, value.encode(), _associated(mailbox_id, name))

    def open(self, sealed: bytes, *, mailbox_id: str, name: str) -> str:
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise SecretError(f"secret {name!r} of mailbox {mailbox_id} is not a sealed value")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, _associated(mailbox_id, name)).decode()
        except InvalidTag:
            raise SecretError(f"secret {name!r} of mailbox {mailbox_id} does not open with this key") from None


def _associated(mailbox_id: str, name: str) -> bytes:
    return b"papyr-mailbox-secret\x00" + mailbox_id.encode() + b"\x00" + name.encode()


def master_key(settings: Settings) -> bytes:
    """The installation's 32-byte key: ``PAPYR_SECRET_KEY``, else the local key file. Other uses
    (dashboard session signing) derive their own key from it, never use it directly."""
    if settings.secret_key is not None:
        return decode_key(settings.secret_key.get_secret_value())
    return load_or_create_key_file(settings.data_dir / KEY_FILE)


def subkey(master: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose (HKDF-SHA256): each use of the master key gets its own, so a
    key leaked from one use (session cookies, action tokens) opens nothing else."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"papyr/{purpose}".encode()).derive(master)


def decode_key(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("PAPYR_SECRET_KEY is not base64") from None
    if len(key) != 32:
        raise ValueError("PAPYR_SECRET_KEY must decode to 32 bytes")
    return key


def new_key() -> str:
    """A fresh key, base64, for PAPYR_SECRET_KEY."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file; create it (0600, exclusively, so two processes agree) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return decode_key(path.read_text())
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key() + "\n")
    return decode_key(path.read_text())
