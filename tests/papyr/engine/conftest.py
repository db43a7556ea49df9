"""Fixtures for the embedded engine: a clock tests move by hand, test doubles of the invoice
activities (plain functions returning the documented dicts, recording each call), an engine factory."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrators.invoice import ORCHESTRATOR_NAME, invoice_orchestrator
from papyr.engine import EmbeddedEngine

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class InvoiceActivities:
    """The activities the invoice orchestrator calls, as doubles that record every call."""

    NAMES = (
        "classify_document", "extract_invoice", "check_invoice", "route_invoice", "request_approval",
        "send_reminder", "escalate_approval", "record_decision", "render_report", "export_invoice",
        "mark_failed",
    )

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.route: dict[str, Any] = {"kind": "auto_approve", "reasons": []}
        self.classification: dict[str, Any] = {"status": "ok", "document_type": "invoice"}
        self.failures: dict[str, Exception] = {}
        self.hooks: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._lock = threading.Lock()

    def mapping(self) -> dict[str, Callable[[Any], Any]]:
        return {name: self._activity(name) for name in self.NAMES}

    def names(self, invoice_id: str | None = None) -> list[str]:
        return [name for name, payload in self.calls if invoice_id in (None, payload.get("invoice_id"))]

    def payloads(self, name: str) -> list[dict[str, Any]]:
        return [payload for called, payload in self.calls if called == name]

    def _activity(self, name: str) -> Callable[[Any], Any]:
        def run(payload: dict[str, Any]) -> dict[str, Any]:
            with self._lock:
                self.calls.append((name, payload))
            if name in self.hooks:
                self.hooks[name](payload)
            if name in self.failures:
                raise self.failures[name]
            if name == "classify_document":
                return self.classification
            if name == "extract_invoice":
                return {"status": "ok"}
            if name == "route_invoice":
                return self.route
            return {}

        return run


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def activities() -> InvoiceActivities:
    return InvoiceActivities()


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[Callable[..., EmbeddedEngine]]:
    engines: list[EmbeddedEngine] = []

    def make(
        activities: dict[str, Callable[[Any], Any]],
        orchestrators: dict[str, Callable[[Any], Any]] | None = None,
        **options: Any,
    ) -> EmbeddedEngine:
        engine = EmbeddedEngine(
            tmp_path / "engine.sqlite3",
            orchestrators or {ORCHESTRATOR_NAME: invoice_orchestrator},
            activities,
            **options,
        )
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()
