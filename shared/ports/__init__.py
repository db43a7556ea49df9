"""The small interfaces the core needs from the outside world. Adapters live in
``shared.adapters`` (local: files + SQLite; azure: Blob, Cosmos, ...); the core imports only these."""

from shared.ports.blobs import BlobNotFound, BlobStore
from shared.ports.orchestration import OrchestrationClient, OrchestrationStatus
from shared.ports.records import Repository

__all__ = ["BlobNotFound", "BlobStore", "OrchestrationClient", "OrchestrationStatus", "Repository"]
