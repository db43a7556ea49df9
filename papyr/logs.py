"""Structured logs: one JSON object per line on stderr, with the OpenTelemetry trace id when a span
is active, so a document's path through intake, engine and activities can be followed."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from opentelemetry import trace

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            payload["trace_id"] = format(span.trace_id, "032x")
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("pdfminer", "PIL", "weasyprint", "fontTools", "RapidOCR", "azure", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def configure_tracing() -> list[str]:
    """Traces and metrics of the engine, activities, intake and OCR, to the exporters the environment
    names (OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER = console | otlp, or Application Insights);
    otherwise the no-op API. See ``shared.telemetry.configure_telemetry``."""
    from shared.telemetry import configure_telemetry

    return configure_telemetry()
