"""BlobStore on Azure Blob Storage (or Azurite), with the same write-once contract as the local
store: ``put`` uploads with ``overwrite=False``; if the blob exists, equal content is a no-op and
different content is a ``ValueError``.
"""

from __future__ import annotations

import contextlib
import hashlib

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContentSettings

from shared.adapters.blob_names import check_blob_name
from shared.ports.blobs import BlobNotFound


class AzureBlobStore:
    def __init__(self, connection_string: str, container: str) -> None:
        self._service = BlobServiceClient.from_connection_string(connection_string)
        self._container = self._service.get_container_client(container)
        # Created earlier, or by another worker at the same moment: either way it is there.
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()

    @property
    def container_name(self) -> str:
        return self._container.container_name

    def put(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        check_blob_name(name)
        md5 = hashlib.md5(data, usedforsecurity=False).digest()
        blob = self._container.get_blob_client(name)
        try:
            # content_md5 is stored on the blob, so a later put can compare without downloading.
            blob.upload_blob(
                data,
                overwrite=False,
                content_settings=ContentSettings(content_type=content_type, content_md5=bytearray(md5)),
            )
        except ResourceExistsError:
            self._check_same(name, data, md5)
        return name

    def _check_same(self, name: str, data: bytes, md5: bytes) -> None:
        blob = self._container.get_blob_client(name)
        stored_md5 = blob.get_blob_properties().content_settings.content_md5
        if stored_md5 is not None and bytes(stored_md5) != md5:
            raise ValueError(f"blob {name!r} exists with different content; blobs are write-once")
        if stored_md5 is None and blob.download_blob().readall() != data:
            raise ValueError(f"blob {name!r} exists with different content; blobs are write-once")

    def get(self, name: str) -> bytes:
        check_blob_name(name)
        try:
            return self._container.get_blob_client(name).download_blob().readall()
        except ResourceNotFoundError:
            raise BlobNotFound(name) from None

    def exists(self, name: str) -> bool:
        check_blob_name(name)
        return bool(self._container.get_blob_client(name).exists())

    def content_type(self, name: str) -> str:
        """The stored Content-Type (the local store has none; useful for serving originals)."""
        check_blob_name(name)
        try:
            properties = self._container.get_blob_client(name).get_blob_properties()
        except ResourceNotFoundError:
            raise BlobNotFound(name) from None
        return str(properties.content_settings.content_type)

    def list(self, prefix: str = "") -> list[str]:
        return sorted(self._container.list_blob_names(name_starts_with=prefix or None))
