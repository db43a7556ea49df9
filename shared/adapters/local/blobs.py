"""BlobStore on the local file system: one file per blob under a root folder.

Writes are atomic and write-once: bytes go to a temporary file in a staging folder on the same
file system, are flushed to disk, then hard-linked into place (``os.link`` fails if the name
exists, so two writers racing on one name cannot overwrite each other). Where hard links are not
supported the file is moved with ``os.replace`` after an existence check.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from shared.adapters.blob_names import check_blob_name
from shared.ports.blobs import BlobNotFound

STAGING_DIR = ".staging"  # temporary files; never a blob name


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._staging = self.root / STAGING_DIR
        self._staging.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        check_blob_name(name)
        if name.split("/", 1)[0] == STAGING_DIR:
            raise ValueError(f"blob names may not start with {STAGING_DIR!r}: {name!r}")
        path = self.root.joinpath(*name.split("/"))
        # A symlinked folder inside the root must not lead outside it either.
        if not path.resolve().is_relative_to(self.root):
            raise ValueError(f"blob name resolves outside the store: {name!r}")
        return path

    def put(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store ``data`` under ``name``; the content type is not kept locally (files have none)."""
        path = self._path(name)
        if path.exists():
            self._check_same(path, name, data)
            return name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self._staging, prefix="blob-", suffix=".tmp")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            self._publish(tmp, path, name, data)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return name

    def _publish(self, tmp: Path, path: Path, name: str, data: bytes) -> None:
        try:
            os.link(tmp, path)
        except FileExistsError:
            self._check_same(path, name, data)  # another writer got there first
        except OSError:
            # No hard links on this file system: fall back to a rename (atomic, but last writer wins).
            if path.exists():
                self._check_same(path, name, data)
            else:
                os.replace(tmp, path)

    @staticmethod
    def _check_same(path: Path, name: str, data: bytes) -> None:
        if path.read_bytes() != data:
            raise ValueError(f"blob {name!r} exists with different content; blobs are write-once")

    def get(self, name: str) -> bytes:
        path = self._path(name)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFound(name) from None

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def list(self, prefix: str = "") -> list[str]:
        """Names starting with ``prefix`` (a plain string prefix, as in Azure), sorted."""
        # Walk only the folder the prefix's complete segments point at.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self._path(folder) if folder else self.root
        names: list[str] = []
        for dirpath, dirnames, filenames in os.walk(start):
            if Path(dirpath) == self.root and STAGING_DIR in dirnames:
                dirnames.remove(STAGING_DIR)
            relative = Path(dirpath).relative_to(self.root).as_posix()
            for filename in filenames:
                name = filename if relative == "." else f"{relative}/{filename}"
                if name.startswith(prefix):
                    names.append(name)
        return sorted(names)
