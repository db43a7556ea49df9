"""The fraud suite: recall and false-positive rate per fraud type on labelled cases built from the
clean dev invoices, through the real read → extract → checks path.

    .venv/bin/python -m bench.fraud_suite [--sets zugferd invoice2data] [--limit N] [--rescans N]
                                          [--types T ...] [--seed S] [--json OUT] [--cases OUT.jsonl]

For each case: a fresh temporary data directory (SQLite + local blobs); the case's vendor master,
purchase orders and receipts imported; its history documents taken in by intake and run through the
activities (classify → extract → check), then marked exported; then the case's own document the same
way (intake → classify → extract → check → route). Cases with the same setup start from a copy of
the directory that setup produced (built once), so the history is not re-processed per case. A case
counts as *flagged* for a fraud type when it has a medium-or-higher finding whose code starts with one
of that type's prefixes.

- recall (per type) = tampered cases of the type that are flagged for it / tampered cases of the type
- FPR (per type) = clean dev documents flagged for the type / clean dev documents

Generators are modules with ``generate(source: Path, rng) -> list[case]``; a case has ``data`` (or
``bytes``), ``filename`` and ``fraud_type`` (None = clean), and may carry the setup fields of
``bench.fraud.cases.Case``; one without them gets the clean case's setup for the same source. A
module's ``CODE_PREFIXES`` (fraud type → code prefixes) says which findings count for its types
(default ``("tamper.",)``). Add a generator in one line to ``GENERATORS``.

Parsed document content is cached by content hash in ``bench/out/fraud/cache/<reader code digest>`` (what the activities
cache per document anyway), so re-runs skip PDF parsing and OCR; extraction and checks always run.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.code_digest import reader_digest
from bench.fraud.cases import Case, rescan_case
from shared.domain import InvoiceStatus
from shared.domain.models import SEVERITY_RANK, Severity

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
# Content read by the current reading code only: a change to the reader or the OCR starts a new cache.
CACHE = REPO / "bench" / "out" / "fraud" / "cache" / reader_digest()
DEFAULT_SETS = ("zugferd", "invoice2data")
GENERATORS: list[str] = [
    "bench.fraud.cases",
    "bench.fraud.tamper_generators",  # edited PDFs (incremental update, overlay) and edited scans
]
MEDIUM = SEVERITY_RANK[Severity.MEDIUM]
console = Console(stderr=True)


@dataclass
class Outcome:
    case_id: str
    fraud_type: str | None
    variant: str
    codes: list[str] = field(default_factory=list)  # medium+ finding codes
    all_codes: list[str] = field(default_factory=list)
    status: str = ""
    route: str = ""
    error: str | None = None


def _attr(case: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(case, dict) and name in case:
            return case[name]
        if hasattr(case, name):
            return getattr(case, name)
    return default


def _as_case(raw: Any, clean: Case | None, source: Path, index: int) -> Case:
    """A generator's case in this harness's shape; setup it lacks comes from the source's clean case."""
    if isinstance(raw, Case):
        return raw
    base = clean or Case(case_id="", fraud_type=None, data=b"", filename="")
    fraud_type = _attr(raw, "fraud_type")
    return Case(
        case_id=str(_attr(raw, "case_id", default=f"{source.stem}:{fraud_type}:{index}")),
        fraud_type=fraud_type,
        data=_attr(raw, "data", "bytes"),
        filename=str(_attr(raw, "filename")),
        variant=str(_attr(raw, "variant") or fraud_type or "clean"),
        vendors=_attr(raw, "vendors", default=base.vendors),
        history=_attr(raw, "history", default=base.history),
        purchase_orders=_attr(raw, "purchase_orders", default=base.purchase_orders),
        receipts=_attr(raw, "receipts", default=base.receipts),
    )


def _setup_key(case: Case) -> str:
    parts = [hashlib.sha256(doc.data).hexdigest() for doc in case.history]
    parts.append(json.dumps([v.model_dump(mode="json") for v in case.vendors], sort_keys=True))
    parts.append(json.dumps([case.purchase_orders, case.receipts], sort_keys=True))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


