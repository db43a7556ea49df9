"""Graph failures as one exception type, and the Retry-After rule for throttling."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 503, 504})


class GraphError(Exception):
    """A Graph request that failed for good (or was throttled; ``retry_after`` then says how long to wait)."""

    def __init__(self, status: int, code: str | None, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"Graph {status} {code or ''}: {message}".replace("  ", " "))
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE_STATUSES

    @property
    def is_not_found(self) -> bool:
        return self.status == 404

    @property
    def is_sync_state_lost(self) -> bool:
        """410 Gone on a delta link (syncStateNotFound / resyncRequired): start a fresh delta."""
        return self.status == 410


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
