"""`papyr extract` vs invoice2data on one digital invoice: median seconds per document, same run.

    .venv/bin/python -m bench.extract_speed [PDF ...] [-n 20] [--json OUT]

Times, in this process, the functions each CLI calls per document: Papyr's
``shared.pipeline.extract_document(...).to_contract(...)`` (what `papyr extract --json` prints; it
parses in a bounded child process, as in production) and ``invoice2data.extract_data(path, templates)``
(templates loaded once beforehand, as invoice2data's CLI does). One untimed warm-up each; then N runs
each, interleaved (ours, theirs, ours, ...) so that load from other processes hits both alike.
Each run reads a fresh copy of the document under a new path (copied outside the timing):
invoice2data caches the text of a file by path and mtime, and a mail attachment is always a new file.
Target (issue 3): Papyr's median <= 2 x invoice2data's.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PDF = REPO.parent / "shared" / "data" / "invoice2data" / "AzureInterior.pdf"


def papyr_extract() -> Callable[[Path], dict[str, Any]]:
    from shared.pipeline import extract_document
    from shared.settings import get_settings

    settings = get_settings()

    def run(path: Path) -> dict[str, Any]:
        return extract_document(path.read_bytes(), path.name, None, settings).to_contract(str(path))

    return run


def invoice2data_extract() -> Callable[[Path], dict[str, Any]]:
    from invoice2data import extract_data
    from invoice2data.extract.loader import read_templates

    templates = read_templates()
    logging.getLogger("invoice2data").setLevel(logging.CRITICAL)

    def run(path: Path) -> dict[str, Any]:
        return extract_data(str(path), templates=templates) or {}

    return run


Extractor = Callable[[Path], dict[str, Any]]


def _seconds(function: Extractor, path: Path, folder: Path, run: int) -> float:
    """Seconds for one call on a fresh copy of ``path`` (a new path defeats any per-file cache)."""
    copy = folder / f"run{run}-{path.name}"
    shutil.copyfile(path, copy)
    started = time.perf_counter()
    function(copy)
    return time.perf_counter() - started


def measure(pdf: Path, n: int, ours: Extractor, theirs: Extractor) -> dict[str, Any]:
    """Median/min/max seconds of each extractor on ``pdf`` (one warm-up each, then ``n`` interleaved runs)."""
    our_fields = ours(pdf)["fields"]  # warm-up runs, and a check that both actually read the document
    their_fields = theirs(pdf)
    times: dict[str, list[float]] = {"papyr": [], "invoice2data": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(n):
            times["papyr"].append(_seconds(ours, pdf, Path(tmp), 2 * run))
            times["invoice2data"].append(_seconds(theirs, pdf, Path(tmp), 2 * run + 1))
    figures: dict[str, Any] = {"document": pdf.name, "n": n, "fields": [len(our_fields), len(their_fields)]}
    for name, samples in times.items():
        figures[name] = {"median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples)}
    figures["ratio"] = figures["papyr"]["median_s"] / figures["invoice2data"]["median_s"]
    return figures


def _ms(figure: dict[str, float]) -> str:
    return f"{figure['median_s'] * 1000:6.1f} / {figure['min_s'] * 1000:5.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pdf", nargs="*", type=Path, default=[DEFAULT_PDF], help="default: AzureInterior.pdf")
    parser.add_argument("-n", type=int, default=20, help="timed runs per extractor and document (default 20)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    ours, theirs = papyr_extract(), invoice2data_extract()
    results = [measure(pdf, args.n, ours, theirs) for pdf in args.pdf]
    print(f"N={args.n} runs each; median / min ms")
    print(f"{'document':28} {'fields':>7} {'papyr':>14} {'invoice2data':>14} {'ratio':>6}")
    for r in results:
        ours_ms, theirs_ms = (_ms(r[name]) for name in ("papyr", "invoice2data"))
        fields = f"{r['fields'][0]:>3}/{r['fields'][1]:<3}"
        print(f"{r['document']:28} {fields} {ours_ms:>14} {theirs_ms:>14} {r['ratio']:5.2f}x")
    if len(results) > 1:
        print(f"median ratio over {len(results)} documents: {statistics.median(r['ratio'] for r in results):.2f}x")
    print("target (issue 3): papyr median <= 2 x invoice2data's")
    if args.json:
        args.json.write_text(json.dumps(results if len(results) > 1 else results[0], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
