"""Cache keys that change when the code that made the cached data changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READER_CODE = ("shared/documents", "shared/ocr", "shared/pipeline.py")  # what turns a file into its content


def code_digest(*paths: str, extra: str = "") -> str:
    """The first 12 hex digits of a SHA-256 over ``extra`` and the contents of the Python sources at
    ``paths`` (files, or folders read recursively; relative to the repository root), in sorted order.
    Contents only, not names: the tamper trainer's existing cache keys were made that way."""
    digest = hashlib.sha256(extra.encode())
    for name in paths:
        path = REPO / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]
