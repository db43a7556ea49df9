"""Reading message headers without ever raising: the modern ``email`` policy first, raw text second."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from shared.domain.models import MailContext


def mail_context(message: Message, raw: bytes, mailbox: str | None) -> MailContext:
    sender_name, sender = _first_address(message, "From")
    _, reply_to = _first_address(message, "Reply-To")
    return MailContext(
        mailbox=mailbox,
        message_id=_message_id(message) or "sha256:" + hashlib.sha256(raw).hexdigest(),
        sender=sender,
        sender_name=sender_name,
        reply_to=reply_to,
        subject=header_text(message, "Subject"),
        received_at=_date(message),
        authentication_results=all_headers(message, "Authentication-Results"),
        received_spf=all_headers(message, "Received-SPF"),
    )


_MAX_AUTH_HEADERS = 10


def all_headers(message: Message, name: str) -> list[str]:
    """Every occurrence of a header, unfolded, in message order (topmost = added last, by the
    nearest server); at most a few, so a hostile mail cannot make the record large."""
    wanted = name.lower()
    values: list[str] = []
    try:
        for key, value in message.raw_items():
            if key.lower() == wanted and (text := clean_text(str(value))):
                values.append(text[:2000])
                if len(values) >= _MAX_AUTH_HEADERS:
                    break
    except Exception:
        return values
    return values


def header_text(message: Message, name: str) -> str | None:
    """Decoded header value (encoded words resolved), or None when absent or empty."""
    try:
        value = message.get(name)
        text = None if value is None else str(value)
    except Exception:  # the default policy's header parser raises on some malformed headers
        raw = raw_header(message, name)
        text = None if raw is None else decode_words(raw)
    return clean_text(text)


def raw_header(message: Message, name: str) -> str | None:
    """The header value exactly as it was in the message, without the policy's parsing."""
    wanted = name.lower()
    try:
        for key, value in message.raw_items():
            if key.lower() == wanted:
                return str(value)
    except Exception:
        return None
    return None


def decode_words(text: str) -> str:
    """Resolve RFC 2047 encoded words leniently (unknown charsets and bad encodings kept as text)."""
    try:
        return str(make_header(decode_header(text)))
    except Exception:
        return text


def clean_text(text: str | None) -> str | None:
    """Unfold, and turn undecodable raw 8-bit bytes (kept as surrogates by ``email``) into text."""
    if text is None:
        return None
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        raw = text.encode("utf-8", errors="surrogateescape")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
    text = " ".join(text.replace("\r", " ").replace("\n", " ").split())
    return text or None


def _message_id(message: Message) -> str | None:
    text = clean_text(raw_header(message, "Message-ID"))
    if not text:
        return None
    text = text.strip().strip("<>").strip()
    return text or None


def _first_address(message: Message, name: str) -> tuple[str | None, str | None]:
    """(display name, lower-case address) of the first address in a header."""
    try:
        header = message.get(name)
        addresses = getattr(header, "addresses", None)
        if addresses:
            first = addresses[0]
            address = first.addr_spec if first.username else ""
            return clean_text(first.display_name), (clean_text(address) or "").lower() or None
    except Exception:
        pass  # fall through to the lenient parser on the raw value
    raw = raw_header(message, name)
    if raw is None:
        return None, None
    pairs = getaddresses([raw])
    if not pairs:
        return None, None
    display, address = pairs[0]
    address = (clean_text(address) or "").lower()
    return clean_text(decode_words(display)), address or None


def _date(message: Message) -> datetime | None:
    raw = clean_text(raw_header(message, "Date"))
    if not raw:
        return None
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    # "-0000" means "zone unknown" (RFC 5322); the instant is still UTC-based.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
