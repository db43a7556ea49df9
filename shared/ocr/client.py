"""OcrEngine over the gpu-inference service's HTTP API (POST /v1/ocr), for the Function App.

A page is sent as PNG; 5xx answers, connection errors and timeouts are retried with backoff; a
circuit breaker shared by the calls stops hammering a service that keeps failing and lets one trial
call through after a cool-down. A 4xx answer means the page itself was refused: it is not retried.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import httpx

from shared.documents.content import Word
from shared.telemetry import trace_headers

if TYPE_CHECKING:
    from PIL.Image import Image

BreakerState = Literal["closed", "open", "half_open"]


class InferenceUnavailable(RuntimeError):
    """The inference service could not be reached or kept failing (or the circuit is open)."""


class InferenceRejected(ValueError):
    """The service refused the page itself (4xx): retrying the same page cannot help."""


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; after ``reset_after_s`` one trial call
    is let through (half-open): success closes the circuit, failure opens it for another cool-down."""

    def __init__(
        self, failure_threshold: int = 5, reset_after_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failure_threshold = max(1, failure_threshold)
        self.reset_after_s = reset_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self.reset_after_s else "open"

    def allow(self) -> bool:
        """Whether a call may go out now (in half-open, only the one trial call)."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial_in_flight = 0, None, False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_in_flight or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._trial_in_flight = False


class InferenceHttpClient:
    """What every call to the inference service shares: one httpx client, retries with backoff on
    5xx / connection errors / timeouts, the circuit breaker, 4xx as ``InferenceRejected``."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
        retries: int = 3,
        backoff_s: Sequence[float] = (0.5, 1.0, 2.0),
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), transport=transport, timeout=timeout_s)
        self.retries = max(0, retries)
        self.backoff_s = tuple(backoff_s) or (0.0,)
        self.breaker = breaker or CircuitBreaker()
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def post_json(self, path: str, *, files: dict[str, Any], data: dict[str, str] | None = None) -> dict[str, Any]:
        """POST multipart ``files`` (and form ``data``) to ``path``; the JSON answer of a 2xx."""
        last_problem = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_s[min(attempt - 1, len(self.backoff_s) - 1)])
            if not self.breaker.allow():
                raise InferenceUnavailable(f"inference circuit open (last problem: {last_problem})")
            try:
                response = self._http.post(path, files=files, data=data, headers=trace_headers())
            except httpx.TimeoutException as error:
                last_problem = f"timeout: {type(error).__name__}"
            except httpx.TransportError as error:
                last_problem = f"connection error: {type(error).__name__}: {error}"
            else:
                if response.status_code < 500:
                    self.breaker.record_success()  # the service is up, whatever it thought of the input
                    if response.status_code >= 400:
                        raise InferenceRejected(f"inference service refused the input: {_reason(response)}")
                    answer: dict[str, Any] = response.json()
                    return answer
                last_problem = f"HTTP {response.status_code}: {_reason(response)}"
            self.breaker.record_failure()
        raise InferenceUnavailable(f"inference service failed {self.retries + 1} times; last: {last_problem}")


class InferenceOcrClient(InferenceHttpClient):
    """shared.ocr.OcrEngine backed by the inference service."""

    def recognize(self, image: Image) -> list[Word]:
        """Words of one page image, boxes in that image's pixels (origin top-left)."""
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return self.recognize_png(buffer.getvalue())

    def recognize_png(self, png: bytes) -> list[Word]:
        """Words of one PNG-encoded page (no re-encoding when the caller already has PNG bytes)."""
        pages: list[dict[str, Any]] = self.post_json("/v1/ocr", files={"page": ("page.png", png, "image/png")})[
            "pages"
        ]
        if len(pages) != 1:
            raise InferenceUnavailable(f"inference service answered {len(pages)} pages for one")
        return [_word(raw) for raw in pages[0].get("words", [])]


def _word(raw: dict[str, Any]) -> Word:
    return Word(
        text=str(raw["text"]),
        x0=float(raw["x0"]),
        top=float(raw["top"]),
        x1=float(raw["x1"]),
        bottom=float(raw["bottom"]),
        confidence=round(max(0.0, min(1.0, float(raw.get("confidence", 1.0)))), 4),
    )


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text[:200]))
    except ValueError:
        return response.text[:200]


@lru_cache(maxsize=4)
def inference_client(base_url: str) -> InferenceOcrClient:
    """The process-wide client (and circuit breaker) for one service URL."""
    return InferenceOcrClient(base_url)
