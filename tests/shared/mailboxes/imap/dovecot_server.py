"""Debian's dovecot as an unprivileged IMAP test server in a temp directory (used by conftest.py).

A module with a unique name, so test files import it without clashing with other ``conftest`` modules.
"""

from __future__ import annotations

import grp
import imaplib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.mailboxes.models import Mailbox, MailRules, Provider

# A space and a non-ASCII letter: the login must carry it intact (AUTHENTICATE PLAIN, UTF-8).
PASSWORD = "Rechnung pass ü-42"
_ACCOUNTS = 60
_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = papyr-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# The wrong-password test must not slow every later login down (failure delay, per-IP penalty).
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


@dataclass
class DovecotServer:
    root: Path
    port: int
    mail_uid: int
    mail_gid: int
    _accounts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def write_accounts(self) -> None:
        """Every account up front: dovecot may not notice a passwd-file rewritten in the same second."""
        lines = [
            f"{user}:{{PLAIN}}{PASSWORD}:{self.mail_uid}:{self.mail_gid}::{self.root / 'mail' / user}\n"
            for user in (f"ap{number}" for number in range(1, _ACCOUNTS + 1))
        ]
        (self.root / "passwd").write_text("".join(lines), encoding="utf-8")

    def add_account(self) -> str:
        """A mailbox user nobody has used yet in this session."""
        number = next(self._accounts)
        if number > _ACCOUNTS:
            raise RuntimeError(f"more than {_ACCOUNTS} IMAP test accounts: raise _ACCOUNTS")
        return f"ap{number}"

    def client(self, user: str) -> imaplib.IMAP4:
        """A second, independent connection (the 'other mail client' that delivers or inspects mail)."""
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.authenticate("PLAIN", lambda _: f"\0{user}\0{PASSWORD}".encode())
        return conn

    def kick(self, user: str) -> None:
        """Disconnect every session of ``user`` (as an admin or a server restart would)."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run([doveadm, "-c", str(self.root / "dovecot.conf"), "kick", user], check=True, capture_output=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def deliver(self, user: str, raw: bytes, *, folder: str = "INBOX", when: datetime | None = None) -> None:
        """APPEND one message from another client, with the internal date ``when`` (default: now)."""
        conn = self.client(user)
        try:
            if folder.upper() != "INBOX":
                conn.create(f'"{folder}"')  # NO when it exists: fine
            stamp = imaplib.Time2Internaldate((when or datetime.now(UTC)).timestamp())
            typ, data = conn.append(f'"{folder}"', None, stamp, raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def mailbox(self, user: str, rules: MailRules | None = None) -> Mailbox:
        """The Papyr mailbox for ``user`` (plain IMAP: allowed to 127.0.0.1 only)."""
        return Mailbox(
            id=f"imap-{user}",
            provider=Provider.IMAP,
            address=f"{user}@papyr-test.example",
            rules=rules or MailRules(),
            config={"host": "127.0.0.1", "port": self.port, "user": user, "security": "plain"},
            created_at=datetime(2024, 5, 1, tzinfo=UTC),
        )


def _dovecot_binary() -> str | None:
    found = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _users_for() -> dict[str, str | int]:
    """Process users and the uid mail is stored under. As root, dovecot drops to its packaged users and
    mail belongs to nobody (dovecot refuses uid 0 for mail); as anyone else, everything runs as that user."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.getuid())
        group = grp.getgrgid(os.getgid()).gr_name
        return {
            "internal_user": me.pw_name,
            "internal_group": group,
            "login_user": me.pw_name,
            "mail_uid": me.pw_uid,
            "mail_gid": me.pw_gid,
        }
    nobody = pwd.getpwnam("nobody")
    internal = "dovecot" if _user_exists("dovecot") else "nobody"
    return {
        "internal_user": internal,
        "internal_group": grp.getgrgid(pwd.getpwnam(internal).pw_gid).gr_name,
        "login_user": "dovenull" if _user_exists("dovenull") else "nobody",
        "mail_uid": nobody.pw_uid,
        "mail_gid": nobody.pw_gid,
    }


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _wait_for_greeting(process: subprocess.Popen[bytes], port: int, server: DovecotServer) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dovecot exited with {process.returncode}:\n{server.log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"dovecot did not answer on port {port}:\n{server.log()}")


@contextmanager
def running_dovecot() -> Iterator[DovecotServer]:
    """Start dovecot, yield it once it greets, stop it and remove its files."""
    binary = _dovecot_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed (make setup installs dovecot-imapd); required when CI is set")
        pytest.skip("dovecot is not installed (make setup installs dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="papyr-dovecot-"))
    root.chmod(0o755)  # the mail user (nobody when running as root) must reach its home
    users = _users_for()
    mail_uid, mail_gid = int(users["mail_uid"]), int(users["mail_gid"])
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    os.chown(root / "mail", mail_uid, mail_gid)
    port = _free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_CONFIG.format(root=root, port=port, **users), encoding="utf-8")
    server = DovecotServer(root=root, port=port, mail_uid=mail_uid, mail_gid=mail_gid)
    server.write_accounts()
    process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_greeting(process, port, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()
        shutil.rmtree(root, ignore_errors=True)
