"""Score the e-invoice XML path over a labelled set (default ../shared/data/zugferd).

.venv/bin/python bench/eval_einvoice.py [DIR] [--misses]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from shared.documents.content import DocumentRejected
from shared.documents.loader import load_content
from shared.evaluation import evaluate, find_documents, load_labels, report_table
from shared.extraction.einvoice import EInvoiceError, extract_einvoice


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    folder = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "shared" / "data" / "zugferd"
    labels = load_labels(folder)
    started = time.perf_counter()
    triples = []
    for document in find_documents(folder):
        prediction = None
        try:
            content = load_content(document.read_bytes(), document.name, None, ocr=None)
            if content.xml is not None:
                prediction = extract_einvoice(content.xml).to_contract(document.name)
        except (DocumentRejected, EInvoiceError) as exc:
            print(f"{document.name}: {exc}")
        triples.append((document.stem, labels[document.stem], prediction))
    report = evaluate(triples, set_name=folder.name, seconds=time.perf_counter() - started)
    console = Console()
    console.print(report_table(report))
    if "--misses" in sys.argv:
        for miss in report.misses:
            console.print(f"{miss.document} {miss.field}: expected {miss.expected!r} got {miss.predicted!r}")


if __name__ == "__main__":
    main()
