"""Changes since a UID cursor against a real dovecot: initial sync, new mail only, UIDVALIDITY, rules."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from dovecot_server import PASSWORD, DovecotServer

from shared.mailboxes.imap import ImapConnector
from shared.mailboxes.models import Mailbox, MailRules


def _uidvalidity(server: DovecotServer, user: str, folder: str) -> int:
    conn = server.client(user)
    try:
        typ, data = conn.status(f'"{folder}"', "(UIDVALIDITY)")
        assert typ == "OK"
        return int(data[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))
    finally:
        conn.logout()


def test_initial_sync_lists_recent_mail_and_sets_cursor_past_everything(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    dovecot.deliver(imap_user, sample_mail["05"], when=datetime.now(UTC) - timedelta(days=90))  # older than the window
    for key in ("01", "02", "03"):
        dovecot.deliver(imap_user, sample_mail[key])

    batch = connector.changes(mailbox, "INBOX", None)

    validity = _uidvalidity(dovecot, imap_user, "INBOX")
    assert [ref.internet_message_id for ref in batch.refs] == [
        "<01-invoice@azure-interior.example>",
        "<02-facturx@lieferant.example>",
        "<03-xml@taxi-tx.example>",
    ]
    assert [ref.sender for ref in batch.refs] == [
        "billing@azure-interior.example",
        "rechnung@lieferant.example",
        "buchhaltung@taxi-tx.example",
    ]
    assert [ref.provider_id for ref in batch.refs] == [f"{validity}:2", f"{validity}:3", f"{validity}:4"]
    assert {ref.folder for ref in batch.refs} == {"INBOX"}
    assert {ref.mailbox_id for ref in batch.refs} == {mailbox.id}
    assert batch.cursor == f"{validity}:4"
    assert batch.complete and not batch.full_resync


def test_after_the_cursor_only_new_mail_is_listed(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    dovecot.deliver(imap_user, sample_mail["01"])
    first = connector.changes(mailbox, "INBOX", None)
    assert len(first.refs) == 1

    # "UID 2:*" matches the highest UID (1) even though 1 < 2: nothing may come back.
    unchanged = connector.changes(mailbox, "INBOX", first.cursor)
    assert unchanged.refs == []
    assert unchanged.cursor == first.cursor

    dovecot.deliver(imap_user, sample_mail["02"])
    dovecot.deliver(imap_user, sample_mail["07"])
    second = connector.changes(mailbox, "INBOX", first.cursor)

    assert [ref.internet_message_id for ref in second.refs] == [
        "<02-facturx@lieferant.example>",
        "<07-forward@papyr-demo.example>",
    ]
    assert second.refs[1].sender == "joerg.kraemer@papyr-demo.example"  # encoded-word display name
    assert second.cursor is not None and second.cursor.endswith(":3")
    assert not second.full_resync


def test_large_backlog_comes_in_batches_oldest_first(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, sample_mail: dict[str, bytes]
) -> None:
    for key in ("01", "02", "03"):
        dovecot.deliver(imap_user, sample_mail[key])
    connector = ImapConnector(lambda _m: PASSWORD, batch_size=2)

    page = connector.changes(mailbox, "INBOX", None)
    assert [ref.provider_id.split(":")[1] for ref in page.refs] == ["1", "2"]
    assert not page.complete and page.cursor is not None and page.cursor.endswith(":2")

    rest = connector.changes(mailbox, "INBOX", page.cursor)
    assert [ref.provider_id.split(":")[1] for ref in rest.refs] == ["3"]
    assert rest.complete


def test_recreated_folder_means_a_full_resync(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    dovecot.deliver(imap_user, sample_mail["01"], folder="Invoices")
    dovecot.deliver(imap_user, sample_mail["02"], folder="Invoices")
    before = connector.changes(mailbox, "Invoices", None)
    assert len(before.refs) == 2 and not before.full_resync

    conn = dovecot.client(imap_user)
    assert conn.delete('"Invoices"')[0] == "OK"
    conn.logout()
    dovecot.deliver(imap_user, sample_mail["03"], folder="Invoices")

    after = connector.changes(mailbox, "Invoices", before.cursor)

    assert after.full_resync
    new_validity = _uidvalidity(dovecot, imap_user, "Invoices")
    assert before.cursor is not None and not before.cursor.startswith(f"{new_validity}:")
    assert [ref.internet_message_id for ref in after.refs] == ["<03-xml@taxi-tx.example>"]
    assert after.cursor == f"{new_validity}:1"


def test_rules_leave_out_refused_senders_but_the_cursor_moves_past_them(
    dovecot: DovecotServer, imap_user: str, connector: ImapConnector, sample_mail: dict[str, bytes]
) -> None:
    for key in ("01", "05", "03"):
        dovecot.deliver(imap_user, sample_mail[key])
    denying = dovecot.mailbox(imap_user, MailRules(deny_senders=["@papyr-demo.example"]))

    batch = connector.changes(denying, "INBOX", None)

    assert [ref.sender for ref in batch.refs] == ["billing@azure-interior.example", "buchhaltung@taxi-tx.example"]
    assert batch.cursor is not None and batch.cursor.endswith(":3")

    allowing = dovecot.mailbox(imap_user, MailRules(allow_senders=["rechnung@lieferant.example", "@taxi-tx.example"]))
    assert [ref.sender for ref in connector.changes(allowing, "INBOX", None).refs] == ["buchhaltung@taxi-tx.example"]


def test_empty_folder_gives_an_empty_batch_with_a_cursor(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, connector: ImapConnector
) -> None:
    batch = connector.changes(mailbox, "INBOX", None)

    assert batch.refs == []
    assert batch.cursor == f"{_uidvalidity(dovecot, imap_user, 'INBOX')}:0"
    assert batch.complete


def test_connections_are_reused_and_a_dropped_one_is_replaced(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, sample_mail: dict[str, bytes]
) -> None:
    connector = ImapConnector(lambda _m: PASSWORD)
    dovecot.deliver(imap_user, sample_mail["01"])
    logins_before = dovecot.log().count(f"Login: user=<{imap_user}>")

    batch = connector.changes(mailbox, "INBOX", None)
    connector.fetch_mime(mailbox, batch.refs[0])
    connector.changes(mailbox, "INBOX", batch.cursor)
    assert dovecot.log().count(f"Login: user=<{imap_user}>") == logins_before + 1

    dovecot.kick(imap_user)  # the server drops the pooled connection
    assert connector.fetch_mime(mailbox, batch.refs[0]) == sample_mail["01"]
    assert dovecot.log().count(f"Login: user=<{imap_user}>") == logins_before + 2

    def logouts() -> int:
        return sum(
            "Disconnected: Logged out" in line for line in dovecot.log().splitlines() if f"({imap_user})" in line
        )

    before_close = logouts()
    connector.close()
    deadline = time.monotonic() + 5  # dovecot writes the line once the session process ends
    while logouts() == before_close and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logouts() == before_close + 1


def test_a_pooled_connection_dropped_after_its_noop_check_is_replaced_once(
    dovecot: DovecotServer, imap_user: str, mailbox: Mailbox, sample_mail: dict[str, bytes], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The race a kick or a server restart makes: NOOP still answered OK, the next command gets BYE."""
    from shared.mailboxes.imap.session import ImapSession

    connector = ImapConnector(lambda _m: PASSWORD)
    dovecot.deliver(imap_user, sample_mail["01"])
    batch = connector.changes(mailbox, "INBOX", None)
    logins = dovecot.log().count(f"Login: user=<{imap_user}>")

    dovecot.kick(imap_user)
    monkeypatch.setattr(ImapSession, "alive", lambda self: True)  # the pool believes the connection is fine
    assert connector.fetch_mime(mailbox, batch.refs[0]) == sample_mail["01"]
    assert dovecot.log().count(f"Login: user=<{imap_user}>") == logins + 1  # one fresh connection
    connector.close()
