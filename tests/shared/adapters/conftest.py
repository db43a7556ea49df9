"""Fixtures for the storage adapters: a ``blob_store`` fixture parametrised over every BlobStore
implementation so all of them pass one contract suite. (Azurite's fixtures are in tests/conftest.py:
the end-to-end ``papyr process`` test uses them too.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.adapters.azure.blobs import AzureBlobStore
from shared.adapters.local.blobs import LocalBlobStore
from shared.ports import BlobStore


@pytest.fixture(params=["local", pytest.param("azure", marks=pytest.mark.azurite)])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    connection_string = request.getfixturevalue("azurite_connection_string")
    container = request.getfixturevalue("azure_container")
    return AzureBlobStore(connection_string, container)
