"""Generalisation probe: tampering the generator does not make, against the e-invoice-vs-page check.

    .venv/bin/python -m bench.einvoice_page_probe [--json OUT]

For every ZUGFeRD / Factur-X sample with an embedded XML: the clean file, and the amount on its page
edited the quiet way, digits replaced inside the content stream and the file saved whole (no
incremental trail, no overlay, same font). Reports which ones ``check_einvoice_against_page`` and
``check_tampering`` flag (medium or worse); the generator's own edits are measured by the fraud suite.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import pikepdf

from bench.fraud.pdf_edit import changed_amount, edit_digits_in_stream
from bench.fraud.tamper_generators import _amount
from bench.tamper_suite import check_pdf, flagged
from shared.adapters.local.sqlite import SqliteRepository
from shared.checks.einvoice_page import check_einvoice_against_page
from shared.documents.loader import load_content
from shared.pipeline import classify_and_extract
from shared.settings import Settings

ZUGFERD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "zugferd"


def einvoice_codes(data: bytes) -> list[str] | None:
    """Codes of the e-invoice-vs-page findings; None when the file carries no e-invoice."""
    content = load_content(data, "invoice.pdf", "application/pdf", ocr=None)
    if content.xml is None:
        return None
    return [f.code for f in check_einvoice_against_page(classify_and_extract(content), content)]


def rewritten(source: Path) -> tuple[bytes, str, str] | None:
    data = source.read_bytes()
    amount = _amount(source, data)
    if amount is None:
        return None
    new = changed_amount(amount.text, random.Random(source.name).randrange(8))
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if edit_digits_in_stream(pdf, amount, new) is None:
            return None  # the amount is not a plain literal string in the stream
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue(), amount.text, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        repo, settings = SqliteRepository(Path(folder) / "probe.sqlite3"), Settings(data_dir=Path(folder))
        sources = sorted(ZUGFERD.glob("*.pdf"))
        for source in sources:  # clean files first, so the vendor histories exist
            codes = einvoice_codes(source.read_bytes())
            if codes is not None:
                tampered = flagged(check_pdf(source.read_bytes(), source.name, repo, settings))
                rows.append({"source": source.name, "case": "clean", "einvoice": codes, "tamper": tampered})
        for source in sources:
            edit = rewritten(source)
            if edit is None or (codes := einvoice_codes(edit[0])) is None:
                continue
            tampered = flagged(check_pdf(edit[0], f"{source.stem}.rewrite.pdf", repo, settings))
            case = f"rewrite {edit[1]} -> {edit[2]}"
            rows.append({"source": source.name, "case": case, "einvoice": codes, "tamper": tampered})
    for row in rows:
        mark = "FLAG" if row["einvoice"] or row["tamper"] else "-"
        print(f"{mark:5} {row['case']:28} {row['source'][:70]} {row['einvoice']} tamper={row['tamper']}")
    for case in ("clean", "rewrite"):
        subset = [r for r in rows if r["case"].startswith(case)]
        by_einvoice = sum(bool(r["einvoice"]) for r in subset)
        by_tamper = sum(bool(r["tamper"]) for r in subset)
        either = sum(bool(r["einvoice"] or r["tamper"]) for r in subset)
        print(f"{case}: {len(subset)} files; einvoice.* {by_einvoice}, tamper.* {by_tamper}, either {either}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
