"""False positives of the scan-tampering check on real scans: the SROIE receipts (../shared/data/sroie,
100 scanned JPEGs, untouched), with SROIE's official OCR lines as the word boxes, or (``--ocr``) read
by the product's own reader (RapidOCR words: what the check sees in production; cached by reader code).

    .venv/bin/python -m bench.tamper_real_scans [--ocr]  # prints flagged / scans, JSON to bench/out/

A scan counts as flagged on any medium-or-higher ``tamper.image.*`` finding (edited regions, odd digits).

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

from bench.code_digest import READER_CODE, code_digest
from bench.learning import _sroie_reference_reader
from bench.train_tamper_model import split
from shared.adapters.local.sqlite import SqliteRepository
from shared.documents.content import DocumentContent
from shared.domain import DocumentRef, InvoiceRecord
from shared.forensics.check import OriginalDocument, check_tampering
from shared.settings import Settings

SROIE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sroie"
OCR_CACHE = Path(__file__).resolve().parent / "out" / "real_scans" / code_digest(*READER_CODE)
NOT_FLAGS = ("tamper.image.not_analysed",)


def _read(path: Path, settings: Settings) -> DocumentContent:
    """The receipt as the product reads it (OCR), from the cache when this reader read it before."""
    from shared.pipeline import read_document

    cached = OCR_CACHE / f"{path.name}.json"
    if cached.exists():
        return DocumentContent.model_validate_json(cached.read_text())
    content = read_document(path.read_bytes(), path.name, "image/jpeg", settings)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(content.model_dump_json())
    return content


def _flagged(codes: list[str]) -> bool:
    return any(
        code.startswith("tamper.image.") and not code.startswith(NOT_FLAGS) and code.endswith((":medium", ":high"))
        for code in codes
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ocr", action="store_true", help="read the receipts with the product's OCR")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        repo = SqliteRepository(Path(folder) / "bench.sqlite3")
        for path in sorted(SROIE.glob("*.jpg")):
            data = path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
            ref = DocumentRef(
                sha256=sha, blob_name=path.name, filename=path.name, content_type="image/jpeg", size=len(data)
            )
            record = InvoiceRecord(id=sha, document=ref)
            content = _read(path, settings) if args.ocr else _sroie_reference_reader(path)
            findings = check_tampering(record, OriginalDocument(data, content, settings), repo=repo)
            codes = sorted({f"{f.code}:{f.severity.value}" for f in findings})
            rows.append({"scan": path.name, "split": split(path), "codes": codes})
    flagged = [r for r in rows if _flagged(r["codes"])]
    errors = [r for r in rows if any(c.startswith(NOT_FLAGS) for c in r["codes"])]
    held = [r for r in rows if r["split"] == "held_out"]
    held_flagged = [r for r in held if r in flagged]
    summary: dict[str, object] = {
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
    }
    summary.update(not_analysed=len(errors), seconds=round(time.perf_counter() - started, 1), ocr=args.ocr)
    out = Path("bench/out/tamper_real_scans" + ("_ocr" if args.ocr else "") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "flagged": [r["scan"] for r in flagged], "rows": rows}, indent=1))
    print(json.dumps(summary), "flagged:", [r["scan"] for r in flagged])


if __name__ == "__main__":
    main()
