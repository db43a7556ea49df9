"""What only the file-system store does: its layout on disk, staging, and symlink escapes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.adapters.local.blobs import STAGING_DIR, LocalBlobStore


def test_blobs_are_plain_files_under_the_root(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("documents/ab/abc.pdf", b"%PDF-1.4")

    assert (tmp_path / "blobs" / "documents" / "ab" / "abc.pdf").read_bytes() == b"%PDF-1.4"


def test_a_new_store_on_the_same_root_sees_earlier_blobs(tmp_path: Path) -> None:
    LocalBlobStore(tmp_path).put("reports/r.pdf", b"report")

    reopened = LocalBlobStore(tmp_path)
    assert reopened.get("reports/r.pdf") == b"report"
    assert reopened.list() == ["reports/r.pdf"]


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("a.bin", b"1")
    store.put("a.bin", b"1")
    with pytest.raises(ValueError):
        store.put("a.bin", b"2")
    with pytest.raises(OSError):
        store.put("a.bin/child", b"3")  # a file stands where the folder would be

    assert list((tmp_path / STAGING_DIR).iterdir()) == []
    assert store.list() == ["a.bin"]


def test_staging_folder_is_neither_listed_nor_addressable(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    (tmp_path / STAGING_DIR / "blob-leftover.tmp").write_bytes(b"partial")

    assert store.list() == []
    with pytest.raises(ValueError):
        store.put(f"{STAGING_DIR}/x", b"x")


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    store = LocalBlobStore(root)
    os.symlink(outside, root / "link")

    with pytest.raises(ValueError, match="outside"):
        store.put("link/evil.txt", b"x")
    assert list(outside.iterdir()) == []


def test_written_file_replaces_nothing_when_content_differs(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("exports/x.csv", b"a,b\n1,2\n")
    inode = (tmp_path / "exports" / "x.csv").stat().st_ino

    with pytest.raises(ValueError):
        store.put("exports/x.csv", b"a,b\n9,9\n")
    assert (tmp_path / "exports" / "x.csv").stat().st_ino == inode
