"""The BlobStore contract, run against every implementation (local folder and Azurite)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.ports import BlobNotFound, BlobStore


def test_put_then_get_returns_the_same_bytes(blob_store: BlobStore) -> None:
    data = bytes(range(256)) * 1000  # binary, all byte values, 256 KB
    name = f"documents/{hashlib.sha256(data).hexdigest()}.pdf"

    assert blob_store.put(name, data, "application/pdf") == name
    assert blob_store.get(name) == data
    assert blob_store.exists(name)


def test_put_same_bytes_twice_is_a_no_op(blob_store: BlobStore) -> None:
    blob_store.put("reports/a.pdf", b"%PDF-1.7 report", "application/pdf")
    blob_store.put("reports/a.pdf", b"%PDF-1.7 report", "application/pdf")

    assert blob_store.get("reports/a.pdf") == b"%PDF-1.7 report"
    assert blob_store.list("reports/") == ["reports/a.pdf"]


def test_put_different_bytes_under_an_existing_name_is_refused(blob_store: BlobStore) -> None:
    blob_store.put("exports/inv.json", b'{"total": "100.00"}')

    with pytest.raises(ValueError, match="different content"):
        blob_store.put("exports/inv.json", b'{"total": "999.00"}')
    assert blob_store.get("exports/inv.json") == b'{"total": "100.00"}'


def test_empty_blob_round_trips(blob_store: BlobStore) -> None:
    blob_store.put("empty.bin", b"")

    assert blob_store.exists("empty.bin")
    assert blob_store.get("empty.bin") == b""


def test_get_missing_raises_blob_not_found(blob_store: BlobStore) -> None:
    with pytest.raises(BlobNotFound):
        blob_store.get("documents/missing.pdf")
    assert not blob_store.exists("documents/missing.pdf")


def test_list_filters_by_prefix_and_sorts(blob_store: BlobStore) -> None:
    for name in ("documents/b.pdf", "documents/a.pdf", "docs-old/x.pdf", "reports/r.pdf", "top.txt"):
        blob_store.put(name, name.encode())

    assert blob_store.list("documents/") == ["documents/a.pdf", "documents/b.pdf"]
    assert blob_store.list("doc") == ["docs-old/x.pdf", "documents/a.pdf", "documents/b.pdf"]
    assert blob_store.list("documents/a") == ["documents/a.pdf"]
    assert blob_store.list() == ["docs-old/x.pdf", "documents/a.pdf", "documents/b.pdf", "reports/r.pdf", "top.txt"]
    assert blob_store.list("nothing/") == []


def test_names_with_spaces_unicode_and_several_dots(blob_store: BlobStore) -> None:
    name = "documents/Rechnung Nr. 42 – März.final.v2.pdf"
    blob_store.put(name, b"bytes")

    assert blob_store.get(name) == b"bytes"
    assert blob_store.list("documents/") == [name]


@pytest.mark.parametrize(
    "name",
    ["../escape.pdf", "documents/../../escape.pdf", "/etc/passwd", "a//b", "a/./b", "", "a\\b", "trailing/"],
)
def test_unsafe_names_are_refused(blob_store: BlobStore, name: str) -> None:
    with pytest.raises(ValueError):
        blob_store.put(name, b"x")
    with pytest.raises(ValueError):
        blob_store.get(name)


def test_concurrent_puts_of_the_same_blob_all_succeed(blob_store: BlobStore) -> None:
    # At-least-once activities may store the same document at the same moment.
    data = b"same document" * 1000
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: blob_store.put("documents/same.pdf", data), range(16)))

    assert results == ["documents/same.pdf"] * 16
    assert blob_store.get("documents/same.pdf") == data
