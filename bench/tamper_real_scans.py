"""False positives of the scan-tampering check on real scans: the SROIE receipts (../shared/data/sroie,
100 scanned JPEGs, untouched), with SROIE's official OCR lines as the word boxes.

    .venv/bin/python -m bench.tamper_real_scans          # prints flagged / scans, JSON to bench/out/

Since model v4 (bench.train_tamper_model) the ``fit`` receipts' tiles are training negatives and the
``calibration`` receipts help set the threshold (split by a hash of the file name, as the invoices):
only the ``held_out`` receipts are evidence of how the model holds on real scans it never saw. Both
figures are printed: held-out receipts and all 100.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

from bench.learning import _sroie_reference_reader
from bench.train_tamper_model import split
from shared.adapters.local.sqlite import SqliteRepository
from shared.domain import DocumentRef, InvoiceRecord
from shared.forensics.check import OriginalDocument, check_tampering
from shared.settings import Settings

SROIE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sroie"


def main() -> None:
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
            content = _sroie_reference_reader(path)
            findings = check_tampering(record, OriginalDocument(data, content, settings), repo=repo)
            codes = sorted({f"{f.code}:{f.severity.value}" for f in findings})
            rows.append({"scan": path.name, "split": split(path), "codes": codes})
    flagged = [r for r in rows if any(c.startswith("tamper.image.edited_region") for c in r["codes"])]
    errors = [r for r in rows if any(c.startswith("tamper.image.not_analysed") for c in r["codes"])]
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
    summary.update(not_analysed=len(errors), seconds=round(time.perf_counter() - started, 1))
    out = Path("bench/out/tamper_real_scans.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "flagged": [r["scan"] for r in flagged], "rows": rows}, indent=1))
    print(json.dumps(summary), "flagged:", [r["scan"] for r in flagged])


if __name__ == "__main__":
    main()
