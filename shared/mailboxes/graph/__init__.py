"""Outlook / Microsoft 365 over Microsoft Graph: notification validation and the mail connector.

The connector (msgraph-sdk, ~0.3 s to import) loads on first use, so the webhook path that only
validates notifications stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shared.mailboxes.graph.errors import GraphError, parse_retry_after
from shared.mailboxes.graph.notifications import (
    AcceptedNotification,
    GraphNotificationBatch,
    RejectedNotification,
    parse_graph_notifications,
    validation_response,
)

if TYPE_CHECKING:
    from shared.mailboxes.graph.connector import GraphConnector
    from shared.mailboxes.graph.runtime import StaticTokenCredential

_LAZY = {
    "GraphConnector": "shared.mailboxes.graph.connector",
    "StaticTokenCredential": "shared.mailboxes.graph.runtime",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AcceptedNotification",
    "GraphConnector",
    "GraphError",
    "GraphNotificationBatch",
    "RejectedNotification",
    "StaticTokenCredential",
    "parse_graph_notifications",
    "parse_retry_after",
    "validation_response",
]
