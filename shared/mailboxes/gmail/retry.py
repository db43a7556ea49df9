"""Bounded retries for Gmail API calls: 429, 5xx, per-user rate-limit 403s and dropped connections."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

import httplib2
from googleapiclient.errors import HttpError

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})  # Gmail answers these as 403
MAX_ATTEMPTS = 5
BASE_DELAY_S = 1.0
MAX_DELAY_S = 32.0


class Executable(Protocol):
    def execute(self) -> Any: ...


def execute_with_retries(
    request: Executable, *, sleep: Callable[[float], None], what: str, attempts: int = MAX_ATTEMPTS
) -> Any:
    """``request.execute()``, retried with exponential backoff (or the server's Retry-After)."""
    for attempt in range(attempts):
        try:
            return request.execute()
        except HttpError as error:
            if not is_retryable(error) or attempt == attempts - 1:
                raise
            delay = max(backoff(attempt), _retry_after(error))
            log.warning("Gmail %s: HTTP %s, retry %d in %.1fs", what, error.status_code, attempt + 1, delay)
        except (TimeoutError, ConnectionError, httplib2.HttpLib2Error) as error:
            if attempt == attempts - 1:
                raise
            delay = backoff(attempt)
            log.warning("Gmail %s: %s, retry %d in %.1fs", what, type(error).__name__, attempt + 1, delay)
        sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises


def backoff(attempt: int) -> float:
    return float(min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt))


def is_retryable(error: HttpError) -> bool:
    if error.status_code in RETRYABLE_STATUSES:
        return True
    return error.status_code == 403 and bool(RATE_LIMIT_REASONS & set(error_reasons(error)))


def error_reasons(error: HttpError) -> list[str]:
    """The ``error.errors[].reason`` values of a Google API error body."""
    try:
        body = json.loads(error.content)
        return [str(item.get("reason")) for item in body["error"].get("errors", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []


def _retry_after(error: HttpError) -> float:
    value = error.resp.get("retry-after") if error.resp is not None else None
    try:
        return min(MAX_DELAY_S * 4, float(value)) if value else 0.0
    except ValueError:
        return 0.0  # an HTTP-date: the exponential delay is close enough
