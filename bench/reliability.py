"""Does confidence mean something? Per confidence bucket, how many predicted fields fell in it and what
fraction were correct by the LABELS.md rules, over every labelled dev set (and the ZUGFeRD variants
when bench.variants has built them). The target: fields at >= 0.9 confidence are >= 98 % correct.

    .venv/bin/python -m bench.reliability [SET_DIR ...] [--reuse] [--misses N] [--json OUT]

A field counts where the label has it and Papyr predicted a non-null value with a confidence (the
`papyr extract --json` "confidence" object); labelled fields left empty are counted apart ("not
predicted"), since they carry no confidence; values without a confidence (document_type) are skipped.
Each set's prediction lines are saved to bench/out/predictions/<set>.jsonl; ``--reuse`` reads them
back instead of extracting again.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.evaluation import evaluate, evaluate_directory, field_correct, find_documents, load_labels

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
VARIANTS = REPO / "bench" / "out" / "variants"
PREDICTIONS = REPO / "bench" / "out" / "predictions"

BUCKETS: list[tuple[float, float]] = [(0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 0.95), (0.95, 1.0)]
HIGH_CONFIDENCE = 0.9


def default_sets() -> list[Path]:
    sets = [DATA / "zugferd", DATA / "invoice2data", DATA / "sroie"]
    return sets + [folder for folder in (VARIANTS / "zugferd_text", VARIANTS / "zugferd_ocr") if folder.is_dir()]


def bucket_of(confidence: float) -> int:
    """Index in BUCKETS; the last bucket is closed ([0.95, 1.0])."""
    for index, (low, high) in enumerate(BUCKETS):
        if low <= confidence < high:
            return index
    return len(BUCKETS) - 1


@dataclass
class Judged:
    set_name: str
    document: str
    field: str
    confidence: float
    correct: bool
    expected: Any
    predicted: Any


def judge(set_name: str, labels: dict[str, dict[str, Any]], lines: list[dict[str, Any]]) -> tuple[list[Judged], int]:
    """Every labelled, predicted field with its confidence and verdict; plus the count of labelled
    fields that were not predicted (null or absent)."""
    judged: list[Judged] = []
    not_predicted = 0
    for line in lines:
        stem = Path(str(line.get("file", ""))).stem
        fields, confidence = line.get("fields") or {}, line.get("confidence") or {}
        for name, expected in labels.get(stem, {}).items():
            if name == "line_items":
                continue
            predicted = fields.get(name)
            if predicted is None:
                not_predicted += 1
                continue
            if name not in confidence:
                continue  # a value with no confidence (document_type, stated by the classifier)
            judged.append(
                Judged(set_name, stem, name, float(confidence[name]), field_correct(name, expected, predicted),
                       expected, predicted)
            )
    return judged, not_predicted


def predictions_for(directory: Path, reuse: bool) -> tuple[list[dict[str, Any]], float]:
    """Papyr's prediction lines for a set (extracted now, or read back with ``reuse``) and the macro
    accuracy of the set by the same scorer as `papyr eval`."""
    saved = PREDICTIONS / f"{directory.name}.jsonl"
    labels = load_labels(directory)
    if reuse and saved.is_file():
        lines = [json.loads(text) for text in saved.read_text(encoding="utf-8").splitlines() if text.strip()]
        by_stem = {Path(str(line["file"])).stem: line for line in lines}
        pairs = [(path.name, labels[path.stem], by_stem.get(path.stem)) for path in find_documents(directory)]
        return lines, evaluate(pairs, set_name=directory.name).macro_accuracy
    report, lines = evaluate_directory(directory, on_document=progress(directory.name))
    save_predictions(directory.name, lines)
    return lines, report.macro_accuracy


def progress(name: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        print(f"\r{name}: {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    return show


def save_predictions(set_name: str, lines: list[dict[str, Any]]) -> None:
    """Papyr's prediction lines of a set, where ``--reuse`` finds them."""
    PREDICTIONS.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(line, default=str, ensure_ascii=False) + "\n" for line in lines)
    (PREDICTIONS / f"{set_name}.jsonl").write_text(text, encoding="utf-8")


def bucket_rows(judged: list[Judged]) -> list[dict[str, Any]]:
    rows = []
    for index, (low, high) in enumerate(BUCKETS):
        inside = [item for item in judged if bucket_of(item.confidence) == index]
        correct = sum(item.correct for item in inside)
        rows.append({
            "bucket": f"[{low:.2f}, {high:.2f}{']' if index == len(BUCKETS) - 1 else ')'}",
            "fields": len(inside), "correct": correct, "accuracy": correct / len(inside) if inside else None,
        })
    return rows


def _print_table(title: str, judged: list[Judged], not_predicted: int) -> dict[str, Any]:
    rows = bucket_rows(judged)
    high = [item for item in judged if item.confidence >= HIGH_CONFIDENCE]
    high_correct = sum(item.correct for item in high)
    high_accuracy = high_correct / len(high) if high else None
    print(f"\n{title}  (labelled fields not predicted: {not_predicted})")
    print(f"  {'confidence':14} {'fields':>7} {'correct':>8} {'accuracy':>9}")
    for row in rows:
        accuracy = "-" if row["accuracy"] is None else f"{row['accuracy']:.3f}"
        print(f"  {row['bucket']:14} {row['fields']:7d} {row['correct']:8d} {accuracy:>9}")
    verdict = "n/a"
    if high_accuracy is not None:
        verdict = f"{high_accuracy:.3f} ({'meets' if high_accuracy >= 0.98 else 'MISSES'} 0.98)"
    print(f"  {'>= 0.90':14} {len(high):7d} {high_correct:8d} {verdict:>9}")
    return {"buckets": rows, "not_predicted": not_predicted, "high_confidence": {
        "fields": len(high), "correct": high_correct, "accuracy": high_accuracy}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--reuse", action="store_true", help="read saved prediction lines where present")
    parser.add_argument("--misses", type=int, default=25, help="list up to N wrong fields at >= 0.9 confidence")
    parser.add_argument("--json", type=Path, help="write the tables to this file")
    args = parser.parse_args(argv)
    everything: list[Judged] = []
    unpredicted_total = 0
    figures: dict[str, Any] = {"sets": {}}
    for directory in args.sets or default_sets():
        lines, macro = predictions_for(directory, args.reuse)
        judged, not_predicted = judge(directory.name, load_labels(directory), lines)
        everything += judged
        unpredicted_total += not_predicted
        figures["sets"][directory.name] = _print_table(f"{directory.name} (macro accuracy {macro:.3f})", judged,
                                                       not_predicted) | {"macro_accuracy": macro}
    figures["all"] = _print_table("all sets", everything, unpredicted_total)
    wrong = sorted((item for item in everything if item.confidence >= HIGH_CONFIDENCE and not item.correct),
                   key=lambda item: -item.confidence)
    if wrong and args.misses:
        print(f"\nwrong at >= {HIGH_CONFIDENCE} confidence ({len(wrong)}; first {min(args.misses, len(wrong))}):")
        for item in wrong[: args.misses]:
            print(f"  {item.confidence:.3f} {item.set_name}/{item.document} {item.field}: "
                  f"expected {item.expected!r}, got {item.predicted!r}")
    figures["wrong_high_confidence"] = [item.__dict__ for item in wrong]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
