"""configure_telemetry picks its exporters from the environment, as the hosts run it: each case in a
fresh interpreter (the global providers can be set once per process), exporting to a local HTTP
stand-in of the real receiver — Application Insights' ingestion endpoint (``/v2.1/track``, a JSON
array of envelopes, as azure-monitor-opentelemetry sends them) or an OTLP/HTTP collector."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SCRIPT = """
from opentelemetry import metrics, trace
from shared import telemetry

installed = telemetry.configure_telemetry()
assert telemetry.configure_telemetry() == installed  # once per process
with telemetry.tracer().start_as_current_span("intake document"):
    carrier = telemetry.current_carrier()
with telemetry.activity_span("classify_document", {"invoice_id": "ab", "trace": carrier}):
    telemetry.record_invoice_finished("exported")
for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
    getattr(provider, "force_flush", lambda: None)()
print(repr(installed))
print(carrier.get("traceparent", ""))
"""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    posts: list[tuple[str, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            posts.append((self.path, dict(self.headers), body))
            answer = b"{}"
            if self.path.endswith("/track"):  # the Track API's answer: all items accepted
                count = len(json.loads(body))
                answer = json.dumps({"itemsReceived": count, "itemsAccepted": count, "errors": []}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", posts
    server.shutdown()
    server.server_close()


def _run(env: dict[str, str], repo_root: Path, tmp_path: Path) -> tuple[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_"))}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env={**clean, "TMPDIR": str(tmp_path), **env}, cwd=repo_root,
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    installed, traceparent = done.stdout.split("\n")[-3:-1]  # the script's last two lines
    return installed, traceparent


def test_application_insights_when_its_connection_string_is_set(
    receiver: tuple[str, list[tuple[str, dict[str, str], bytes]]], repo_root: Path, tmp_path: Path
) -> None:
    url, posts = receiver
    installed, traceparent = _run({
        "APPLICATIONINSIGHTS_CONNECTION_STRING":
            f"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint={url}/",
        "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",  # no calls to Microsoft's statsbeat endpoint
        "OTEL_TRACES_EXPORTER": "console",  # ignored: Application Insights wins on the Function App
        # The distro's default rate-limited sampler may drop a process's very first traces; it follows
        # the parent's decision, so an invoice's trace is kept or dropped whole. Here: keep all.
        "OTEL_TRACES_SAMPLER": "always_on",
    }, repo_root, tmp_path)

    assert installed == "['azure_monitor']"
    envelopes = [envelope for path, _, body in posts if path.endswith("/v2.1/track") for envelope in json.loads(body)]
    requests_and_dependencies = {e["data"]["baseData"].get("name"): e for e in envelopes
                                 if e["data"]["baseType"] in ("RequestData", "RemoteDependencyData")}
    trace_id = traceparent.split("-")[1]
    # Both spans land in one operation (Application Insights' name for a trace).
    assert {"intake document", "activity classify_document"} <= set(requests_and_dependencies)
    assert {e["tags"]["ai.operation.id"] for e in requests_and_dependencies.values()} == {trace_id}
    metric_names = {m["name"] for e in envelopes if e["data"]["baseType"] == "MetricData"
                    for m in e["data"]["baseData"]["metrics"]}
    assert {"papyr.invoices.processed", "papyr.stage.duration"} <= metric_names


def test_otlp_exporter_sends_the_trace_to_the_collector(
    receiver: tuple[str, list[tuple[str, dict[str, str], bytes]]], repo_root: Path, tmp_path: Path
) -> None:
    url, posts = receiver
    installed, traceparent = _run(
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_SERVICE_NAME": "papyr-test"},
        repo_root, tmp_path,
    )

    assert installed == "['traces:otlp']"
    [(_, headers, body)] = [post for post in posts if post[0] == "/v1/traces"]
    assert headers["Content-Type"] == "application/x-protobuf"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    service = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}["service.name"]
    assert service == "papyr-test"
    spans = {s.name: s for ss in resource_spans.scope_spans for s in ss.spans}
    assert spans["activity classify_document"].trace_id.hex() == traceparent.split("-")[1]
    assert spans["activity classify_document"].parent_span_id == spans["intake document"].span_id


def test_nothing_is_installed_without_configuration(repo_root: Path, tmp_path: Path) -> None:
    installed, traceparent = _run({}, repo_root, tmp_path)
    assert installed == "[]" and traceparent == ""  # the no-op API: nothing traced, no carrier


def test_an_unknown_exporter_is_a_clear_error(repo_root: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env={**os.environ, "OTEL_TRACES_EXPORTER": "zipkin"}, cwd=repo_root,
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0 and "OTEL_TRACES_EXPORTER='zipkin'" in done.stderr
