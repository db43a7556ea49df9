"""OpenTelemetry for both hosts: one trace per invoice, the product's metrics, and the exporters.

The trace context crosses the orchestration as data: a W3C carrier (``{"traceparent": ...}``) under
the ``trace`` key of the orchestration input and of every activity input. Durable Functions runs
activities on other workers, long after the intake that started them, so no thread-local context
survives the hop; the carrier does, and it replays identically (it is part of the input).

Instruments are created on the global meter: until a host configures a provider they are no-ops,
afterwards they record (the API's proxy meter delegates), so the core never depends on a host.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import Link, Span, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACE_KEY = "trace"
SERVICE_NAME = "papyr"

_propagator = TraceContextTextMapPropagator()
_meter = metrics.get_meter(SERVICE_NAME)

INVOICES_PROCESSED = _meter.create_counter(
    "papyr.invoices.processed", unit="{invoice}", description="Invoices that reached a final status, by status"
)
STAGE_DURATION = _meter.create_histogram(
    "papyr.stage.duration", unit="s", description="Duration of each orchestration activity (stage), by activity"
)
FINDINGS = _meter.create_counter(
    "papyr.findings", unit="{finding}", description="Findings raised by the checks, by code and severity"
)
INFERENCE_BATCH_SIZE = _meter.create_histogram(
    "papyr.inference.batch_size",
    unit="{page}",
    description="Pages sent to the OCR / inference model in one call",
    explicit_bucket_boundaries_advisory=[1, 2, 4, 8, 16, 32, 64],
)


def tracer() -> trace.Tracer:
    return trace.get_tracer(SERVICE_NAME)


# -- trace context as data ---------------------------------------------------------------------


def current_carrier() -> dict[str, str]:
    """The active span's context as a W3C carrier; empty when nothing is traced (no provider)."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier


def context_from(carrier: object) -> otel_context.Context | None:
    """The context a carrier names, or None when it names none (absent, empty, malformed)."""
    if not isinstance(carrier, Mapping) or "traceparent" not in carrier:
        return None
    extracted = _propagator.extract({str(k): str(v) for k, v in carrier.items()})
    return extracted if trace.get_current_span(extracted).get_span_context().is_valid else None


def trace_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """HTTP headers with the active context added (``traceparent``/``tracestate``), for calls to
    the inference service and any other service of ours."""
    headers = dict(headers or {})
    _propagator.inject(headers)
    return headers


class _TraceRegistry:
    """Carriers of documents taken in but not yet started, by invoice id. Intake and the start of
    the orchestration are separate calls (and, under ``papyr serve``, separate processes), so the
    intake span's context waits here; bounded, because a document may never be started."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._items: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, invoice_id: str, carrier: Mapping[str, str]) -> None:
        if not carrier:
            return
        with self._lock:
            self._items[invoice_id] = dict(carrier)
            self._items.move_to_end(invoice_id)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)

    def get(self, invoice_id: str) -> dict[str, str] | None:
        with self._lock:
            carrier = self._items.get(invoice_id)
            return dict(carrier) if carrier else None

    def take(self, invoice_id: str) -> dict[str, str] | None:
        with self._lock:
            return self._items.pop(invoice_id, None)


pending_traces = _TraceRegistry()


@contextmanager
def document_span(invoice_id: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """The root span of one invoice's trace, opened at intake. A new trace per document (a message
    with three invoices gives three traces), linked to whatever span was active (the message's
    intake, a webhook), so the mail can still be followed to each of its documents."""
    active = trace.get_current_span().get_span_context()
    links = [Link(active)] if active.is_valid else []
    with tracer().start_as_current_span(
        "intake document",
        context=otel_context.Context(),  # an empty context: a new root
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={"papyr.invoice_id": invoice_id, **(attributes or {})},
    ) as span:
        yield span


# -- activities and inference ------------------------------------------------------------------


@contextmanager
def activity_span(name: str, payload: object, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """One activity run: a span whose parent is the invoice's trace (the payload's carrier), and
    its duration in the per-stage histogram. Both hosts use it: the embedded engine and the
    Function App's activity triggers."""
    parent = context_from(payload.get(TRACE_KEY)) if isinstance(payload, Mapping) else None
    if isinstance(payload, Mapping) and "invoice_id" in payload:
        attributes = {"papyr.invoice_id": str(payload["invoice_id"]), **(attributes or {})}
    started = time.perf_counter()
    outcome = "ok"
    with tracer().start_as_current_span(
        f"activity {name}", context=parent, attributes={"papyr.activity": name, **(attributes or {})}
    ) as span:
        try:
            yield span
        except BaseException:
            outcome = "error"
            raise
        finally:
            status = getattr(span, "status", None)
            if status is not None and status.status_code is StatusCode.ERROR:
                outcome = "error"
            STAGE_DURATION.record(time.perf_counter() - started, {"papyr.activity": name, "outcome": outcome})


