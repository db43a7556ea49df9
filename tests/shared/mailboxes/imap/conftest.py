"""Fixtures for the IMAP connector tests: one real dovecot per session, a fresh account per test.

Skipped only when dovecot is missing and CI is unset (with CI set, a missing dovecot fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dovecot_server import PASSWORD, DovecotServer, running_dovecot

from shared.mailboxes.imap import ImapConnector
from shared.mailboxes.models import Mailbox


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def imap_user(dovecot: DovecotServer) -> str:
    return dovecot.add_account()


@pytest.fixture
def mailbox(dovecot: DovecotServer, imap_user: str) -> Mailbox:
    return dovecot.mailbox(imap_user)


@pytest.fixture
def connector() -> ImapConnector:
    return ImapConnector(lambda _mailbox: PASSWORD, timeout_s=10)


@pytest.fixture(scope="session")
def sample_mail(repo_root: Path) -> dict[str, bytes]:
    folder = repo_root / "samples" / "mailbox"
    return {path.name[:2]: path.read_bytes() for path in sorted(folder.glob("*.eml"))}
