"""Fetching whole messages and acting on them afterwards (mark read, move, keyword), on a real dovecot."""

from __future__ import annotations

import hashlib

import pytest
from dovecot_server import PASSWORD, DovecotServer

from shared.intake import parse_message
from shared.mailboxes.imap import ImapConnector, MessageGone
from shared.mailboxes.imap.config import ImapSettings
from shared.mailboxes.imap.connector import _move
from shared.mailboxes.imap.session import open_session
from shared.mailboxes.models import AfterProcessing, Mailbox, MailRules, MessageRef


def _flags(server: DovecotServer, user: str, folder: str) -> list[bytes]:
    """FLAGS of every message in ``folder``, read by another client."""
    conn = server.client(user)
    try:
        assert conn.select(f'"{folder}"', readonly=True)[0] == "OK"
        typ, data = conn.fetch("1:*", "(FLAGS)")
        assert typ == "OK"
        return [line for line in data if isinstance(line, bytes)]
    finally:
        conn.logout()


def _count(server: DovecotServer, user: str, folder: str) -> int:
    conn = server.client(user)
    try:
        typ, data = conn.status(f'"{folder}"', "(MESSAGES)")
        assert typ == "OK", data
        return int(data[0].split(b"MESSAGES ")[1].rstrip(b")"))
    finally:
        conn.logout()


def _only_ref(connector: ImapConnector, mailbox: Mailbox) -> MessageRef:
    refs = connector.changes(mailbox, "INBOX", None).refs
    assert len(refs) == 1
    return refs[0]


def test_fetch_returns_the_exact_message_and_leaves_it_unread(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    dovecot.deliver(imap_user, sample_mail["01"])
    ref = _only_ref(connector, mailbox)

    raw = connector.fetch_mime(mailbox, ref)

    assert raw == sample_mail["01"]
    parsed = parse_message(raw, mailbox=mailbox.address)
    assert [carrier.filename for carrier in parsed.carriers] == ["INV_2023_03_0008.pdf"]
    assert parsed.carriers[0].content_type == "application/pdf"
    expected_pdf = parse_message(sample_mail["01"]).carriers[0].data
    assert hashlib.sha256(parsed.carriers[0].data).digest() == hashlib.sha256(expected_pdf).digest()
    assert b"\\Seen" not in b" ".join(_flags(dovecot, imap_user, "INBOX"))


def test_mark_read_sets_seen(
    dovecot: DovecotServer, imap_user: str, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    dovecot.deliver(imap_user, sample_mail["03"])
    mailbox = dovecot.mailbox(imap_user, MailRules(after=AfterProcessing.MARK_READ))
    ref = _only_ref(connector, mailbox)

    connector.after_processing(mailbox, ref)

    assert b"\\Seen" in b" ".join(_flags(dovecot, imap_user, "INBOX"))


def test_move_puts_the_message_in_the_target_folder_and_later_calls_skip_it(
    dovecot: DovecotServer, imap_user: str, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    dovecot.deliver(imap_user, sample_mail["02"])
    dovecot.deliver(imap_user, sample_mail["03"])
    mailbox = dovecot.mailbox(imap_user, MailRules(after=AfterProcessing.MOVE, target_folder="Geprüft"))
    first, second = connector.changes(mailbox, "INBOX", None).refs

    connector.after_processing(mailbox, first)  # creates the folder (modified UTF-7 name)

    assert _count(dovecot, imap_user, "INBOX") == 1
    assert _count(dovecot, imap_user, "Gepr&APw-ft") == 1
    moved = connector.changes(mailbox, "Geprüft", None).refs
    assert [ref.internet_message_id for ref in moved] == ["<02-facturx@lieferant.example>"]
    assert connector.fetch_mime(mailbox, moved[0]) == sample_mail["02"]

    with pytest.raises(MessageGone):
        connector.fetch_mime(mailbox, first)
    connector.after_processing(mailbox, first)  # gone: skipped, no error
    assert _count(dovecot, imap_user, "INBOX") == 1
    assert connector.fetch_mime(mailbox, second) == sample_mail["03"]


def test_move_without_the_move_extension_copies_and_expunges_only_that_message(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    dovecot.deliver(imap_user, sample_mail["01"])
    dovecot.deliver(imap_user, sample_mail["03"])
    with open_session(ImapSettings.from_mailbox(mailbox), PASSWORD, ssl_context=None, timeout_s=10) as session:
        assert session.has("MOVE") and session.has("UIDPLUS")
        session.capabilities = session.capabilities - {"MOVE"}  # as an older server would announce
        session.select("INBOX", readonly=False)
        _move(session, 2, "Done")

    assert _count(dovecot, imap_user, "INBOX") == 1
    assert _count(dovecot, imap_user, "Done") == 1
    assert (
        connector.changes(mailbox, "INBOX", None).refs[0].internet_message_id == "<01-invoice@azure-interior.example>"
    )


def test_label_adds_a_keyword_flag(
    dovecot: DovecotServer, imap_user: str, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    dovecot.deliver(imap_user, sample_mail["01"])
    mailbox = dovecot.mailbox(imap_user, MailRules(after=AfterProcessing.LABEL, target_label="Papyr processed"))
    ref = _only_ref(connector, mailbox)

    connector.after_processing(mailbox, ref)

    flags = b" ".join(_flags(dovecot, imap_user, "INBOX"))
    assert b"Papyr_processed" in flags
    assert b"\\Seen" not in flags


def test_fetch_of_an_expunged_message_raises_message_gone(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    dovecot.deliver(imap_user, sample_mail["01"])
    ref = _only_ref(connector, mailbox)
    conn = dovecot.client(imap_user)
    conn.select("INBOX")
    conn.store("1", "+FLAGS", "(\\Deleted)")
    conn.expunge()
    conn.logout()

    with pytest.raises(MessageGone):
        connector.fetch_mime(mailbox, ref)
    assert isinstance(MessageGone("x"), LookupError)
