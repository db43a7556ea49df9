"""What only the Azure store does, against a real Azurite: containers, content types, MD5s."""

from __future__ import annotations

import hashlib

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
