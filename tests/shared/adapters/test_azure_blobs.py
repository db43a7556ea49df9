"""What only the Azure store does, against a real Azurite: containers, content types, MD5s."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.storage.blob import BlobServiceClient

from shared.adapters.azure.blobs import AzureBlobStore

pytestmark = pytest.mark.azurite


def test_container_is_created_if_missing_and_reused(azurite_connection_string: str, azure_container: str) -> None:
    service = BlobServiceClient.from_connection_string(azurite_connection_string)
    assert not service.get_container_client(azure_container).exists()

    first = AzureBlobStore(azurite_connection_string, azure_container)
    first.put("a.txt", b"a")
    second = AzureBlobStore(azurite_connection_string, azure_container)  # must not fail or wipe

    assert service.get_container_client(azure_container).exists()
    assert second.get("a.txt") == b"a"


def test_content_type_and_md5_are_stored(azurite_connection_string: str, azure_container: str) -> None:
    store = AzureBlobStore(azurite_connection_string, azure_container)
    store.put("documents/x.pdf", b"%PDF-1.7 body", "application/pdf")

    properties = (
        BlobServiceClient.from_connection_string(azurite_connection_string)
        .get_blob_client(azure_container, "documents/x.pdf")
        .get_blob_properties()
    )
    assert properties.content_settings.content_type == "application/pdf"
    stored_md5 = properties.content_settings.content_md5
    assert stored_md5 is not None and bytes(stored_md5) == hashlib.md5(b"%PDF-1.7 body").digest()
    assert store.content_type("documents/x.pdf") == "application/pdf"


def test_existing_blob_without_md5_is_compared_by_content(azurite_connection_string: str, azure_container: str) -> None:
    # A blob written by another tool (no Content-MD5) still gets the write-once check.
    store = AzureBlobStore(azurite_connection_string, azure_container)
    raw = BlobServiceClient.from_connection_string(azurite_connection_string).get_blob_client(
        azure_container, "foreign.bin"
    )
    raw.upload_blob(b"foreign", overwrite=True)
    raw.set_http_headers()  # clears the MD5 the service computed on upload
    assert raw.get_blob_properties().content_settings.content_md5 is None

    assert store.put("foreign.bin", b"foreign") == "foreign.bin"
    with pytest.raises(ValueError, match="different content"):
        store.put("foreign.bin", b"changed")


class _Wire:
    """Every request the SDK sends (``raw_request_hook``, a documented client option): method, path, headers."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, pipeline_request: Any) -> None:
        request = pipeline_request.http_request
        self.sent.append((request.method, urlsplit(request.url).path, dict(request.headers)))


def test_writes_are_conditional_and_a_repeat_is_a_no_op(azurite_connection_string: str, azure_container: str) -> None:
    wire = _Wire()
    store = AzureBlobStore(azurite_connection_string, azure_container, raw_request_hook=wire)
    raw = BlobServiceClient.from_connection_string(azurite_connection_string).get_blob_client(
        azure_container, "reports/r.pdf"
    )
    store.put("reports/r.pdf", b"%PDF report", "application/pdf")
    first = raw.get_blob_properties()

    wire.sent.clear()
    store.put("reports/r.pdf", b"%PDF report", "application/pdf")  # an activity retried

    puts = [headers for method, path, headers in wire.sent if method == "PUT"]
    assert len(puts) == 1 and puts[0]["If-None-Match"] == "*"
    # The service refused the second write; the stored MD5 settled it with a HEAD, no download.
    assert [method for method, _, _ in wire.sent] == ["PUT", "HEAD"]
    again = raw.get_blob_properties()
    assert again.etag == first.etag and again.last_modified == first.last_modified


def test_a_conflicting_write_is_refused_and_the_original_kept(
    azurite_connection_string: str, azure_container: str
) -> None:
    store = AzureBlobStore(azurite_connection_string, azure_container)
    store.put("exports/e.json", b'{"total": "10.00"}', "application/json")
    with pytest.raises(ValueError, match="different content"):
        store.put("exports/e.json", b'{"total": "99.00"}', "application/json")
    assert store.get("exports/e.json") == b'{"total": "10.00"}'


def test_concurrent_writers_of_the_same_blob_all_succeed(azurite_connection_string: str, azure_container: str) -> None:
    # Two workers run the same activity at once: one write wins, the other finds equal content.
    stores = [AzureBlobStore(azurite_connection_string, azure_container) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        names = list(pool.map(lambda s: s.put("documents/same.pdf", b"%PDF same", "application/pdf"), stores))
    assert names == ["documents/same.pdf"] * 4
    assert stores[0].get("documents/same.pdf") == b"%PDF same"
