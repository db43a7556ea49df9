"""`papyr process samples/mailbox` with Azure Storage selected, against a real Azurite, as a user runs
it: the papyr command in its own process, configured only by environment variables. Its traces and
metrics go over OTLP/HTTP to a collector stand-in in this test, decoded with the OTLP protobufs."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

pytestmark = pytest.mark.azurite


@dataclass
class Collector:
    """Receives OTLP/HTTP exports (POST /v1/traces, /v1/metrics) like a collector, and keeps them."""

    url: str
    posts: list[tuple[str, bytes]] = field(default_factory=list)

    def spans(self) -> list[Any]:
        found = []
        for path, body in self.posts:
            if path == "/v1/traces":
                request = ExportTraceServiceRequest.FromString(body)
                found += [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]
        return found

    def metric_names(self) -> set[str]:
        names = set()
        for path, body in self.posts:
            if path == "/v1/metrics":
                request = ExportMetricsServiceRequest.FromString(body)
                names |= {m.name for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
        return names


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    posts: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Collector(url=f"http://127.0.0.1:{server.server_port}", posts=posts)
    server.shutdown()
    server.server_close()


@dataclass
class Run:
    container: str
    blob_names: list[str]
    lines: list[dict[str, Any]]
    data_dir: Path


@pytest.fixture(scope="module")
def run(
    azurite_connection_string: str, collector: Collector, repo_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Run]:
    data_dir = tmp_path_factory.mktemp("papyr-azure")
    container = f"papyr-e2e-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "PAPYR_BACKEND": "azure",
        "PAPYR_STORAGE_CONNECTION_STRING": azurite_connection_string,
        "PAPYR_DOCUMENTS_CONTAINER": container,
        "PAPYR_DATA_DIR": str(data_dir),
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
    }
    env.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
    papyr = str(repo_root / ".venv" / "bin" / "papyr")

    def papyr_run(*args: str) -> str:
        done = subprocess.run([papyr, *args], env=env, cwd=repo_root, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-4000:]
        return done.stdout

    papyr_run("vendors", "import", "samples/vendors.csv")  # a known vendor lets the small invoice auto-approve
    lines = [json.loads(line) for line in papyr_run("process", "samples/mailbox", "--json").splitlines() if line]
    service = BlobServiceClient.from_connection_string(azurite_connection_string)
    names = sorted(service.get_container_client(container).list_blob_names())
    yield Run(container=container, blob_names=names, lines=lines, data_dir=data_dir)
    service.delete_container(container)


def test_process_runs_end_to_end_with_documents_in_azurite(run: Run) -> None:
    by_file = {Path(line["file"]).name: line for line in run.lines}
    assert by_file["01-pdf-invoice.eml"]["status"] == "exported"
    assert by_file["05-not-an-invoice.eml"]["status"] == "rejected"
    assert by_file["06-resent-duplicate.eml"]["status"] == "duplicate"
    exported = by_file["01-pdf-invoice.eml"]["invoice_id"]

    invoice_ids = {line["invoice_id"] for line in run.lines}
    stored_documents = {name.split("/")[1].split(".")[0] for name in run.blob_names if name.startswith("documents/")}
    assert stored_documents == invoice_ids  # every original, by content hash
    assert sum(name.startswith("messages/") for name in run.blob_names) == 7  # every raw message kept
    assert f"reports/{exported}.pdf" in run.blob_names
    assert {f"exports/{exported}.json", f"exports/{exported}.csv"} <= set(run.blob_names)
    # Nothing went to the local blob folder: the data dir holds only the SQLite files.
    assert not (run.data_dir / "blobs").exists()


def test_report_and_export_blobs_hold_what_the_record_says(run: Run, azurite_connection_string: str) -> None:
    exported = next(line for line in run.lines if line["status"] == "exported")
    service = BlobServiceClient.from_connection_string(azurite_connection_string)
    report = service.get_blob_client(run.container, f"reports/{exported['invoice_id']}.pdf")
    assert report.get_blob_properties().content_settings.content_type == "application/pdf"
    assert report.download_blob().readall().startswith(b"%PDF")
    export = json.loads(
        service.get_blob_client(run.container, f"exports/{exported['invoice_id']}.json").download_blob().readall()
    )
    assert json.dumps(export).find(exported["invoice_number"]) >= 0


def test_each_invoice_is_one_trace_from_intake_through_its_activities(run: Run, collector: Collector) -> None:
    spans = collector.spans()
    intakes = {_attribute(span, "papyr.invoice_id"): span for span in spans if span.name == "intake document"}
    processed = {line["invoice_id"] for line in run.lines if line["status"] != "duplicate"}
    assert set(intakes) == processed  # one root per document, the duplicate opens none

    for invoice_id, intake in intakes.items():
        assert intake.parent_span_id == b""
        activities = [span for span in spans if span.name.startswith("activity ") and span.trace_id == intake.trace_id]
        names = {span.name.removeprefix("activity ") for span in activities}
        assert "classify_document" in names, invoice_id
        assert all(span.parent_span_id == intake.span_id for span in activities)
    exported = next(line["invoice_id"] for line in run.lines if line["status"] == "exported")
    exported_trace = intakes[exported].trace_id
    assert {span.name for span in spans if span.trace_id == exported_trace} >= {
        "intake document", "activity classify_document", "activity extract_invoice", "activity check_invoice",
        "activity route_invoice", "activity record_decision", "activity render_report", "activity export_invoice",
    }
    # The scanned invoice's OCR is a client span inside its trace.
    scanned = next(line["invoice_id"] for line in run.lines if line["file"].endswith("04-scanned-invoice.eml"))
    assert any(span.name == "inference ocr" and span.trace_id == intakes[scanned].trace_id for span in spans)


def test_metrics_were_exported(collector: Collector, run: Run) -> None:
    assert {"papyr.invoices.processed", "papyr.stage.duration", "papyr.findings",
            "papyr.inference.batch_size"} <= collector.metric_names()


def _attribute(span: Any, key: str) -> str:
    return next(str(kv.value.string_value) for kv in span.attributes if kv.key == key)
