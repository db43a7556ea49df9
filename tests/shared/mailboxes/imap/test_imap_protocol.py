"""The wire-format helpers imaplib leaves to us."""

from __future__ import annotations

import pytest

from shared.mailboxes.imap import ImapError
from shared.mailboxes.imap.protocol import (
    fetched_literals,
    keyword,
    parse_cursor,
    quote_mailbox,
    search_uids,
    uid_sets,
)


def test_folder_names_are_quoted_and_non_ascii_is_modified_utf7() -> None:
    assert quote_mailbox("INBOX") == '"INBOX"'
    assert quote_mailbox("Geprüft") == '"Gepr&APw-ft"'
    assert quote_mailbox("A & B") == '"A &- B"'
    assert quote_mailbox('say "hi"\\') == '"say \\"hi\\"\\\\"'
    assert quote_mailbox("台北") == '"&U,BTFw-"'  # RFC 3501's own example


def test_uid_sets_compress_ranges_and_bound_their_size() -> None:
    assert list(uid_sets([5, 1, 2, 3, 9, 10])) == ["1:3,5,9:10"]
    assert list(uid_sets(range(1, 6), chunk=2)) == ["1:2", "3:4", "5"]
    assert list(uid_sets([])) == []


def test_cursor_round_trip_and_garbage() -> None:
    assert parse_cursor("1700000000:42") == (1700000000, 42)
    assert parse_cursor("garbage") is None
    assert parse_cursor("12:") is None


def test_search_and_fetch_answers() -> None:
    assert search_uids([b"4 2 9", b"", None, b"2"]) == [2, 4, 9]
    answer: list[bytes | tuple[bytes, bytes] | None] = [
        (b"1 (UID 7 BODY[] {3}", b"abc"),
        b")",
        (b"2 (BODY[] {2}", b"de"),
        b" UID 8)",
        b"3 (FLAGS (\\Seen))",  # unsolicited flag update: ignored
    ]
    assert fetched_literals(answer) == {7: b"abc", 8: b"de"}


def test_keywords_are_atoms() -> None:
    assert keyword("Papyr processed") == "Papyr_processed"
    assert keyword("AP/Done") == "AP/Done"
    assert keyword("\\Seen") == "_Seen"  # never a system flag
    with pytest.raises(ImapError):
        keyword("  ")