class Runner:
    """Runs cases through intake and the activities, each in a fresh data directory: a copy of the
    directory its setup (vendor master, orders, history documents) produced, made once per setup."""

    def __init__(self, work: Path) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        self.work = work
        self.setups: dict[str, Path] = {}

    def _services(self, data_dir: Path) -> Any:
        from shared.services import Services, set_services
        from shared.settings import get_settings

        settings = get_settings().model_copy(update={"data_dir": data_dir, "parse_timeout_s": 600.0})
        services = Services.from_settings(settings)
        set_services(services)
        return services

    def _setup(self, case: Case) -> Path:
        from shared.checks.purchase_orders import import_orders, import_receipts

        key = _setup_key(case)
        if key in self.setups:
            return self.setups[key]
        if len(self.setups) > 8:  # the cases of one source come together: keep a few setups only
            shutil.rmtree(self.setups.pop(next(iter(self.setups))), ignore_errors=True)
        folder = self.work / f"setup-{key[:16]}"
        services = self._services(folder)
        for vendor in case.vendors:
            services.repo.upsert_vendor(vendor)
        if case.purchase_orders:
            import_orders(case.purchase_orders, services.repo)  # type: ignore[arg-type]
        if case.receipts:
            import_receipts(case.receipts, services.repo)  # type: ignore[arg-type]
        for doc in case.history:
            for record_id in self._process(services, doc.data, doc.filename, route=False):
                record = services.repo.get_invoice(record_id)
                if record is not None and record.status is not InvoiceStatus.REJECTED:
                    record.status = InvoiceStatus.EXPORTED  # earlier invoices: approved and paid
                    services.repo.save_invoice(record)
        services.repo.close()
        self.setups[key] = folder
        return folder

    def run(self, case: Case) -> Outcome:
        outcome = Outcome(case.case_id, case.fraud_type, case.variant)
        setup = self._setup(case)
        with tempfile.TemporaryDirectory(prefix="case-", dir=self.work) as tmp:
            data_dir = Path(tmp) / "data"
            shutil.copytree(setup, data_dir)
            services = self._services(data_dir)
            ids = self._process(services, case.data, case.filename, route=True)
            if not ids:
                outcome.error = "intake took in no new document"
            for record_id in ids:
                record = services.repo.get_invoice(record_id)
                if record is None:
                    continue
                outcome.status = record.status.value if not record.reason else f"{record.status.value}: {record.reason}"
                outcome.route = record.route.kind.value if record.route else ""
                outcome.all_codes += [f.code for f in record.findings]
                outcome.codes += [f.code for f in record.findings if SEVERITY_RANK[f.severity] >= MEDIUM]
            services.repo.close()
        return outcome

    def _process(self, services: Any, data: bytes, filename: str, *, route: bool) -> list[str]:
        from shared import activities
        from shared.intake.service import ingest_file

        result = ingest_file(data, filename, "ap@papyr.example", services=services)
        ids = [ref.sha256 for ref in result.documents]
        for invoice_id in ids:
            blob = f"content/{invoice_id}.json"
            cached = CACHE / f"{invoice_id}.json"
            if cached.exists():
                services.blobs.put(blob, cached.read_bytes(), "application/json")
            payload = {"invoice_id": invoice_id}
            if activities.classify_document(payload)["status"] != "ok":
                continue
            if not cached.exists() and services.blobs.exists(blob):
                cached.write_bytes(services.blobs.get(blob))
            if activities.extract_invoice(payload).get("status") == "rejected":
                continue
            activities.check_invoice(payload)
            if route:
                activities.route_invoice(payload)
        return ids


