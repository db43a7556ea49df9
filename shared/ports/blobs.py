from __future__ import annotations

from typing import Protocol


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    """Write-once object storage. Names are '/'-separated paths, e.g. 'documents/<sha256>.pdf'.

    ``put`` is idempotent: writing a name that exists with the same bytes is a no-op, so activities
    that run twice (at-least-once delivery) do no harm.
    """

    def put(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str: ...

    def get(self, name: str) -> bytes: ...

    def exists(self, name: str) -> bool: ...

    def list(self, prefix: str = "") -> list[str]: ...
