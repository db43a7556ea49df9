"""Accuracy and speed on the labelled dev sets: Papyr vs invoice2data (peer), same run, same scorer.

    .venv/bin/python -m bench.eval_sets [SET_DIR ...] [--json OUT]

Default sets: ../shared/data/zugferd and ../shared/data/invoice2data. invoice2data is template-based:
it reads only invoices its bundled templates know, so on unseen invoices it returns nothing; we score
what it returns with the same LABELS.md rules. Prints one line per set with the ratio of macro
accuracies and of documents per second.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from shared.evaluation import EvalReport, evaluate_directory, report_to_json

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SETS = [REPO.parent / "shared" / "data" / "zugferd", REPO.parent / "shared" / "data" / "invoice2data"]

# invoice2data output keys → LABELS.md field names.
_PEER_FIELDS = {
    "issuer": "vendor_name",
    "partner_name": "vendor_name",
    "invoice_number": "invoice_number",
    "date": "invoice_date",
    "date_due": "due_date",
    "currency": "currency",
    "amount": "total",
    "amount_untaxed": "subtotal",
    "amount_tax": "tax",
    "vat": "vendor_vat_id",
    "iban": "iban",
    "bic": "bic",
    "po_number": "po_number",
}


def invoice2data_predictor() -> Any:
    from invoice2data import extract_data
    from invoice2data.extract.loader import read_templates

    templates = read_templates()
    logging.getLogger("invoice2data").setLevel(logging.CRITICAL)

    def predict(path: Path) -> dict[str, Any]:
        try:
            result = extract_data(str(path), templates=templates) or {}
        except Exception:  # the peer fails on some inputs; that is a miss, not a crash of the bench
            result = {}
        fields: dict[str, Any] = {}
        for key, value in result.items():
            name = _PEER_FIELDS.get(key)
            if name is None or name in fields:
                continue
            if isinstance(value, datetime | date):
                value = value.strftime("%Y-%m-%d")
            fields[name] = value if isinstance(value, int | float) else str(value)
        lines = [
            {"description": line.get("description"), "amount": line.get("price") or line.get("amount")}
            for line in result.get("lines", []) or []
            if isinstance(line, dict)
        ]
        return {"file": str(path), "fields": fields, "line_items": lines}

    return predict


def _ratio(ours: float, peer: float) -> str:
    return f"{ours / peer:.2f}x" if peer else "n/a (peer 0)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", type=Path, default=DEFAULT_SETS)
    parser.add_argument("--json", type=Path, help="write both reports per set to this file")
    args = parser.parse_args(argv)
    console = Console()
    peer = invoice2data_predictor()
    table = Table(title="Papyr vs invoice2data (same run, LABELS.md scoring)")
    for column in ("set", "docs", "papyr macro", "invoice2data macro", "ratio", "papyr docs/s", "peer docs/s",
                   "papyr lines acc"):
        table.add_column(column)
    results: dict[str, dict[str, Any]] = {}
    for directory in args.sets:
        ours: EvalReport = evaluate_directory(directory)[0]
        theirs: EvalReport = evaluate_directory(directory, predict=peer)[0]
        results[directory.name] = {"papyr": report_to_json(ours), "invoice2data": report_to_json(theirs)}
        table.add_row(
            directory.name,
            str(ours.documents),
            f"{ours.macro_accuracy:.3f}",
            f"{theirs.macro_accuracy:.3f}",
            _ratio(ours.macro_accuracy, theirs.macro_accuracy),
            f"{ours.docs_per_second:.2f}",
            f"{theirs.docs_per_second:.2f}",
            f"{ours.line_items.accuracy:.3f}",
        )
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
