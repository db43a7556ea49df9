"""The composition root of the core: which adapter serves each port, chosen by settings.

Both hosts call ``get_services()``; the Function App gets Azure adapters (``PAPYR_BACKEND=azure``),
the embedded host local files and SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

import httpx

from shared.domain import utcnow
from shared.ocr import OcrEngine
from shared.ports import BlobStore, Repository
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from shared.approvals.entra import EntraVerifier


@dataclass
class Services:
    settings: Settings
    blobs: BlobStore
    repo: Repository
    _ocr: OcrEngine | None = field(default=None, repr=False)
    # The time activities go by (delegation windows, audit times); tests move it by hand, with the
    # embedded engine's clock. Orchestrators never use it: they take time from their history.
    clock: Callable[[], datetime] = field(default=utcnow, repr=False)
    # Outbound HTTP of the core (Teams / Power Automate, Entra ID keys) goes through this transport;
    # None = the network. Tests put an httpx.MockTransport here: the seam of services we cannot run.
    http_transport: httpx.BaseTransport | None = field(default=None, repr=False)

    def http_client(self, timeout_s: float) -> httpx.Client:
        """A fresh client for one job (close it, or use it as a context manager)."""
        return httpx.Client(transport=self.http_transport, timeout=timeout_s, follow_redirects=False)

    @cached_property
    def entra(self) -> EntraVerifier | None:
        """Verifies Entra ID bearer tokens (keys cached) when a tenant and an audience are set."""
        from shared.approvals.entra import EntraVerifier

        return EntraVerifier.from_settings(self.settings, self.http_client)

    @cached_property
    def ocr(self) -> OcrEngine:
        """Loaded on first use: the ONNX models cost a second or two to load."""
        if self._ocr is not None:
            return self._ocr
        from shared.ocr.rapid import default_ocr_engine

        return default_ocr_engine()

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        if settings.backend == "azure":
            from shared.adapters.azure.blobs import AzureBlobStore

            blobs: BlobStore
            if settings.storage_account_url:  # managed identity (Azure); user-delegation SAS links
                from azure.identity import DefaultAzureCredential

                blobs = AzureBlobStore.from_account_url(
                    settings.storage_account_url, DefaultAzureCredential(), settings.documents_container
                )
            elif settings.storage_connection_string:  # Azurite, or an account key
                blobs = AzureBlobStore(settings.storage_connection_string, settings.documents_container)
            else:
                raise RuntimeError(
                    "the azure backend needs PAPYR_STORAGE_ACCOUNT_URL (managed identity) "
                    "or PAPYR_STORAGE_CONNECTION_STRING"
                )
        else:
            from shared.adapters.local.blobs import LocalBlobStore

            blobs = LocalBlobStore(settings.data_dir / "blobs")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings=settings, blobs=blobs, repo=_repository(settings))


def _repository(settings: Settings) -> Repository:
    """Cosmos DB when an endpoint is set (whatever the backend), else SQLite in the data dir."""
    if settings.cosmos_endpoint:
        from shared.adapters.azure.cosmos import CosmosRepository, cosmos_client

        return CosmosRepository(cosmos_client(settings.cosmos_endpoint, settings.cosmos_key), settings.cosmos_database)
    from shared.adapters.local.sqlite import SqliteRepository

    return SqliteRepository(settings.database_path)


_services: Services | None = None


def get_services() -> Services:
    global _services
    if _services is None:
        _services = Services.from_settings(get_settings())
    return _services


def set_services(services: Services | None) -> None:
    """Install the services a host (or a test) built explicitly."""
    global _services
    _services = services
