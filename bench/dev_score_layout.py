"""Dev benchmark for the layout extractor alone: text layer (no e-invoice XML, no OCR) of every
labelled PDF in a folder, scored by the LABELS.md rules. Usage:
    .venv/bin/python bench/dev_score_layout.py ../shared/data/invoice2data [--misses] [--ocr]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.documents.loader import load_content
from shared.evaluation.scoring import score_document, summarize
from shared.extraction.layout import extract_layout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--ocr", action="store_true", help="OCR pages without a text layer")
    args = parser.parse_args()
    ocr = None
    if args.ocr:
        from shared.ocr.rapid import default_ocr_engine

        ocr = default_ocr_engine()
    scores = []
    started = time.perf_counter()
    for label_path in sorted(args.folder.glob("*.json")):
        documents = [p for p in label_path.parent.glob(label_path.stem + ".*") if p.suffix != ".json"]
        if not documents:
            continue
        document = documents[0]
        content = load_content(document.read_bytes(), document.name, None, ocr=ocr)
        content.xml = None  # the text path: ignore any embedded e-invoice
        prediction = extract_layout(content).to_contract(document.name)
        scores.append(score_document(json.loads(label_path.read_text()), prediction, document.name))
    report = summarize(scores, set_name=args.folder.name, seconds=time.perf_counter() - started)
    for name, field in report.fields.items():
        print(f"{name:16} {field.correct:3}/{field.labelled:<3} {field.accuracy:.2f}")
    items = report.line_items
    print(
        f"line items: accuracy {items.accuracy:.2f} precision {items.precision:.2f}"
        f" ({items.correct}/{items.labelled}, {items.predicted} predicted)"
    )
    print(f"macro {report.macro_accuracy:.3f} over {report.documents} documents in {report.seconds:.1f}s")
    if args.misses:
        for miss in report.misses:
            if not miss.field.startswith("line_items"):
                print(f"  {miss.document[:50]:50} {miss.field:15} want {miss.expected!r:32} got {miss.predicted!r}")


if __name__ == "__main__":
    main()