def build_cases(
    sets: list[str], limit: int | None, rescans: int, seed: int, types: list[str] | None = None
) -> list[Case]:
    sources = [pdf for name in sets for pdf in sorted((DATA / name).glob("*.pdf")) if pdf.with_suffix(".json").exists()]
    if limit:
        sources = sources[:limit]
    modules = [importlib.import_module(name) for name in GENERATORS]
    cases: list[Case] = []
    for source in sources:
        rng = random.Random(f"{seed}:{source.name}")
        clean: Case | None = None
        for module in modules:
            for index, raw in enumerate(module.generate(source, rng)):
                built = _as_case(raw, clean, source, index)
                if built.fraud_type is None:
                    if clean is not None:
                        continue  # one clean case per source
                    clean = built
                cases.append(built)
    # Re-scans need OCR (seconds a page): a few sources, spread over both sets.
    picked = sources[:: max(1, len(sources) // rescans)][:rescans] if rescans else []
    for source in picked:
        rescan = rescan_case(source, random.Random(f"{seed}:{source.name}"))
        if rescan is not None:
            cases.append(rescan)
    if types:  # the clean cases always stay: they are every type's false positives
        cases = [case for case in cases if case.fraud_type is None or case.fraud_type in types]
    return cases


def code_prefixes() -> dict[str, tuple[str, ...]]:
    prefixes: dict[str, tuple[str, ...]] = {}
    for name in GENERATORS:
        module = importlib.import_module(name)
        prefixes.update(getattr(module, "CODE_PREFIXES", {}))
    return prefixes


def score(outcomes: list[Outcome], prefixes: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    clean = [o for o in outcomes if o.fraud_type is None]
    types = sorted({o.fraud_type for o in outcomes if o.fraud_type is not None})
    rows: dict[str, Any] = {}
    for fraud_type in types:
        codes = prefixes.get(fraud_type, ("tamper.",))
        tampered = [o for o in outcomes if o.fraud_type == fraud_type]
        hits = [o for o in tampered if any(c.startswith(codes) for c in o.codes)]
        false_positives = [o for o in clean if any(c.startswith(codes) for c in o.codes)]
        variants: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for o in tampered:
            variants[o.variant][1] += 1
            variants[o.variant][0] += o in hits
        rows[fraud_type] = {
            "cases": len(tampered),
            "flagged": len(hits),
            "recall": round(len(hits) / len(tampered), 4) if tampered else None,
            "clean_flagged": len(false_positives),
            "fpr": round(len(false_positives) / len(clean), 4) if clean else None,
            "missed": [o.case_id for o in tampered if o not in hits],
            "false_positives": [o.case_id for o in false_positives],
            "variants": {k: f"{v[0]}/{v[1]}" for k, v in sorted(variants.items())},
        }
    all_codes = tuple(c for codes in prefixes.values() for c in codes)
    any_fp = [o for o in clean if any(c.startswith(all_codes) for c in o.codes)]
    tampered_all = [o for o in outcomes if o.fraud_type is not None]
    return {
        "clean_documents": len(clean),
        "tampered_cases": len(tampered_all),
        "types": rows,
        "suite": {
            "recall": round(sum(r["flagged"] for r in rows.values()) / len(tampered_all), 4) if tampered_all else None,
            "fpr_any_type": round(len(any_fp) / len(clean), 4) if clean else None,
            "tampered_routed_to_a_person": sum(o.route == "approval" for o in tampered_all),
        },
        "errors": [f"{o.case_id}: {o.error}" for o in outcomes if o.error],
    }


def report(result: dict[str, Any]) -> Table:
    table = Table(title=f"Fraud suite: {result['tampered_cases']} tampered cases, {result['clean_documents']} clean")
    for column in ("fraud type", "cases", "recall", "FPR (clean)", "variants (flagged/cases)"):
        table.add_column(column)
    for fraud_type, row in result["types"].items():
        variants = ", ".join(f"{k} {v}" for k, v in row["variants"].items())
        table.add_row(
            fraud_type,
            str(row["cases"]),
            f"{row['recall']:.3f}",
            f"{row['fpr']:.3f} ({row['clean_flagged']})",
            variants,
        )
    suite = result["suite"]
    table.add_row(
        "whole suite",
        str(result["tampered_cases"]),
        f"{suite['recall']:.3f}",
        f"{suite['fpr_any_type']:.3f}",
        f"routed to a person: {suite['tampered_routed_to_a_person']}",
    )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS))
    parser.add_argument("--limit", type=int, default=None, help="first N sources of each run (development)")
    parser.add_argument("--rescans", type=int, default=6, help="sources that also get an OCR re-scan case")
    parser.add_argument("--types", nargs="+", default=None, help="only these fraud types (and the clean cases)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="write the result as JSON")
    parser.add_argument("--cases", type=Path, default=None, help="write one JSON line per case")
    args = parser.parse_args(argv)
    started = time.monotonic()
    cases = build_cases(args.sets, args.limit, args.rescans, args.seed, args.types)
    console.print(f"{len(cases)} cases built in {time.monotonic() - started:.0f} s")
    if not cases:
        console.print(f"no labelled sources in {', '.join(str(DATA / name) for name in args.sets)}: nothing to measure")
        return 2
    outcomes = []
    # Throw-away data directories in memory when the machine has /dev/shm (SQLite syncs every write).
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="papyr-fraud-", dir=shm if shm.is_dir() else None) as work:
        runner = Runner(Path(work))
        for number, case in enumerate(cases, start=1):
            outcomes.append(runner.run(case))
            if number % 25 == 0:
                console.print(f"{number}/{len(cases)} cases, {time.monotonic() - started:.0f} s")
    result = score(outcomes, code_prefixes())
    result["seconds"] = round(time.monotonic() - started, 1)
    Console().print(report(result))
    for fraud_type, row in result["types"].items():
        if row["missed"] or row["false_positives"]:
            console.print(f"{fraud_type}: missed {row['missed']}, false positives {row['false_positives']}")
    if result["errors"]:
        console.print(f"errors: {result['errors']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if args.cases:
        args.cases.write_text("".join(json.dumps(o.__dict__) + "\n" for o in outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
