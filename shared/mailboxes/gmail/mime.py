"""From Gmail's message resources back to RFC 5322 bytes.

``format=raw`` carries the whole message as base64url: the normal path. For a message whose raw form
the API will not return (very large mail), ``format=full`` gives the MIME tree with every part's
headers, small bodies inline (base64url of the decoded content) and large ones as ``attachmentId``
to fetch with ``messages.attachments.get``; ``rebuild_mime`` reassembles an equivalent message from
it (bodies re-encoded as base64; the original transfer encodings and preamble are not kept).
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
from collections.abc import Callable, Mapping
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from io import BytesIO
from typing import Any

MAX_PART_DEPTH = 32


class GmailPayloadError(ValueError):
    pass


def decode_base64url(data: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError) as exc:
        raise GmailPayloadError("Gmail returned a body that is not base64url") from exc


def rebuild_mime(payload: Mapping[str, Any], attachment: Callable[[str], bytes]) -> bytes:
    """RFC 5322 bytes from a ``format=full`` payload; ``attachment(id)`` fetches a body by id."""
    message = _part(payload, attachment, depth=0)
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=email.policy.compat32).flatten(message)
    return out.getvalue()


def _part(part: Mapping[str, Any], attachment: Callable[[str], bytes], depth: int) -> Message:
    if depth > MAX_PART_DEPTH:
        raise GmailPayloadError("MIME tree nested too deeply")
    mime_type = str(part.get("mimeType") or "application/octet-stream").lower()
    node = Message()
    for header in part.get("headers") or []:
        name, value = str(header.get("name", "")), str(header.get("value", ""))
        if name and name.lower() != "content-transfer-encoding":
            node[name] = value if value.isascii() else Header(value, "utf-8").encode()
    if "content-type" not in node:
        node["Content-Type"] = mime_type
    children = part.get("parts") or []
    if mime_type.startswith("multipart/"):
        node.set_payload([_part(child, attachment, depth + 1) for child in children])
        return node
    body = _body(part, attachment)
    if mime_type == "message/rfc822":
        # an attached mail: its bytes when Gmail gives them, else its own parsed tree
        inner = email.message_from_bytes(body) if body else _part(children[0], attachment, depth + 1)
        node.set_payload([inner])
        return node
    node["Content-Transfer-Encoding"] = "base64"
    node.set_payload(base64.encodebytes(body).decode("ascii"))
    return node


def _body(part: Mapping[str, Any], attachment: Callable[[str], bytes]) -> bytes:
    body = part.get("body") or {}
    if body.get("data"):
        return decode_base64url(str(body["data"]))
    if body.get("attachmentId"):
        return attachment(str(body["attachmentId"]))
    return b""
