"""Fast extraction iterations: read every labelled document of a set once (text layer or OCR, exactly as
`papyr eval` reads it: ``shared.pipeline.read_document``), keep its DocumentContent as JSON under
bench/out/content/<set>/, then re-run only classification + extraction on the cached content and score
it by the LABELS.md rules (the same scorer as `papyr eval`).

    .venv/bin/python -m bench.dev_cache SET_DIR [SET_DIR ...] [--misses] [--field F] [--high]

The first run of a set pays for reading (OCR of images: seconds per page); later runs take about a
second per set. Delete bench/out/content/<set>/ to read again (e.g. after an OCR change).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from shared.documents.content import DocumentContent, DocumentRejected
from shared.domain import Extraction, ExtractionStatus
from shared.evaluation import field_correct, find_documents, load_labels
from shared.evaluation.scoring import evaluate
from shared.pipeline import classify_and_extract, read_document
from shared.settings import get_settings

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "bench" / "out" / "content"


def cached_content(directory: Path, document: Path) -> DocumentContent | str:
    """The document's content (read once, then from the cache), or the rejection reason."""
    path = CACHE / directory.name / (document.name + ".json")
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        if "rejected" in data:
            return str(data["rejected"])
        return DocumentContent.model_validate(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        content = read_document(document.read_bytes(), document.name, None, get_settings())
    except DocumentRejected as rejected:
        path.write_text(json.dumps({"rejected": rejected.reason}), encoding="utf-8")
        return rejected.reason
    path.write_text(content.model_dump_json(), encoding="utf-8")
    return content


def predict(directory: Path, document: Path) -> dict[str, Any]:
    content = cached_content(directory, document)
    if isinstance(content, str):
        return Extraction(status=ExtractionStatus.REJECTED, reason=content).to_contract(str(document))
    return classify_and_extract(content).to_contract(str(document))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--misses", action="store_true", help="list every wrong header field")
    parser.add_argument("--field", help="only list misses of this field")
    parser.add_argument("--high", action="store_true", help="list wrong fields at >= 0.9 confidence")
    parser.add_argument("--cached-only", action="store_true", help="skip documents not read yet")
    parser.add_argument("--save", action="store_true", help="save prediction lines for `bench.reliability --reuse`")
    args = parser.parse_args(argv)
    for directory in args.sets:
        labels = load_labels(directory)
        started = time.perf_counter()
        pairs = []
        high = high_ok = 0
        wrong_high = []
        for document in find_documents(directory):
            if args.cached_only and not (CACHE / directory.name / (document.name + ".json")).is_file():
                continue
            line = predict(directory, document)
            label = labels[document.stem]
            pairs.append((document.name, label, line))
            for name, expected in label.items():
                conf = line.get("confidence", {}).get(name)
                if name == "line_items" or conf is None or conf < 0.9:
                    continue
                high += 1
                ok = field_correct(name, expected, line["fields"].get(name))
                high_ok += ok
                if not ok:
                    wrong_high.append((document.stem, name, expected, line["fields"].get(name), conf))
        report = evaluate(pairs, set_name=directory.name, seconds=time.perf_counter() - started)
        if args.save:
            from bench.reliability import save_predictions

            save_predictions(directory.name, [line for _, _, line in pairs])
        print(f"== {directory.name}: macro {report.macro_accuracy:.3f} over {report.documents} documents"
              f" ({report.seconds:.1f}s)  >=0.9: {high_ok}/{high}"
              f" = {high_ok / high if high else float('nan'):.3f}")
        print("  " + "  ".join(f"{n} {f.correct}/{f.labelled}" for n, f in report.fields.items()))
        items = report.line_items
        print(f"  line items: accuracy {items.accuracy:.3f} precision {items.precision:.3f}")
        if args.misses or args.field:
            for miss in report.misses:
                if miss.field.startswith("line_items") or (args.field and miss.field != args.field):
                    continue
                print(f"  {miss.document[:48]:48} {miss.field:14} want {miss.expected!r:30} got {miss.predicted!r}")
        if args.high:
            for stem, name, expected, predicted, conf in wrong_high:
                print(f"  HIGH {stem[:44]:44} {name:14} want {expected!r:24} got {predicted!r} @ {conf}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
