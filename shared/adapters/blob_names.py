"""Blob-name rules shared by every BlobStore adapter, so a name valid on one is valid on all.

Names are relative, '/'-separated paths of plain segments. Anything that could escape a folder
('..', absolute paths, backslashes, drive letters) or that object stores treat differently
(empty segments, trailing '/', control characters) is refused with ``ValueError``.
"""

from __future__ import annotations

MAX_NAME_LENGTH = 1024  # Azure's limit on a blob name


def check_blob_name(name: str) -> str:
    """Return ``name`` unchanged if it is a valid blob name, else raise ``ValueError``."""
    if not isinstance(name, str) or not name:
        raise ValueError("blob name must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"blob name longer than {MAX_NAME_LENGTH} characters")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise ValueError(f"blob name contains control characters: {name!r}")
    if "\\" in name:
        raise ValueError(f"blob name must use '/' separators: {name!r}")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ValueError(f"blob name must be relative: {name!r}")
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"blob name has an empty, '.' or '..' segment: {name!r}")
    return name
