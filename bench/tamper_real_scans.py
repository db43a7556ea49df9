"""False positives of the scan-tampering check on untouched scans: the SROIE receipts (../shared/data/sroie,
100 scanned JPEGs), with SROIE's official OCR lines as the word boxes, or (``--ocr``) read by the
product's own reader (RapidOCR words: what the check sees in production; cached by reader code); and
with ``--pdf-scans DIR`` also the image-only PDFs in DIR (default: the zugferd_ocr variants that
``bench.variants`` builds, 42 rasterised invoices), read by OCR and checked page by page on their stored
images, the way a scanned invoice usually arrives by mail.

    .venv/bin/python -m bench.tamper_real_scans [--ocr] [--pdf-scans [DIR]]  # flagged / scans, JSON to bench/out/

A scan counts as flagged on any medium-or-higher ``tamper.image.*`` finding (edited regions, odd digits,
retyped amounts).

Since model v4 (bench.train_tamper_model) the ``fit`` receipts' tiles are training negatives and the
``calibration`` receipts help set the threshold (split by a hash of the file name, as the invoices):
only the ``held_out`` receipts are evidence of how the model holds on real scans it never saw. Both
figures are printed: held-out receipts and all 100.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.progress import track

from bench.code_digest import reader_digest
from bench.learning import _sroie_reference_reader
from bench.train_tamper_model import split
from shared.adapters.local.sqlite import SqliteRepository
from shared.documents.content import DocumentContent
from shared.domain import DocumentRef, InvoiceRecord
from shared.forensics.check import OriginalDocument, check_tampering
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SROIE = REPO.parent / "shared" / "data" / "sroie"
PDF_SCANS = REPO / "bench" / "out" / "variants" / "zugferd_ocr"
OCR_CACHE = REPO / "bench" / "out" / "real_scans" / reader_digest()  # per set folder
NOT_FLAGS = ("tamper.image.not_analysed",)


def _read(path: Path, settings: Settings, content_type: str = "image/jpeg") -> DocumentContent:
    """The scan as the product reads it (OCR), from the cache when this reader read it before."""
    from shared.pipeline import read_document

    cached = OCR_CACHE / path.parent.name / f"{path.name}.json"
    if cached.exists():
        return DocumentContent.model_validate_json(cached.read_text())
    content = read_document(path.read_bytes(), path.name, content_type, settings)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(content.model_dump_json())
    return content


def _flagged(codes: list[str]) -> bool:
    return any(
        code.startswith("tamper.image.") and not code.startswith(NOT_FLAGS) and code.endswith((":medium", ":high"))
        for code in codes
    )


def _check(
    path: Path, content_type: str, content: DocumentContent, repo: SqliteRepository, settings: Settings
) -> dict[str, Any]:
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    ref = DocumentRef(sha256=sha, blob_name=path.name, filename=path.name, content_type=content_type, size=len(data))
    findings = check_tampering(
        InvoiceRecord(id=sha, document=ref), OriginalDocument(data, content, settings), repo=repo
    )
    return {
        "scan": path.name,
        "split": split(path),
        "codes": sorted({f"{f.code}:{f.severity.value}" for f in findings}),
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    flagged = [r for r in rows if _flagged(r["codes"])]
    held = [r for r in rows if r["split"] == "held_out"]
    held_flagged = [r for r in held if r in flagged]
    return {
        "held_out": {
            "scans": len(held),
            "flagged": len(held_flagged),
            "fpr": round(len(held_flagged) / max(1, len(held)), 4),
        },
        "scans": len(rows),
        "flagged": len(flagged),
        "fpr": round(len(flagged) / max(1, len(rows)), 4),
        "flagged_by_split": {
            name: sum(r["split"] == name for r in flagged) for name in ("fit", "calibration", "held_out")
        },
        "not_analysed": sum(any(c.startswith(NOT_FLAGS) for c in r["codes"]) for r in rows),
        "flagged_scans": [r["scan"] for r in flagged],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ocr", action="store_true", help="read the receipts with the product's OCR")
    parser.add_argument(
        "--pdf-scans", type=Path, nargs="?", const=PDF_SCANS, help="also the image-only PDFs in this folder (OCR)"
    )
    args = parser.parse_args()
    if args.pdf_scans is not None and not any(args.pdf_scans.glob("*.pdf")):
        parser.error(f"no PDFs in {args.pdf_scans} (build them: .venv/bin/python -m bench.variants --build-only)")
    started = time.perf_counter()
    receipts, pdfs = [], []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        repo = SqliteRepository(Path(folder) / "bench.sqlite3")
        for path in track(sorted(SROIE.glob("*.jpg")), description="receipts"):
            content = _read(path, settings) if args.ocr else _sroie_reference_reader(path)
            receipts.append(_check(path, "image/jpeg", content, repo, settings))
        for path in track(sorted(args.pdf_scans.glob("*.pdf")) if args.pdf_scans else [], description="PDF scans"):
            pdfs.append(_check(path, "application/pdf", _read(path, settings, "application/pdf"), repo, settings))
    summary: dict[str, Any] = {"receipts": _summary(receipts)}
    if args.pdf_scans:
        summary["pdf_scans"] = _summary(pdfs) | {"folder": str(args.pdf_scans)}
        both = _summary(receipts + pdfs)
        summary["all"] = {key: both[key] for key in ("scans", "flagged", "fpr")}
    summary.update(seconds=round(time.perf_counter() - started, 1), ocr=args.ocr)
    out = Path("bench/out/tamper_real_scans" + ("_ocr" if args.ocr else "") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "rows": receipts + pdfs}, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
