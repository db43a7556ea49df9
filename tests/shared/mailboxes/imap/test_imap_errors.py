"""Failures surface as clear ImapErrors, and the password never shows up in them or in the logs."""

from __future__ import annotations

import logging
import socket

import pytest
from dovecot_server import DovecotServer

from shared.mailboxes.imap import ImapConnector, ImapError
from shared.mailboxes.imap.config import ImapSettings
from shared.mailboxes.models import Mailbox


def test_wrong_password_is_an_imap_error_that_never_shows_the_password(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wrong-Secret-7391"
    connector = ImapConnector(lambda _m: secret, timeout_s=10)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ImapError) as failure:
        connector.changes(mailbox, "INBOX", None)

    assert "login refused" in str(failure.value)
    assert secret not in str(failure.value) and secret not in repr(failure.value.__cause__)
    assert secret not in caplog.text


def test_unreachable_server_is_an_imap_error(mailbox: Mailbox, connector: ImapConnector) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    offline = mailbox.model_copy(update={"config": {**mailbox.config, "port": closed_port}})

    with pytest.raises(ImapError, match="cannot connect"):
        connector.changes(offline, "INBOX", None)


def test_missing_folder_is_an_imap_error(mailbox: Mailbox, connector: ImapConnector) -> None:
    with pytest.raises(ImapError, match="cannot open folder 'Nope'"):
        connector.changes(mailbox, "Nope", None)


def test_starttls_against_a_server_without_tls_fails_instead_of_sending_the_password(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox
) -> None:
    starttls = mailbox.model_copy(update={"config": {**mailbox.config, "security": "starttls"}})
    with pytest.raises(ImapError, match="STARTTLS"):
        ImapConnector(lambda _m: "never-sent", timeout_s=10).changes(starttls, "INBOX", None)
    assert f"user=<{imap_user}>" not in dovecot.log()  # no login was attempted in clear text


def test_plain_imap_is_refused_for_a_remote_host(mailbox: Mailbox) -> None:
    remote = mailbox.model_copy(update={"config": {"host": "imap.example.com", "security": "plain", "user": "ap"}})

    with pytest.raises(ImapError, match=r"only allowed to 127\.0\.0\.1"):
        ImapSettings.from_mailbox(remote)


def test_settings_default_to_tls_on_993_and_the_address_as_user(mailbox: Mailbox) -> None:
    remote = mailbox.model_copy(update={"config": {"host": "imap.example.com"}})

    settings = ImapSettings.from_mailbox(remote)

    assert (settings.host, settings.port, settings.security, settings.user) == (
        "imap.example.com",
        993,
        "ssl",
        mailbox.address,
    )
