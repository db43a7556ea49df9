"""Parse one raw mail (RFC 5322 / MIME) into its context and every invoice carrier it holds.

Never raises: whatever is malformed ends up in ``ParsedMessage.errors``; every part that is not a
carrier is listed in ``skipped`` with the reason, so nothing is dropped silently.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser

from shared.domain.models import MailContext
from shared.intake import sniff
from shared.intake.headers import clean_text, decode_words, mail_context, raw_header
from shared.intake.models import Carrier, ParsedMessage, SkippedPart
from shared.intake.tnef import TnefError, extract_tnef, is_tnef

MAX_MESSAGE_BYTES = 60 * 1024 * 1024
MAX_PART_BYTES = 50 * 1024 * 1024
MAX_PARTS = 200
MAX_NESTED_MESSAGES = 3
LOGO_MAX_BYTES = 10 * 1024
_HEADER_WINDOW = 256 * 1024

_SIGNATURE_TYPES = frozenset(
    {"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"}
)
_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})
_NESTED_TYPES = frozenset({"message/rfc822", "message/global"})
_REPORT_TYPES = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
        "text/rfc822-headers",
    }
)
# Declared types / extensions that claim to be an invoice format. When the bytes do not confirm the
# claim the part is still handed on, so the document loader records why it cannot be read.
_CLAIMED_TYPES = {
    ".pdf": sniff.PDF,
    ".xml": sniff.XML,
    ".jpg": sniff.JPEG,
    ".jpeg": sniff.JPEG,
    ".png": sniff.PNG,
    ".tif": sniff.TIFF,
    ".tiff": sniff.TIFF,
}
_CLAIMED_DECLARED = frozenset({sniff.PDF, sniff.XML, "text/xml", sniff.JPEG, sniff.PNG, sniff.TIFF})
_EXTENSIONS = {sniff.PDF: ".pdf", sniff.XML: ".xml", sniff.JPEG: ".jpg", sniff.PNG: ".png", sniff.TIFF: ".tif"}
_CID_REF = re.compile(rb"cid:([^\"'\s)>]+)", re.IGNORECASE)
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def parse_message(raw: bytes, *, mailbox: str | None = None) -> ParsedMessage:
    """Context, carriers, skipped parts and errors of one raw message; never raises."""
    if len(raw) > MAX_MESSAGE_BYTES:
        header_only = _parse(raw[:_HEADER_WINDOW], headers_only=True)
        return ParsedMessage(
            mail=_safe_context(header_only, raw, mailbox),
            errors=[f"message too large: {len(raw)} bytes (limit {MAX_MESSAGE_BYTES}); not parsed"],
        )
    message = _parse(raw, headers_only=False)
    if message is None:
        return ParsedMessage(
            mail=_safe_context(None, raw, mailbox), errors=["unparsable message: the email parser failed"]
        )
    walker = _Walker()
    walker.cids = _referenced_cids(message)
    try:
        walker.visit(message, message_depth=0, origin=None)
    except RecursionError:
        walker.errors.append("MIME structure nested too deeply; stopped")
    except Exception as exc:  # a bug or an input we did not foresee must not lose the mail
        walker.errors.append(f"MIME walk failed: {type(exc).__name__}: {exc}")
    return ParsedMessage(
        mail=_safe_context(message, raw, mailbox),
        carriers=walker.carriers,
        skipped=walker.skipped,
        errors=walker.errors + sorted(walker.defects),
    )


def _parse(raw: bytes, *, headers_only: bool) -> Message | None:
    """The modern policy first; compat32 when it raises (it is the more forgiving of the two)."""
    for policy in (email.policy.default, email.policy.compat32):
        try:
            return BytesParser(policy=policy).parsebytes(raw, headersonly=headers_only)
        except Exception:
            continue
    return None


def _safe_context(message: Message | None, raw: bytes, mailbox: str | None) -> MailContext:
    if message is not None:
        try:
            return mail_context(message, raw, mailbox)
        except Exception:
            pass  # headers beyond repair: keep the deterministic id so the mail can still be tracked
    return MailContext(mailbox=mailbox, message_id="sha256:" + hashlib.sha256(raw).hexdigest())


@dataclass
class _Walker:
    carriers: list[Carrier] = field(default_factory=list)
    skipped: list[SkippedPart] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    defects: set[str] = field(default_factory=set)
    cids: set[str] = field(default_factory=set)
    parts_seen: int = 0
    stopped: bool = False
    seen: dict[str, str] = field(default_factory=dict)  # sha256 -> filename, duplicates in one mail

    def visit(self, part: Message, *, message_depth: int, origin: str | None) -> None:
        if self.stopped:
            return
        self.parts_seen += 1
        if self.parts_seen > MAX_PARTS:
            self.errors.append(f"more than {MAX_PARTS} MIME parts; stopped reading the rest")
            self.stopped = True
            return
        self.defects.update(f"MIME defect: {type(d).__name__}" for d in getattr(part, "defects", []))
        content_type = _content_type(part)
        if content_type in _NESTED_TYPES:
            self._nested_part(part, message_depth=message_depth)
            return
        if content_type in _REPORT_TYPES:
            self._skip(_filename(part), content_type, "delivery or read report")
            return
        if content_type == "message/partial":
            self._skip(_filename(part), content_type, "fragment of a split message (message/partial)")
            return
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                for child in children:
                    if isinstance(child, Message):
                        self.visit(child, message_depth=message_depth, origin=origin)
            return
        if content_type.startswith("multipart/"):
            self._skip(_filename(part), content_type, "malformed multipart: no parts could be read")
            return
        self._leaf(part, content_type, message_depth=message_depth, origin=origin, top=self.parts_seen == 1)

    def _nested_part(self, part: Message, *, message_depth: int) -> None:
        filename = _filename(part)
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            if message_depth + 1 > MAX_NESTED_MESSAGES:
                self._skip(filename, "message/rfc822", f"nested message deeper than {MAX_NESTED_MESSAGES}")
                return
            self.visit(payload[0], message_depth=message_depth + 1, origin="nested-eml")
            return
        data = _payload_bytes(part)
        self._nested_bytes(filename, data, message_depth=message_depth)

    def _nested_bytes(self, filename: str | None, data: bytes, *, message_depth: int) -> None:
        if message_depth + 1 > MAX_NESTED_MESSAGES:
            self._skip(filename, "message/rfc822", f"nested message deeper than {MAX_NESTED_MESSAGES}")
            return
        inner = _parse(data, headers_only=False)
        if inner is None:
            self._skip(filename, "message/rfc822", "attached message could not be parsed")
            return
        self.cids |= _referenced_cids(inner)
        self.visit(inner, message_depth=message_depth + 1, origin="nested-eml")

    def _leaf(self, part: Message, content_type: str, *, message_depth: int, origin: str | None, top: bool) -> None:
        filename = _filename(part)
        disposition = _disposition(part)
        try:
            data = _payload_bytes(part)
        except Exception as exc:
            self._skip(filename, content_type, f"payload could not be decoded: {type(exc).__name__}")
            return
        if origin is None:
            origin = "body" if top else ("inline" if disposition == "inline" else "attachment")
        is_body = filename is None and disposition != "attachment"
        self.consider(
            filename=filename,
            declared=content_type,
            data=data,
            origin=origin,
            content_id=_content_id(part),
            is_body=is_body,
            message_depth=message_depth,
        )

    def consider(
        self,
        *,
        filename: str | None,
        declared: str,
        data: bytes,
        origin: str,
        content_id: str | None,
        is_body: bool,
        message_depth: int,
    ) -> None:
        """Decide what one leaf is: a carrier, something to open (TNEF, .eml), or a skipped part."""
        lower_name = (filename or "").lower()
        if len(data) > MAX_PART_BYTES:
            self._skip(filename, declared, f"attachment too large: {len(data)} bytes (limit {MAX_PART_BYTES})")
            return
        if not data:
            self._skip(filename, declared, "empty part")
            return
        if declared in _SIGNATURE_TYPES or lower_name.endswith((".p7s", ".sig", ".asc")):
            self._skip(filename, declared, "signature")
            return
        if declared in _CALENDAR_TYPES or lower_name.endswith((".ics", ".vcs")):
            self._skip(filename, declared, "calendar file")
            return
        if is_tnef(data, filename, declared):
            self._tnef(filename, declared, data, message_depth=message_depth)
            return
        if lower_name.endswith(".eml"):
            self._nested_bytes(filename, data, message_depth=message_depth)
            return
        sniffed = sniff.sniff_content_type(data, filename)
        is_image = (sniffed or declared).startswith("image/")
        if is_image and len(data) < LOGO_MAX_BYTES and content_id is not None and content_id in self.cids:
            self._skip(filename, declared, "small inline image referenced by the HTML body (logo)")
            return
        if sniffed == sniff.XML:
            if sniff.is_einvoice_xml(data):
                self._carrier(filename, sniff.XML, data, origin)
            else:
                root = sniff.xml_root_name(data)
                self._skip(filename, declared, f"XML is not an e-invoice (root element <{root}>)")
            return
        if sniffed is not None:
            self._carrier(filename, sniffed, data, origin)
            return
        if is_body and declared.startswith("text/"):
            kind = "HTML body" if declared == "text/html" else f"message body ({declared})"
            self._skip(filename, declared, kind)
            return
        claimed = _claimed_type(lower_name, declared)
        if claimed is not None:
            # The name or type says invoice but the bytes do not: hand it on to be rejected with a reason.
            self._carrier(filename, claimed, data, origin)
            return
        self._skip(filename, declared, f"not an invoice carrier ({declared})")

    def _tnef(self, filename: str | None, declared: str, data: bytes, *, message_depth: int) -> None:
        try:
            files = extract_tnef(data)
        except TnefError as exc:
            self.errors.append(f"{filename or 'winmail.dat'}: {exc}")
            self._skip(filename, declared, "unreadable TNEF (winmail.dat)")
            return
        if not files:
            self._skip(filename, declared, "TNEF (winmail.dat) without attachments")
        for tnef_file in files:
            guessed = mimetypes.guess_type(tnef_file.filename)[0] or "application/octet-stream"
            self.consider(
                filename=tnef_file.filename,
                declared=guessed,
                data=tnef_file.data,
                origin="tnef",
                content_id=None,
                is_body=False,
                message_depth=message_depth,
            )

    def _carrier(self, filename: str | None, content_type: str, data: bytes, origin: str) -> None:
        name = filename or f"part-{len(self.carriers) + 1}{_EXTENSIONS.get(content_type, '.bin')}"
        digest = hashlib.sha256(data).hexdigest()
        if digest in self.seen:
            self._skip(filename, content_type, f"duplicate of {self.seen[digest]} in the same message")
            return
        self.seen[digest] = name
        self.carriers.append(Carrier(filename=name, content_type=content_type, data=data, origin=origin))

    def _skip(self, filename: str | None, content_type: str, reason: str) -> None:
        self.skipped.append(SkippedPart(filename=filename, content_type=content_type, reason=reason))


def _claimed_type(lower_name: str, declared: str) -> str | None:
    for extension, content_type in _CLAIMED_TYPES.items():
        if lower_name.endswith(extension):
            return content_type
    if declared in _CLAIMED_DECLARED:
        return sniff.XML if declared == "text/xml" else declared
    return None


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "application/octet-stream"


def _disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        raw = raw_header(part, "Content-Disposition")
        value = raw.split(";", 1)[0].strip().lower() if raw else None
    return value


def _content_id(part: Message) -> str | None:
    raw = clean_text(raw_header(part, "Content-ID"))
    if not raw:
        return None
    return raw.strip().strip("<>").strip() or None


def _filename(part: Message) -> str | None:
    """The part's file name: RFC 2231 and (non-standard but common) RFC 2047 in parameters decoded,
    any directory stripped, control characters removed."""
    name: object = None
    try:
        name = part.get_filename() or part.get_param("name", header="content-type")
    except Exception:
        name = _filename_compat(part)
    if isinstance(name, tuple):  # an undecoded RFC 2231 triple
        name = email.utils.collapse_rfc2231_value(name)
    if not isinstance(name, str):
        return None
    if "=?" in name:
        name = decode_words(name)
    name = clean_text(name) or ""
    name = _UNSAFE_NAME_CHARS.sub("", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in {"", ".", ".."}:
        return None
    return name[:255]


def _filename_compat(part: Message) -> object:
    legacy = email.message.Message(policy=email.policy.compat32)
    for key, value in part.raw_items():
        legacy[key] = value
    try:
        return legacy.get_filename() or legacy.get_param("name")
    except Exception:
        return None


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    inner = part.get_payload()
    if isinstance(inner, str):
        return inner.encode("utf-8", errors="surrogateescape")
    return b""


def _referenced_cids(message: Message) -> set[str]:
    """Content-IDs that HTML bodies reference as ``cid:`` (inline logos), across the whole tree."""
    found: set[str] = set()
    stack = [message]
    budget = MAX_PARTS
    while stack and budget > 0:
        part = stack.pop()
        budget -= 1
        try:
            if part.is_multipart():
                children = part.get_payload()
                if isinstance(children, list):
                    stack.extend(child for child in children if isinstance(child, Message))
                continue
            if _content_type(part) != "text/html":
                continue
            html = part.get_payload(decode=True)
        except Exception:
            continue
        if isinstance(html, bytes):
            found.update(m.decode("latin-1").strip("<>") for m in _CID_REF.findall(html[:MAX_PART_BYTES]))
    return found
