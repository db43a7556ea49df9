"""Every file of the public robustness corpora goes through `papyr process`: no crash, no hang,
each with a status and a reason.

OCR is switched off here (PAPYR_MAX_OCR_PAGES=0) to keep the suite fast: the corpora are mostly
non-invoices whose scanned pages would cost seconds each. The same run with OCR on is a benchmark
(BENCHMARKS.md); OCR of hostile images is covered by the loader's own tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FINAL = {"rejected", "ignored", "duplicate", "awaiting_approval", "exported"}


def test_every_robustness_file_ends_with_a_status_and_a_reason(shared_data: Path, tmp_path: Path) -> None:
    corpus = shared_data / "robustness"
    files = [p for p in corpus.rglob("*") if p.is_file() and p.suffix not in {".json", ".md"}]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPYR_")}
    env.update(PAPYR_DATA_DIR=str(tmp_path), PAPYR_MAX_OCR_PAGES="0", PAPYR_PARSE_TIMEOUT_S="20")
    done = subprocess.run(
        [sys.executable, "-c", "from papyr.cli import main; main()", "process", str(corpus), "--json"],
        env=env, capture_output=True, text=True, timeout=1200, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    assert {line["file"] for line in lines} == {str(p) for p in files}, "a file went missing"
    assert {line["status"] for line in lines} <= FINAL, {line["status"] for line in lines}
    for line in lines:
        if line["status"] in {"rejected", "ignored", "duplicate"}:
            assert line["reason"], line
    reasons = {line["reason"] for line in lines}
    assert "encrypted PDF" in reasons
    assert any(str(reason).startswith("unreadable PDF: ") for reason in reasons)
    assert any(str(reason).startswith("not an invoice: ") for reason in reasons)
