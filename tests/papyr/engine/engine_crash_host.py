"""A stand-in local host for the crash test: runs a batch of invoice orchestrations through the
embedded engine, with activities slow enough that the test can kill the process mid-batch.

Each activity appends a line to a ledger; ``export_invoice`` is idempotent the way real exports
are (it writes ``outbox/<invoice id>.json`` only if it is not there yet, atomically).

    python engine_crash_host.py WORKDIR COUNT
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from orchestrators.invoice import ORCHESTRATOR_NAME, invoice_orchestrator
from papyr.engine import EmbeddedEngine

ACTIVITY_DELAY_S = 0.03
APPROVAL_EVERY = 5  # every 5th invoice needs a person; the rest are auto-approved


def invoice_sha(n: int) -> str:
    return f"{n:064x}"


def make_activities(workdir: Path) -> dict[str, Callable[[Any], Any]]:
    ledger = workdir / "ledger.txt"
    outbox = workdir / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)

    def record(line: str) -> None:
        with ledger.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def step(name: str, result: Callable[[str], dict[str, Any]]) -> Callable[[Any], Any]:
        def run(payload: dict[str, Any]) -> dict[str, Any]:
            record(f"{name} {payload['invoice_id']}")
            time.sleep(ACTIVITY_DELAY_S)
            return result(payload["invoice_id"])

        return run

    def route(invoice_id: str) -> dict[str, Any]:
        if int(invoice_id, 16) % APPROVAL_EVERY == 0:
            return {"kind": "approval", "approvers": ["a@x"], "reasons": ["needs a person"]}
        return {"kind": "auto_approve", "reasons": []}

    def export(payload: dict[str, Any]) -> dict[str, Any]:
        invoice_id = payload["invoice_id"]
        record(f"export_invoice {invoice_id}")
        time.sleep(ACTIVITY_DELAY_S)
        target = outbox / f"{invoice_id}.json"
        if not target.exists():  # keyed by invoice id: a re-run finds the first export and stops
            temporary = outbox / f".{invoice_id}.{os.getpid()}.tmp"
            temporary.write_text(json.dumps({"invoice_id": invoice_id, "writer_pid": os.getpid()}))
            os.replace(temporary, target)
        return {"exported": target.name}

    nothing: Callable[[str], dict[str, Any]] = lambda _: {}  # noqa: E731
    return {
        "classify_document": step("classify_document", lambda _: {"status": "ok", "document_type": "invoice"}),
        "extract_invoice": step("extract_invoice", lambda _: {"status": "ok"}),
        "check_invoice": step("check_invoice", nothing),
        "route_invoice": step("route_invoice", route),
        **{name: step(name, nothing) for name in (
            "request_approval", "send_reminder", "escalate_approval", "record_decision", "render_report",
            "mark_failed")},
        "export_invoice": export,
    }


def make_engine(workdir: Path) -> EmbeddedEngine:
    return EmbeddedEngine(
        workdir / "engine.sqlite3", {ORCHESTRATOR_NAME: invoice_orchestrator}, make_activities(workdir), workers=2
    )


def main(workdir: Path, count: int) -> None:
    engine = make_engine(workdir)
    for n in range(count):
        engine.start(ORCHESTRATOR_NAME, f"invoice-{invoice_sha(n)}", {"document": {"sha256": invoice_sha(n)}})
    (workdir / "started").touch()
    engine.run_until_idle(timeout_s=120)
    (workdir / "finished").touch()
    engine.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
