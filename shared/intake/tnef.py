"""Attachments out of Outlook's TNEF (``winmail.dat``, application/ms-tnef), via ``tnefparse``.

tnefparse strips trailing NUL bytes from binary MAPI values, which truncates attachments stored in
PR_ATTACH_DATA_OBJ (OLE files, bitmaps); we re-read that property's raw bytes so the output is exact.
Embedded messages (attach method 5) are opened and their attachments returned instead of the opaque blob.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tnefparse import properties as mapi_props
from tnefparse.mapi import IMESSAGE_SIG, IMESSAGE_SIG_LEN, decode_mapi
from tnefparse.tnef import TNEF

TNEF_MAGIC = b"\x78\x9f\x3e\x22"
TNEF_CONTENT_TYPES: frozenset[str] = frozenset({"application/ms-tnef", "application/vnd.ms-tnef", "application/x-tnef"})
MAX_EMBED_DEPTH = 3

# tnefparse logs every unknown attribute; malformed input is our normal case, not news.
logging.getLogger("tnefparse").setLevel(logging.ERROR)


class TnefError(ValueError):
    """The bytes are not a TNEF stream tnefparse can read."""


@dataclass(frozen=True)
class TnefFile:
    filename: str
    data: bytes
    embedded_depth: int = 0  # 0 = attached to the TNEF message itself


def is_tnef(data: bytes, filename: str | None = None, content_type: str | None = None) -> bool:
    if data.startswith(TNEF_MAGIC):
        return True
    name = (filename or "").lower()
    return (content_type or "").lower() in TNEF_CONTENT_TYPES or name in {"winmail.dat", "win.dat"}


def extract_tnef(data: bytes) -> list[TnefFile]:
    """Every file attached in a TNEF stream, with its long file name; raises TnefError if unreadable."""
    return _extract(data, depth=0)


def _extract(data: bytes, depth: int) -> list[TnefFile]:
    try:
        tnef = TNEF(data, do_checksum=False)
    except Exception as exc:  # tnefparse raises anything from struct.error to NameError on garbage
        raise TnefError(f"unreadable TNEF: {type(exc).__name__}: {exc}") from exc
    raw_objects = _raw_attach_data_objects(tnef)
    files: list[TnefFile] = []
    for index, attachment in enumerate(tnef.attachments):
        raw = raw_objects.get(index)
        embedded = getattr(attachment, "embed", None)
        if embedded is not None or (raw is not None and raw.startswith(IMESSAGE_SIG)):
            if depth < MAX_EMBED_DEPTH and raw is not None:
                files.extend(_extract_embedded(raw[IMESSAGE_SIG_LEN:], depth + 1))
            continue
        data_bytes = raw if raw is not None else attachment.data
        files.append(
            TnefFile(
                filename=_filename(attachment, index),
                data=bytes(data_bytes or b""),
                embedded_depth=depth,
            )
        )
    return files


def _extract_embedded(data: bytes, depth: int) -> list[TnefFile]:
    try:
        return _extract(data, depth)
    except TnefError:
        return [TnefFile(filename=f"embedded-message-{depth}.tnef", data=data, embedded_depth=depth)]


def _raw_attach_data_objects(tnef: TNEF) -> dict[int, bytes]:
    """PR_ATTACH_DATA_OBJ bytes per attachment index, untrimmed (see the module docstring)."""
    found: dict[int, bytes] = {}
    index = -1
    for obj in tnef.objects:
        if obj.name == TNEF.ATTATTACHRENDDATA:
            index += 1
        elif obj.level == TNEF.LVL_ATTACHMENT and obj.name == TNEF.ATTATTACHMENT and index >= 0:
            try:
                props = decode_mapi(obj.data, tnef.codepage)
            except Exception:  # tnefparse already decoded it once; a second failure just means no fix-up
                continue
            for prop in props:
                if prop.name == mapi_props.MAPI_ATTACH_DATA_OBJ and isinstance(prop.raw_data, list):
                    value = _exact_value(obj.data, prop.raw_data)
                    if value is not None:
                        found[index] = value
    return found


def _exact_value(container: bytes, raw_data: list[object]) -> bytes | None:
    """tnefparse pads binary values to 4 bytes and forgets the length; the true length is the
    little-endian uint32 stored just before the value."""
    if len(raw_data) != 1 or not isinstance(raw_data[0], bytes) or not raw_data[0]:
        return None
    padded = raw_data[0]
    pos = container.find(padded)
    if pos < 4:
        return None
    length = int.from_bytes(container[pos - 4 : pos], "little")
    if not len(padded) - 3 <= length <= len(padded):
        return None
    return padded[:length]


def _filename(attachment: object, index: int) -> str:
    try:
        name = attachment.long_filename()  # type: ignore[attr-defined]
    except Exception:
        name = None
    if isinstance(name, bytes):
        name = name.decode("utf-8", errors="replace")
    name = (name or "").strip("\x00").strip()
    return name or f"attachment-{index + 1}"
