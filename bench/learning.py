"""Corrections teach Papyr: field accuracy on a vendor's later documents before vs after learning.

    .venv/bin/python -m bench.learning [--sets invoice2data zugferd_text sroie] [--ocr] [--json OUT] [--misses]

For every vendor with at least two documents in a dev set (vendor = the labelled vendor name's
``vendor_key``; documents in file-name order) a simulated clerk corrects every wrong header field on the
vendor's FIRST document, using its label, and ``learn_from`` updates the vendor's profile. All first
documents are learned into one repository before any later document is read, so identification has
to pick the right profile among all of them. Then each LATER document is extracted (template-free)
and scored before and after ``apply_profile``, with the LABELS.md rules; header fields only.

Sets:
- ``invoice2data``: the PDFs' text layer as given;
- ``zugferd_text``: the ZUGFeRD PDFs without their embedded XML (``bench.variants.strip_embedded_files``),
  so the text layer is read, not the exact XML;
- ``sroie``: receipts (OCR path). By default the words come from SROIE's official OCR lines
  (``ocr_boxes/``), split into words with widths in proportion to their characters; ``--ocr`` runs
  Papyr's own OCR engine instead (slow on a small CPU).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from bench.variants import strip_embedded_files
from shared.adapters.local.sqlite import SqliteRepository
from shared.documents.content import ContentKind, DocumentContent, Page, Word
from shared.documents.loader import load_content
from shared.domain import (
    HEADER_FIELDS,
    Correction,
    DocumentRef,
    ExtractedField,
    Extraction,
    InvoiceRecord,
    MailContext,
    Provenance,
    Source,
)
from shared.domain.keys import vendor_key
from shared.evaluation.scoring import field_correct
from shared.extraction import extract
from shared.learning import apply_profile, learn_from

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "bench" / "out" / "learning"
SETS = ("invoice2data", "zugferd_text", "sroie")
CLERK = "bench-clerk"

Reader = Callable[[Path], DocumentContent]


def _pdf_reader(path: Path) -> DocumentContent:
    content = load_content(path.read_bytes(), path.name, "application/pdf", ocr=None)
    content.xml = None  # the text path, even where a PDF still carries an e-invoice
    return content


def _sroie_reference_reader(path: Path) -> DocumentContent:
    """A receipt's words from SROIE's official OCR lines, split into words by character share."""
    with Image.open(path) as image:
        width, height = image.size
    words: list[Word] = []
    with (path.parent / "ocr_boxes" / f"{path.stem}.csv").open(encoding="utf-8", errors="replace") as handle:
        for row in csv.reader(handle):
            if len(row) < 9:
                continue
            xs, ys = [float(v) for v in row[0:8:2]], [float(v) for v in row[1:8:2]]
            text = ",".join(row[8:])
            x0, top, x1, bottom = min(xs), min(ys), max(xs), max(ys)
            per_char = (x1 - x0) / max(1, len(text))
            position = 0
            for piece in text.split(" "):
                if piece:
                    start = x0 + position * per_char
                    words.append(Word(text=piece, x0=start, top=top, x1=start + len(piece) * per_char, bottom=bottom))
                position += len(piece) + 1
    page = Page(number=1, width=float(width), height=float(height), words=words, ocr=True)
    return DocumentContent(kind=ContentKind.IMAGE, pages=[page], page_count=1)


def _ocr_reader() -> Reader:
    from shared.ocr.rapid import default_ocr_engine

    engine = default_ocr_engine()
    return lambda path: load_content(path.read_bytes(), path.name, None, ocr=engine)


def _zugferd_text_dir() -> Path:
    """The text-path variants (embedded files removed), built once under bench/out/learning."""
    target = OUT / "zugferd_text"
    target.mkdir(parents=True, exist_ok=True)
    for source in sorted((DATA / "zugferd").glob("*.pdf")):
        label = source.with_suffix(".json")
        if label.is_file() and not (target / source.name).is_file():
            strip_embedded_files(source, target / source.name)
            (target / label.name).write_bytes(label.read_bytes())
    return target


def _set(name: str, ocr: bool) -> tuple[Path, Reader]:
    if name == "zugferd_text":
        return _zugferd_text_dir(), _pdf_reader
    if name == "sroie":
        return DATA / "sroie", _ocr_reader() if ocr else _sroie_reference_reader
    return DATA / name, _pdf_reader


def vendor_groups(folder: Path) -> dict[str, list[tuple[Path, dict[str, Any]]]]:
    """Documents with a label, grouped by the labelled vendor's key; only vendors with two or more."""
    groups: dict[str, list[tuple[Path, dict[str, Any]]]] = defaultdict(list)
    for label_path in sorted(folder.glob("*.json")):
        documents = [p for p in folder.glob(label_path.stem + ".*") if p.suffix != ".json"]
        label = json.loads(label_path.read_text())
        key = vendor_key(label.get("vendor_name"))
        if documents and key:
            groups[key].append((documents[0], label))
    return {key: docs for key, docs in groups.items() if len(docs) >= 2}


