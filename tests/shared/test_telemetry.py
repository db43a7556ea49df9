"""One trace per invoice and the product's metrics, on the embedded host with a real sample invoice,
read back through the SDK's InMemorySpanExporter and InMemoryMetricReader.

The global providers can be set once per process: this module installs them (the only one in the
suite that does) and stops its exporter when it is done.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from PIL import Image, ImageDraw, ImageFont

from orchestrators.invoice import APPROVAL_EVENT, instance_id_for
from papyr.host import build_local_host
from shared import telemetry
from shared.intake.service import ingest_file, orchestration_input, start_orchestrations
from shared.mailboxes.queue import SqliteNotificationQueue
from shared.settings import Settings

Points = dict[tuple[str, frozenset[tuple[str, Any]]], float]


@pytest.fixture(scope="module")
def otel() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    tracer_provider = trace.get_tracer_provider()
    if not isinstance(tracer_provider, TracerProvider):
        tracer_provider = TracerProvider()
        trace.set_tracer_provider(tracer_provider)
    spans = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    if isinstance(metrics.get_meter_provider(), MeterProvider):
        pytest.fail("another test installed a global MeterProvider; metrics cannot be read back here")
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    yield spans, reader
    spans.shutdown()  # later tests' spans are dropped, not kept in memory


def _points(reader: InMemoryMetricReader) -> Points:
    """Cumulative values: a counter's sum, a histogram's count, a gauge's value."""
    found: Points = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else []:
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, frozenset((point.attributes or {}).items()))
                    if isinstance(point, HistogramDataPoint):
                        found[key] = point.count
                    elif isinstance(point, NumberDataPoint):
                        found[key] = point.value
    return found


def _delta(before: Points, after: Points, name: str, **attributes: Any) -> float:
    key = (name, frozenset(attributes.items()))
    return after.get(key, 0) - before.get(key, 0)


def _by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


INVOICE_ACTIVITIES = [
    "classify_document", "extract_invoice", "check_invoice", "route_invoice",
    "request_approval", "record_decision", "render_report", "export_invoice",
]


def test_one_trace_per_invoice_from_intake_through_every_activity(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader], tmp_path: Path, repo_root: Path
) -> None:
    spans, reader = otel
    spans.clear()
    before = _points(reader)
    host = build_local_host(tmp_path)
    raw = (repo_root / "samples" / "mailbox" / "01-pdf-invoice.eml").read_bytes()

    with telemetry.tracer().start_as_current_span("webhook") as webhook:  # the push that brought the mail
        result = ingest_file(raw, "01-pdf-invoice.eml", "ap@example.com", services=host.services)
    [document] = result.documents
    asyncio.run(start_orchestrations(result.documents, host.client, host.settings))
    host.engine.run_until_idle(timeout_s=120)  # the unknown vendor sends it to an approver
    host.engine.raise_event(instance_id_for(document.sha256), APPROVAL_EVENT, {"decision": "approved", "by": "ap"})
    host.engine.run_until_idle(timeout_s=120)
    host.engine.close()

    record = host.services.repo.get_invoice(document.sha256)
    assert record is not None and record.status.value == "exported"
    finished = spans.get_finished_spans()
    [intake] = _by_name(finished, "intake document")
    trace_id = intake.context.trace_id
    assert intake.parent is None  # a trace of its own, linked to the webhook's
    assert [link.context.span_id for link in intake.links] == [webhook.get_span_context().span_id]
    assert intake.attributes is not None and intake.attributes["papyr.invoice_id"] == document.sha256
    assert result.traces[document.sha256]["traceparent"].split("-")[1] == format(trace_id, "032x")

    activity_spans = [span for span in finished if span.name.startswith("activity ")]
    assert sorted(span.name.removeprefix("activity ") for span in activity_spans) == sorted(INVOICE_ACTIVITIES)
    for span in activity_spans:
        assert span.context.trace_id == trace_id, span.name
        assert span.parent is not None and span.parent.span_id == intake.context.span_id
    orchestrator_spans = _by_name(finished, "orchestrator invoice_orchestrator")
    assert orchestrator_spans and {span.context.trace_id for span in orchestrator_spans} == {trace_id}
    [extract] = _by_name(finished, "extract")  # a span the activity opens itself: nested in its activity
    [extract_activity] = _by_name(finished, "activity extract_invoice")
    assert extract.parent is not None and extract.parent.span_id == extract_activity.context.span_id

    after = _points(reader)
    assert _delta(before, after, "papyr.invoices.processed", status="exported") == 1
    for name in INVOICE_ACTIVITIES:
        assert _delta(before, after, "papyr.stage.duration", **{"papyr.activity": name, "outcome": "ok"}) == 1, name
    for finding in record.findings:
        severity = finding.severity.value
        assert _delta(before, after, "papyr.findings", code=finding.code, severity=severity) >= 1
    assert sum(v for (n, _), v in after.items() if n == "papyr.findings") - sum(
        v for (n, _), v in before.items() if n == "papyr.findings") == len(record.findings) > 0


