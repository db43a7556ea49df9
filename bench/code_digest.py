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


def reader_digest(paths: tuple[str, ...] = READER_CODE) -> str:
    """The OCR caches' key: the reader's code (``paths``), and which detector this CPU runs. A CPU with VNNI runs the
    int8 detector, which reads some words differently from the float one (``shared.ocr.models.int8_is_exact``),
    so the two never share a cache; the float detector's key is the code digest alone, as before."""
    from shared.ocr.models import int8_is_exact

    return code_digest(*paths, extra="int8 detector" if int8_is_exact() else "")
