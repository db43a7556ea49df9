"""The Cosmos DB layout: containers, partition keys, indexing policies, and how domain keys become
document ids. docs/cosmos.md explains each choice; Terraform creates the same containers.

Kept apart from the repository so the layout can be read (and tested) without a client.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

INVOICES = "invoices"
AUDIT = "audit"
MESSAGES = "messages"
VENDORS = "vendors"
EXPORTS = "exports"
ITEMS = "items"

# Cosmos ids may not contain these, and are at most 255 characters.
_FORBIDDEN_ID_CHARACTERS = "/\\?#%"
MAX_ID_LENGTH = 255


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    partition_key_path: str
    # Paths never queried are not indexed: every indexed path costs RU on each write.
    excluded_paths: tuple[str, ...] = ()
    composite_indexes: tuple[tuple[tuple[str, str], ...], ...] = field(default=())

    def indexing_policy(self) -> dict[str, Any]:
        policy: dict[str, Any] = {
            "indexingMode": "consistent",
            "automatic": True,
            "includedPaths": [{"path": "/*"}],
            "excludedPaths": [{"path": '/"_etag"/?'}, *({"path": path} for path in self.excluded_paths)],
        }
        if self.composite_indexes:
            policy["compositeIndexes"] = [
                [{"path": path, "order": order} for path, order in index] for index in self.composite_indexes
            ]
        return policy


CONTAINERS: dict[str, ContainerSpec] = {
    spec.name: spec
    for spec in (
        # Point reads by id (the document SHA-256) dominate; the dashboard list and the duplicate
        # check are cross-partition queries over the indexed top-level fields.
        ContainerSpec(
            INVOICES,
            "/id",
            excluded_paths=("/record/*",),
            composite_indexes=(
                (("/created_at", "descending"), ("/id", "descending")),
                (("/status", "ascending"), ("/created_at", "descending"), ("/id", "descending")),
            ),
        ),
        ContainerSpec(AUDIT, "/invoice_id", excluded_paths=("/detail/*",)),
        ContainerSpec(MESSAGES, "/mailbox"),
        ContainerSpec(VENDORS, "/key", excluded_paths=("/record/*",)),
        ContainerSpec(EXPORTS, "/invoice_id"),
        # Small keyed items of every kind (users, vendor profiles, purchase orders, ...): read by
        # (kind, key) or a whole kind at once, so the kind is the partition.
        ContainerSpec(ITEMS, "/kind", excluded_paths=("/data/*",)),
    )
}


def document_id(key: str) -> str:
    """A valid Cosmos id for a domain key (a Message-ID, an export target), one-to-one.

    Characters Cosmos refuses in ids are percent-escaped ('%' too, so escaping stays reversible);
    a key still too long becomes its SHA-256, which only another equally long key could share.
    """
    escaped = quote(key, safe="".join(chr(c) for c in range(32, 127) if chr(c) not in _FORBIDDEN_ID_CHARACTERS))
    if len(escaped) <= MAX_ID_LENGTH and not escaped.endswith(" "):
        return escaped
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def timestamp(value: datetime) -> str:
    """Fixed-width UTC ISO text (as in SQLite), so string order is time order in queries."""
    if value.tzinfo is None:  # the domain uses aware datetimes; a stray naive one is taken as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class SortableIds:
    """Audit entry ids that sort in append order within this process and across processes to the
    clock's resolution: 20-digit nanosecond time (never repeating or going back here), then a
    random suffix so two processes never collide."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> str:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            stamp = self._last
        return f"{stamp:020d}-{uuid.uuid4().hex[:16]}"