def _record(path: Path, extraction: Extraction) -> InvoiceRecord:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    document = DocumentRef(
        sha256=sha,
        blob_name=f"documents/{sha}{path.suffix}",
        filename=path.name,
        content_type="application/pdf",
        size=path.stat().st_size,
        mail=MailContext(),
    )
    return InvoiceRecord(id=sha, document=document, extraction=extraction)


def _labelled_fields(label: dict[str, Any]) -> list[str]:
    return [name for name in HEADER_FIELDS if name in label and name != "document_type"]


def clerk_corrects(record: InvoiceRecord, label: dict[str, Any]) -> list[str]:
    """What a clerk does in the dashboard: every wrong labelled field set to the right value."""
    extraction = record.extraction
    assert extraction is not None
    corrected: list[str] = []
    for name in _labelled_fields(label):
        old = extraction.value(name)
        if field_correct(name, label[name], old):
            continue
        new = str(label[name])
        record.corrections.append(Correction(field=name, old_value=old, new_value=new, by=CLERK))
        extraction.fields[name] = ExtractedField(value=new, confidence=1.0, provenance=Provenance(source=Source.USER))
        corrected.append(name)
    return corrected


def _score(extraction: Extraction, label: dict[str, Any]) -> dict[str, bool]:
    return {name: field_correct(name, label[name], extraction.value(name)) for name in _labelled_fields(label)}


def run_set(name: str, ocr: bool, misses: bool) -> dict[str, Any]:
    folder, read = _set(name, ocr)
    groups = vendor_groups(folder)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        repo = SqliteRepository(Path(tmp) / "papyr.sqlite3")
        taught: dict[str, list[str]] = {}
        for key, documents in groups.items():  # the clerk corrects each vendor's first document
            path, label = documents[0]
            content = read(path)
            record = _record(path, extract(content))
            taught[key] = clerk_corrects(record, label)
            learn_from(record, repo, content)
        # labelled, right before, right after, made wrong by learning
        per_field: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        vendors: list[dict[str, Any]] = []
        for key, documents in groups.items():  # then the vendor's later documents arrive
            before_right = after_right = labelled = 0
            for path, label in documents[1:]:
                content = read(path)
                before = extract(content)
                after = apply_profile(before, content, MailContext(), repo)
                scored_before, scored_after = _score(before, label), _score(after, label)
                for field_name, right in scored_before.items():
                    counts = per_field[field_name]
                    counts[0] += 1
                    counts[1] += right
                    counts[2] += scored_after[field_name]
                    counts[3] += right and not scored_after[field_name]
                    if misses and right != scored_after[field_name]:
                        print(f"  {path.name[:48]:48} {field_name:15} want {label[field_name]!r:28} "
                              f"before {before.value(field_name)!r} after {after.value(field_name)!r}")
                labelled += len(scored_before)
                before_right += sum(scored_before.values())
                after_right += sum(scored_after.values())
            vendors.append({"vendor": key, "documents": len(documents), "taught": taught[key],
                            "labelled": labelled, "before": before_right, "after": after_right})
    total = sum(v["labelled"] for v in vendors)
    before_total, after_total = sum(v["before"] for v in vendors), sum(v["after"] for v in vendors)
    return {
        "set": name,
        "vendors": len(groups),
        "later_documents": sum(len(docs) - 1 for docs in groups.values()),
        "fields_labelled": total,
        "accuracy_before": before_total / total if total else 0.0,
        "accuracy_after": after_total / total if total else 0.0,
        "made_wrong": sum(c[3] for c in per_field.values()),
        "per_field": {
            k: {"labelled": c[0], "before": c[1], "after": c[2], "made_wrong": c[3]}
            for k, c in sorted(per_field.items())
        },
        "per_vendor": vendors,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _print(result: dict[str, Any]) -> None:
    print(f"\n{result['set']}: {result['vendors']} vendors, {result['later_documents']} later documents, "
          f"{result['fields_labelled']} labelled fields, {result['seconds']} s")
    print(f"  field accuracy on later documents: before {result['accuracy_before']:.3f}  "
          f"after {result['accuracy_after']:.3f}  (right before, wrong after: {result['made_wrong']})")
    for name, counts in result["per_field"].items():
        if counts["before"] != counts["after"]:
            labelled = counts["labelled"]
            print(f"  {name:15} {counts['before']:3}/{labelled:<3} -> {counts['after']:3}/{labelled}")
    for vendor in result["per_vendor"]:
        taught = ",".join(vendor["taught"]) or "-"
        print(f"  vendor {vendor['vendor'][:36]:36} docs {vendor['documents']:2}  taught {taught}"
              f"  {vendor['before']}/{vendor['labelled']} -> {vendor['after']}/{vendor['labelled']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=SETS)
    parser.add_argument("--ocr", action="store_true", help="sroie through Papyr's OCR engine (slow)")
    parser.add_argument("--misses", action="store_true", help="print every field learning changed")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args(argv)
    results = [run_set(name, args.ocr, args.misses) for name in args.sets]
    for result in results:
        _print(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