@contextmanager
def inference_span(operation: str, batch_size: int, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A call to the OCR / inference model (in process or over HTTP): a client span, child of the
    activity, and the batch size. An HTTP client sends ``trace_headers()`` from inside it."""
    INFERENCE_BATCH_SIZE.record(batch_size, {"papyr.operation": operation})
    with tracer().start_as_current_span(
        f"inference {operation}",
        kind=SpanKind.CLIENT,
        attributes={"papyr.operation": operation, "papyr.batch_size": batch_size, **(attributes or {})},
    ) as span:
        yield span


def record_invoice_finished(status: str) -> None:
    """An invoice reached a final status (exported, rejected, declined, failed). Activities run at
    least once, so a retried final step can count twice: a metric, not the ledger."""
    INVOICES_PROCESSED.add(1, {"status": status})


def record_findings(findings: Iterable[Any]) -> None:
    for finding in findings:
        severity = getattr(finding, "severity", None)
        FINDINGS.add(1, {"code": str(finding.code), "severity": str(getattr(severity, "value", severity))})


# -- queue depth -------------------------------------------------------------------------------


@runtime_checkable
class CountableQueue(Protocol):
    def count(self) -> int: ...


_queues: dict[str, Callable[[], CountableQueue | None]] = {}
_queues_lock = threading.Lock()


def _observe_queues(_: CallbackOptions) -> Iterable[Observation]:
    with _queues_lock:
        queues = list(_queues.items())
    for name, ref in queues:
        queue = ref()
        if queue is None:
            continue
        try:
            depth = queue.count()
        except Exception:  # a queue that cannot be read right now is skipped, never fails the export
            continue
        yield Observation(depth, {"queue": name})


QUEUE_DEPTH = _meter.create_observable_gauge(
    "papyr.queue.depth", callbacks=[_observe_queues], unit="{message}",
    description="Messages waiting in the notification queue",
)


def observe_queue_depth(name: str, queue: CountableQueue) -> None:
    """Report ``queue.count()`` as the queue-depth gauge (held weakly: a closed queue drops out)."""
    try:
        ref: Callable[[], CountableQueue | None] = weakref.ref(queue)
    except TypeError:  # not weak-referenceable: hold it
        ref = lambda: queue  # noqa: E731
    with _queues_lock:
        _queues[name] = ref


# -- exporters ---------------------------------------------------------------------------------

_configured: list[str] | None = None
_configure_lock = threading.Lock()


def configure_telemetry() -> list[str]:
    """Install the exporters the environment asks for, once per process; returns what it installed.

    - ``APPLICATIONINSIGHTS_CONNECTION_STRING`` set (the Function App): azure-monitor-opentelemetry,
      traces and metrics to Application Insights.
    - else ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` = ``console`` (stderr) or ``otlp``
      (``OTEL_EXPORTER_OTLP_ENDPOINT``, HTTP/protobuf); unset or ``none``: nothing (no-op API).
    """
    global _configured
    with _configure_lock:
        if _configured is None:
            _configured = _install()
        return list(_configured)


def _install() -> list[str]:
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": SERVICE_NAME})
    if os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(resource=resource)  # reads the connection string from the environment
        return ["azure_monitor"]
    installed: list[str] = []
    traces = _choice("OTEL_TRACES_EXPORTER")
    if traces:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter(traces)))
        trace.set_tracer_provider(tracer_provider)
        installed.append(f"traces:{traces}")
    metric_choice = _choice("OTEL_METRICS_EXPORTER")
    if metric_choice:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        reader = PeriodicExportingMetricReader(_metric_exporter(metric_choice))
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
        installed.append(f"metrics:{metric_choice}")
    return installed


def _choice(variable: str) -> str | None:
    value = os.environ.get(variable, "").strip().lower()
    if value in ("", "none"):
        return None
    if value not in ("console", "otlp"):
        raise ValueError(f"{variable}={value!r}: papyr supports console, otlp or none")
    return value


def _span_exporter(kind: str) -> Any:
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint and headers from OTEL_EXPORTER_OTLP_*
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter(out=sys.stderr)


def _metric_exporter(kind: str) -> Any:
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter()
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

    return ConsoleMetricExporter(out=sys.stderr)
