"""Tampering benchmark: recall per fraud type on generated tampered invoices, false positives on the
clean dev invoices (ZUGFeRD, invoice2data) and on their clean scans.

    .venv/bin/python -m bench.tamper_suite                 # all sets, JSON summary to bench/out/tamper_suite.json
    .venv/bin/python -m bench.tamper_suite --limit 10      # the first 10 sources of each set (a quick look)
    .venv/bin/python -m bench.tamper_suite --scans-only --ocr --copy-move   # adds the copy-move probe

``--copy-move`` adds ``scan_copy_move`` (bench.fraud.tamper_generators.generate_scan_copy_move): a
kind of scan edit the generator of the training data does not make (a digit cloned from the same
page, nothing retyped), a stand-in for the sealed set's unseen kinds.

A document counts as flagged when the tampering checks give it a finding of medium severity or more.
PDFs go through the real path: read in the bounded child, classified, extracted, then
``check_tampering`` (structure in a bounded child, OCR of the key fields' rendered places, vendor
producer history in one SQLite repository shared by the run, clean documents first, as they would
arrive). Scans: ``check_tampering`` on the JPEG with the source's text-layer word boxes standing in
for OCR word boxes (``--ocr`` reads the scans with RapidOCR instead: slower). The scan model was
trained on documents that ``bench.train_tamper_model.held_out`` does not hold out; both subsets are
reported.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.fraud.tamper_generators import (
    GENERATORS,
    TamperCase,
    generate_scan_clean,
    generate_scan_copy_move,
    scan_words,
)
from bench.train_tamper_model import held_out, sources
from shared.documents.content import ContentKind, DocumentContent, DocumentRejected, Page, Word
from shared.domain import DocumentRef, InvoiceRecord, Severity
from shared.domain.models import SEVERITY_RANK
from shared.forensics.check import OriginalDocument, check_tampering
from shared.ports import Repository
from shared.settings import Settings

FLAG = SEVERITY_RANK[Severity.MEDIUM]


def _record(data: bytes, name: str, content: DocumentContent | None) -> InvoiceRecord:
    import hashlib

    from shared.pipeline import classify_and_extract

    sha = hashlib.sha256(data).hexdigest()
    record = InvoiceRecord(
        id=sha,
        document=DocumentRef(sha256=sha, blob_name=name, filename=name, content_type="application/pdf", size=len(data)),
    )
    if content is not None:
        record.extraction = classify_and_extract(content)
    return record


def check_pdf(data: bytes, name: str, repo: Repository, settings: Settings) -> list[dict[str, Any]]:
    from shared.pipeline import read_document

    try:
        content = read_document(data, name, "application/pdf", settings)
    except DocumentRejected as rejected:
        return [{"code": "rejected", "severity": "info", "message": rejected.reason}]
    record = _record(data, name, content)
    findings = check_tampering(record, OriginalDocument(data, content, settings), repo=repo)
    return [f.model_dump(mode="json") for f in findings]


def check_scan(case: TamperCase, source: Path, repo: Repository, settings: Settings, ocr: bool) -> list[dict[str, Any]]:
    from PIL import Image

    if ocr:
        from shared.pipeline import read_document

        content = read_document(case.data, case.filename, "image/jpeg", settings)
    else:
        with Image.open(__import__("io").BytesIO(case.data)) as image:
            width, height = image.size
        words = [Word(text=t, x0=b[0], top=b[1], x1=b[2], bottom=b[3]) for t, b in scan_words(source)]
        content = DocumentContent(
            kind=ContentKind.IMAGE, pages=[Page(number=1, width=width, height=height, words=words, ocr=True)]
        )
    record = _record(case.data, case.filename, None)
    findings = check_tampering(record, OriginalDocument(case.data, content, settings), repo=repo)
    return [f.model_dump(mode="json") for f in findings]


def flagged(findings: list[dict[str, Any]]) -> bool:
    return any(SEVERITY_RANK[Severity(f["severity"])] >= FLAG for f in findings if f["code"] != "rejected")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="sources per set (0 = all)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ocr", action="store_true", help="read scans with OCR instead of text-layer boxes")
    parser.add_argument("--scans-only", action="store_true", help="only the scan cases and clean scans")
    parser.add_argument("--copy-move", action="store_true", help="add the copy-move probe (scan_copy_move)")
    parser.add_argument("--json", type=Path, default=Path("bench/out/tamper_suite.json"))
    args = parser.parse_args()
    all_sources = sources()
    if args.limit:
        by_set: dict[str, list[Path]] = defaultdict(list)
        for source in all_sources:
            by_set[source.parent.name].append(source)
        all_sources = [s for group in by_set.values() for s in group[: args.limit]]
    from shared.adapters.local.sqlite import SqliteRepository

    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        repo = SqliteRepository(Path(folder) / "bench.sqlite3")
        settings = Settings(data_dir=Path(folder))
        for source in [] if args.scans_only else all_sources:  # clean originals first, as a vendor's history builds
            findings = check_pdf(source.read_bytes(), source.name, repo, settings)
            rows.append(_row(source, "clean_pdf", findings))
        for source in all_sources:
            rng = random.Random(f"{args.seed}:{source.name}")
            for fraud_type, generate in GENERATORS.items():
                if args.scans_only and fraud_type != "scan_edit":
                    continue
                for case in generate(source, rng):
                    if fraud_type == "scan_edit":
                        findings = check_scan(case, source, repo, settings, args.ocr)
                    else:
                        findings = check_pdf(case.data, case.filename, repo, settings)
                    rows.append(_row(source, fraud_type, findings, case.detail))
            probe = random.Random(f"{args.seed}:copy_move:{source.name}")  # its own draws: the others stay as they were
            for case in generate_scan_copy_move(source, probe) if args.copy_move else []:
                findings = check_scan(case, source, repo, settings, args.ocr)
                rows.append(_row(source, case.fraud_type, findings, case.detail))
            for case in generate_scan_clean(source, rng):
                rows.append(_row(source, "clean_scan", check_scan(case, source, repo, settings, args.ocr)))
    summary = _summary(rows)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    _print(summary)


def _row(
    source: Path, kind: str, findings: list[dict[str, Any]], detail: dict[str, object] | None = None
) -> dict[str, Any]:
    return {
        "source": f"{source.parent.name}/{source.name}",
        "kind": kind,
        "held_out": held_out(source),
        "flagged": flagged(findings),
        "codes": sorted({f"{f['code']}:{f['severity']}" for f in findings}),
        "detail": detail or {},
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("pdf_incremental_edit", "pdf_overlay_edit", "scan_edit", "scan_copy_move", "clean_pdf", "clean_scan"):
        for subset, keep in (("all", lambda r: True), ("held_out", lambda r: r["held_out"])):
            chosen = [r for r in rows if r["kind"] == kind and keep(r)]
            if not chosen:
                continue
            hits = sum(r["flagged"] for r in chosen)
            metric = "fpr" if kind.startswith("clean") else "recall"
            out[f"{kind}/{subset}"] = {"n": len(chosen), "flagged": hits, metric: round(hits / len(chosen), 4)}
    return out


def _print(summary: dict[str, Any]) -> None:
    print(f"{'set':34} {'n':>4} {'flagged':>8} {'recall / FPR':>13}")
    for key, value in summary.items():
        if key == "seconds":
            continue
        rate = value.get("recall", value.get("fpr"))
        print(f"{key:34} {value['n']:>4} {value['flagged']:>8} {rate:>13.3f}")
    print(f"{summary['seconds']} s")


if __name__ == "__main__":
    main()
