"""False positives of the scan-tampering check on real scans: the SROIE receipts (../shared/data/sroie,
100 scanned JPEGs, untouched), with SROIE's official OCR lines as the word boxes.

    .venv/bin/python -m bench.tamper_real_scans          # prints flagged / scans, JSON to bench/out/

The scan model never saw a real scanner (bench.train_tamper_model generates its scans): this measures
how its page-relative statistics hold on one.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

from bench.learning import _sroie_reference_reader
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
            rows.append({"scan": path.name, "codes": sorted({f"{f.code}:{f.severity.value}" for f in findings})})
    flagged = [r for r in rows if any(c.startswith("tamper.image.edited_region") for c in r["codes"])]
    errors = [r for r in rows if any(c.startswith("tamper.image.not_analysed") for c in r["codes"])]
    summary = {"scans": len(rows), "flagged": len(flagged), "fpr": round(len(flagged) / max(1, len(rows)), 4)}
    summary.update(not_analysed=len(errors), seconds=round(time.perf_counter() - started, 1))
    out = Path("bench/out/tamper_real_scans.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "flagged": [r["scan"] for r in flagged], "rows": rows}, indent=1))
    print(json.dumps(summary), "flagged:", [r["scan"] for r in flagged])


if __name__ == "__main__":
    main()
