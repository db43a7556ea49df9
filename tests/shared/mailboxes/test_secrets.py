from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from shared.mailboxes.registry import MailboxRegistry
from shared.mailboxes.secrets import KEY_FILE, SecretBox, SecretError, new_key
from shared.settings import Settings

TOKEN = "1//0refresh-token-for-ap-mailbox-Zq9"


def test_round_trip_and_fresh_nonce_per_secret() -> None:
    box = SecretBox(base64.b64decode(new_key()))
    first = box.seal(TOKEN, mailbox_id="mb1", name="refresh_token")
    second = box.seal(TOKEN, mailbox_id="mb1", name="refresh_token")
    assert first != second  # a new nonce each time
    assert box.open(first, mailbox_id="mb1", name="refresh_token") == TOKEN
    assert box.open(second, mailbox_id="mb1", name="refresh_token") == TOKEN


def test_tampered_wrong_key_and_wrong_row_do_not_open() -> None:
    box = SecretBox(base64.b64decode(new_key()))
    sealed = box.seal(TOKEN, mailbox_id="mb1", name="refresh_token")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SecretError):
        box.open(tampered, mailbox_id="mb1", name="refresh_token")
    with pytest.raises(SecretError):
        SecretBox(base64.b64decode(new_key())).open(sealed, mailbox_id="mb1", name="refresh_token")
    with pytest.raises(SecretError):  # the associated data binds the mailbox and the name
        box.open(sealed, mailbox_id="mb2", name="refresh_token")
    with pytest.raises(SecretError):
        box.open(sealed, mailbox_id="mb1", name="client_secret")


def test_key_from_settings_or_a_0600_key_file_created_once(tmp_path: Path) -> None:
    key = new_key()
    configured = SecretBox.from_settings(Settings(data_dir=tmp_path, secret_key=SecretStr(key)))
    sealed = configured.seal("x", mailbox_id="m", name="n")
    assert SecretBox(base64.b64decode(key)).open(sealed, mailbox_id="m", name="n") == "x"
    assert not (tmp_path / KEY_FILE).exists()

    local = SecretBox.from_settings(Settings(data_dir=tmp_path))
    key_file = tmp_path / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = local.seal("y", mailbox_id="m", name="n")
    again = SecretBox.from_settings(Settings(data_dir=tmp_path))  # reads the same file
    assert again.open(sealed, mailbox_id="m", name="n") == "y"
    with pytest.raises(ValueError, match="32 bytes"):
        SecretBox.from_settings(Settings(data_dir=tmp_path, secret_key=SecretStr("dG9vIHNob3J0")))


def test_secret_never_in_the_database_file_in_plain_text(tmp_path: Path) -> None:
    registry = MailboxRegistry(tmp_path / "mailboxes.sqlite3", SecretBox.from_settings(Settings(data_dir=tmp_path)))
    registry.put_secret("mb1", "imap_password", TOKEN)
    assert registry.get_secret("mb1", "imap_password") == TOKEN
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("mailboxes.sqlite3*"))
    assert b"imap_password" in on_disk  # the row is there...
    assert TOKEN.encode() not in on_disk  # ...its value is not
    assert base64.b64encode(TOKEN.encode()) not in on_disk