def test_a_rejected_document_is_counted_and_traced(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader], tmp_path: Path, repo_root: Path
) -> None:
    spans, reader = otel
    spans.clear()
    before = _points(reader)
    host = build_local_host(tmp_path)
    raw = (repo_root / "samples" / "mailbox" / "05-not-an-invoice.eml").read_bytes()
    result = ingest_file(raw, "05-not-an-invoice.eml", services=host.services)
    asyncio.run(start_orchestrations(result.documents, host.client, host.settings))
    host.engine.run_until_idle(timeout_s=120)
    host.engine.close()

    after = _points(reader)
    assert _delta(before, after, "papyr.invoices.processed", status="rejected") == 1
    finished = spans.get_finished_spans()
    [intake] = _by_name(finished, "intake document")
    [classify] = _by_name(finished, "activity classify_document")
    assert classify.context.trace_id == intake.context.trace_id
    assert not _by_name(finished, "activity extract_invoice")


def test_ocr_is_a_child_span_with_its_batch_size(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader], tmp_path: Path
) -> None:
    from shared.pipeline import read_document

    spans, reader = otel
    spans.clear()
    before = _points(reader)
    page = Image.new("RGB", (900, 200), "white")
    ImageDraw.Draw(page).text((40, 60), "INVOICE 4711 TOTAL 99.00", fill="black", font=ImageFont.load_default(48))
    png = tmp_path / "scan.png"
    page.save(png)

    with telemetry.tracer().start_as_current_span("activity extract_invoice") as activity:
        content = read_document(png.read_bytes(), "scan.png", "image/png", Settings(data_dir=tmp_path))

    assert "4711" in " ".join(word.text for p in content.pages for word in p.words)
    [ocr] = _by_name(spans.get_finished_spans(), "inference ocr")
    [reading] = _by_name(spans.get_finished_spans(), "read_document")
    assert ocr.context.trace_id == activity.get_span_context().trace_id
    assert ocr.parent is not None and ocr.parent.span_id == reading.context.span_id
    assert ocr.kind is trace.SpanKind.CLIENT and ocr.attributes is not None and ocr.attributes["papyr.batch_size"] == 1
    assert _delta(before, _points(reader), "papyr.inference.batch_size", **{"papyr.operation": "ocr"}) == 1


def test_trace_headers_carry_the_active_span_to_http_calls(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader],
) -> None:
    with telemetry.inference_span("ocr", batch_size=4) as span:
        headers = telemetry.trace_headers({"Accept": "application/json"})
    context = span.get_span_context()
    assert headers["Accept"] == "application/json"
    version, trace_id, span_id, flags = headers["traceparent"].split("-")
    assert (version, trace_id, span_id) == ("00", f"{context.trace_id:032x}", f"{context.span_id:016x}")
    assert int(flags, 16) & 0x01  # sampled
    # The receiving side (an activity, the inference service) continues the same trace from it.
    parent = telemetry.context_from(headers)
    assert parent is not None
    assert trace.get_current_span(parent).get_span_context().trace_id == context.trace_id
    assert telemetry.context_from({}) is None and telemetry.context_from({"traceparent": "garbage"}) is None
    assert telemetry.context_from(None) is None


def test_the_orchestration_input_carries_the_trace_only_when_there_is_one(tmp_path: Path) -> None:
    from shared.domain import DocumentRef

    ref = DocumentRef(sha256="ab" * 32, blob_name="documents/x.pdf", filename="x.pdf",
                      content_type="application/pdf", size=1)
    settings = Settings(data_dir=tmp_path)
    assert "trace" not in orchestration_input(ref, settings)
    carrier = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    assert orchestration_input(ref, settings, carrier)["trace"] == carrier


def test_queue_depth_is_an_observable_gauge_over_the_queue(
    otel: tuple[InMemorySpanExporter, InMemoryMetricReader], tmp_path: Path
) -> None:
    _, reader = otel
    queue = SqliteNotificationQueue(tmp_path / "queue.sqlite3")
    telemetry.observe_queue_depth("test-notifications", queue)
    for n in range(3):
        assert queue.send(f"m{n}", {"n": n})

    assert _points(reader)[("papyr.queue.depth", frozenset({("queue", "test-notifications")}))] == 3
    [message] = queue.receive(max_messages=1)
    queue.complete(message)
    assert _points(reader)[("papyr.queue.depth", frozenset({("queue", "test-notifications")}))] == 2

    del queue, message
    gc.collect()  # held weakly: a queue that is gone is no longer reported
    assert ("papyr.queue.depth", frozenset({("queue", "test-notifications")})) not in _points(reader)
