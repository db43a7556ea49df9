"""Small pieces of the IMAP wire format that imaplib leaves to its caller."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator

from shared.mailboxes.imap.errors import ImapError

_UID = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
_KEYWORD_UNSAFE = re.compile(r"[^\x21-\x7e]|[(){%*\"\\\]]")


def quote_mailbox(name: str) -> str:
    """A folder name as an IMAP quoted string, non-ASCII in modified UTF-7 (RFC 3501 5.1.3)."""
    encoded = _modified_utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _modified_utf7(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def keyword(label: str) -> str:
    """A label as an IMAP keyword flag (an atom: no spaces, parentheses, quotes, wildcards)."""
    cleaned = _KEYWORD_UNSAFE.sub("_", label.strip())
    if not cleaned:
        raise ImapError(f"label {label!r} cannot be an IMAP keyword")
    return cleaned


def format_cursor(uidvalidity: int, last_uid: int) -> str:
    return f"{uidvalidity}:{last_uid}"


def parse_cursor(cursor: str) -> tuple[int, int] | None:
    """``UIDVALIDITY:LASTUID`` → numbers; anything unreadable counts as no cursor (full sync)."""
    validity, _, last = cursor.partition(":")
    if not (validity.isdigit() and last.isdigit()):
        return None
    return int(validity), int(last)


def message_key(uidvalidity: int, uid: int) -> str:
    """``MessageRef.provider_id``: a UID means nothing without the UIDVALIDITY it was issued under."""
    return f"{uidvalidity}:{uid}"


def parse_message_key(provider_id: str) -> tuple[int, int]:
    parsed = parse_cursor(provider_id)
    if parsed is None:
        raise ImapError(f"not an IMAP message id (UIDVALIDITY:UID): {provider_id!r}")
    return parsed


def search_uids(data: list[bytes | None]) -> list[int]:
    """UIDs out of the untagged SEARCH answers (several lines when the server splits them)."""
    return sorted({int(token) for line in data if line for token in line.split() if token.isdigit()})


def uid_sets(uids: Iterable[int], chunk: int = 200) -> Iterator[str]:
    """Compact sequence sets (``3:7,9``) of at most ``chunk`` UIDs each, so no command line grows unbounded."""
    ordered = sorted(set(uids))
    for start in range(0, len(ordered), chunk):
        part = ordered[start : start + chunk]
        ranges: list[str] = []
        low = high = part[0]
        for uid in part[1:]:
            if uid == high + 1:
                high = uid
                continue
            ranges.append(f"{low}:{high}" if high > low else str(low))
            low = high = uid
        ranges.append(f"{low}:{high}" if high > low else str(low))
        yield ",".join(ranges)


def fetched_literals(data: list[bytes | tuple[bytes, bytes] | None]) -> dict[int, bytes]:
    """``UID → literal`` from a UID FETCH answer. imaplib hands each message as a tuple
    ``(b'5 (UID 12 BODY[] {n}', literal)``; the UID may also follow the literal (``b' UID 12)'``)."""
    found: dict[int, bytes] = {}
    pending: bytes | None = None
    for item in data:
        if isinstance(item, tuple):
            head, literal = item
            match = _UID.search(head)
            if match:
                found[int(match.group(1))] = literal
                pending = None
            else:
                pending = literal
        elif isinstance(item, bytes) and pending is not None:
            match = _UID.search(item)
            if match:
                found[int(match.group(1))] = pending
            pending = None
    return found
