"""The inference client: retries with backoff, no retry on 4xx, circuit breaker (httpx MockTransport)."""

from __future__ import annotations

import httpx
import pytest
from PIL import Image

from shared.ocr.client import CircuitBreaker, InferenceOcrClient, InferenceRejected, InferenceUnavailable

PAGE = {
    "width": 100,
    "height": 50,
    "words": [{"text": "Total", "x0": 1.0, "top": 2.0, "x1": 30.0, "bottom": 12.0, "confidence": 0.97123456}],
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _client(handler: httpx.MockTransport, breaker: CircuitBreaker | None = None, retries: int = 3):
    sleeps: list[float] = []
    client = InferenceOcrClient(
        "http://inference:8080/",
        transport=handler,
        retries=retries,
        backoff_s=(0.5, 1, 2),
        breaker=breaker or CircuitBreaker(failure_threshold=100),
        sleep=sleeps.append,
    )
    return client, sleeps


def _image() -> Image.Image:
    return Image.new("RGB", (100, 50), "white")


def test_words_come_back_from_a_multipart_page_post() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"pages": [PAGE], "providers": ["CPUExecutionProvider"]})

    client, sleeps = _client(httpx.MockTransport(handle))
    words = client.recognize(_image())

    assert [(w.text, w.x0, w.bottom, w.confidence) for w in words] == [("Total", 1.0, 12.0, 0.9712)]
    assert str(seen[0].url) == "http://inference:8080/v1/ocr"
    assert seen[0].headers["content-type"].startswith("multipart/form-data")
    assert b'name="page"' in seen[0].content and b"\x89PNG" in seen[0].content
    assert sleeps == []


def test_5xx_is_retried_with_backoff_until_it_succeeds() -> None:
    answers = [httpx.Response(503, json={"error": "busy"}), httpx.Response(500, text="boom")]

    def handle(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json={"pages": [PAGE]})

    client, sleeps = _client(httpx.MockTransport(handle))
    assert [w.text for w in client.recognize(_image())] == ["Total"]
    assert sleeps == [0.5, 1]


def test_timeouts_and_connection_errors_are_retried_then_reported() -> None:
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) % 2:
            raise httpx.ReadTimeout("slow", request=request)
        raise httpx.ConnectError("refused", request=request)

    client, sleeps = _client(httpx.MockTransport(handle))
    with pytest.raises(InferenceUnavailable, match="failed 4 times; last: connection error"):
        client.recognize(_image())
    assert len(calls) == 4
    assert sleeps == [0.5, 1, 2]


def test_a_refused_page_is_not_retried() -> None:
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400, json={"error": "unreadable image: cannot identify image file"})

    breaker = CircuitBreaker(failure_threshold=1)
    client, sleeps = _client(httpx.MockTransport(handle), breaker)
    with pytest.raises(InferenceRejected, match="unreadable image"):
        client.recognize(_image())
    assert len(calls) == 1 and sleeps == []
    assert breaker.state == "closed"  # the service answered: it is healthy


def test_breaker_opens_after_consecutive_failures_then_half_opens_and_closes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after_s=30, clock=clock)
    healthy = False
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json={"pages": [PAGE]}) if healthy else httpx.Response(502, text="bad gateway")

    client, _ = _client(httpx.MockTransport(handle), breaker, retries=5)
    with pytest.raises(InferenceUnavailable, match="circuit open"):
        client.recognize(_image())
    assert len(calls) == 3  # the breaker stopped the retries after the third failure
    assert breaker.state == "open"

    with pytest.raises(InferenceUnavailable, match="circuit open"):
        client.recognize(_image())
    assert len(calls) == 3  # open: no request at all

    clock.now += 30
    assert breaker.state == "half_open"
    with pytest.raises(InferenceUnavailable, match="circuit open"):
        client.recognize(_image())  # the one trial call fails: open again for another cool-down
    assert len(calls) == 4
    assert breaker.state == "open"

    clock.now += 29
    assert breaker.state == "open"
    clock.now += 1
    healthy = True
    assert [w.text for w in client.recognize(_image())] == ["Total"]
    assert len(calls) == 5
    assert breaker.state == "closed"


def test_half_open_lets_only_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.allow() is True
    assert breaker.allow() is False  # a second caller waits for the trial's outcome
    breaker.record_success()
    assert breaker.allow() is True and breaker.state == "closed"


def test_failures_must_be_consecutive_to_open() -> None:
    breaker = CircuitBreaker(failure_threshold=2, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
