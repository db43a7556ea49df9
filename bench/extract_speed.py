"""`papyr extract` vs invoice2data on one digital invoice: median seconds per document, same run.

    .venv/bin/python -m bench.extract_speed [PDF] [-n 20] [--json OUT]

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


def _seconds(function: Callable[[Path], dict[str, Any]], path: Path, folder: Path, run: int) -> float:
    """Seconds for one call on a fresh copy of ``path`` (a new path defeats any per-file cache)."""
    copy = folder / f"run{run}-{path.name}"
    shutil.copyfile(path, copy)
    started = time.perf_counter()
    function(copy)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pdf", nargs="?", type=Path, default=DEFAULT_PDF)
    parser.add_argument("-n", type=int, default=20, help="timed runs per extractor (default 20)")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)
    ours, theirs = papyr_extract(), invoice2data_extract()
    our_fields = ours(args.pdf)["fields"]  # warm-up runs, and a check that both actually read the document
    their_fields = theirs(args.pdf)
    times: dict[str, list[float]] = {"papyr": [], "invoice2data": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.n):
            times["papyr"].append(_seconds(ours, args.pdf, Path(tmp), 2 * run))
            times["invoice2data"].append(_seconds(theirs, args.pdf, Path(tmp), 2 * run + 1))
    print(f"{args.pdf.name}: papyr read {len(our_fields)} fields, invoice2data {len(their_fields)}; N={args.n} each")
    print(f"{'extractor':14} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
    figures: dict[str, Any] = {"document": args.pdf.name, "n": args.n}
    for name, samples in times.items():
        median = statistics.median(samples)
        figures[name] = {"median_s": median, "min_s": min(samples), "max_s": max(samples)}
        print(f"{name:14} {median * 1000:10.1f} {min(samples) * 1000:8.1f} {max(samples) * 1000:8.1f}")
    ratio = figures["papyr"]["median_s"] / figures["invoice2data"]["median_s"]
    figures["ratio"] = ratio
    print(f"ratio papyr/invoice2data median: {ratio:.2f}x (target <= 2)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
