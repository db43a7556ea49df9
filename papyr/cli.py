"""`papyr`: the command line of the embedded host."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from papyr.logs import configure_logging, configure_tracing

app = typer.Typer(help="Papyr: accounts-payable mailbox agent (embedded host).", no_args_is_help=True)
vendors_app = typer.Typer(help="The vendor master.", no_args_is_help=True)
app.add_typer(vendors_app, name="vendors")
po_app = typer.Typer(help="Purchase orders (for 2-way matching).", no_args_is_help=True)
app.add_typer(po_app, name="po")
gr_app = typer.Typer(help="Goods receipts (for 3-way matching).", no_args_is_help=True)
app.add_typer(gr_app, name="gr")
console = Console(stderr=True)
out = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", envvar="PAPYR_DATA_DIR", help="Data directory (default ./.papyr).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="One JSON object per line instead of a table.")]
# Label and metadata files beside documents in a folder are not documents.
_NOT_DOCUMENTS = {".json", ".md"}


def _iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.suffix.lower() not in _NOT_DOCUMENTS and not child.name.startswith("."):
                    yield child
        elif path.is_file():
            yield path
        else:
            raise typer.BadParameter(f"no such file or folder: {path}")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@app.callback()
def main_options(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs.")] = False) -> None:
    configure_logging(verbose)
    configure_tracing()


@app.command()
def process(
    paths: Annotated[list[Path], typer.Argument(help=".eml, .pdf, images, .xml — files or folders.")],
    json_output: JsonFlag = False,
    mailbox: Annotated[str | None, typer.Option(help="Mailbox the files came from.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run files through the full flow: intake, classify, extract, checks, route, report, export."""
    from papyr.host import build_local_host
    from shared.intake.service import ingest_file, start_orchestrations

    host = build_local_host(data_dir)
    _require_policy(host.settings)
    files = list(_iter_files(paths))
    rows: list[tuple[str, Any]] = []  # (file, IngestResult)
    with _progress() as progress:
        task = progress.add_task("intake", total=len(files))
        for path in files:
            result = ingest_file(path.read_bytes(), str(path), mailbox, services=host.services)
            asyncio.run(start_orchestrations(result.documents, host.client, host.settings))
            rows.append((str(path), result))
            progress.advance(task)
        pending = [ref.sha256 for _, result in rows for ref in result.documents]
        task = progress.add_task("process", total=len(pending))
        _run_engine(host, lambda: progress.update(task, completed=_settled(host, pending)))
    _print_outcomes(host, rows, json_output)


_SETTLED = {"rejected", "awaiting_approval", "approved", "declined", "exported", "failed"}


def _settled(host: Any, invoice_ids: list[str]) -> int:
    records = (host.services.repo.get_invoice(i) for i in invoice_ids)
    return sum(1 for r in records if r is not None and r.status.value in _SETTLED)


def _run_engine(host: Any, on_tick: Any) -> None:
    """Run the engine until idle (this also resumes work a killed run left unfinished), ticking the
    progress bar from the records while it works."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            host.engine.run_until_idle()
        except BaseException as error:  # re-raised below, in the main thread
            failure.append(error)

    worker = threading.Thread(target=work, name="papyr-engine", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.25)
        on_tick()
    if failure:
        raise failure[0]


def _print_outcomes(host: Any, rows: list[tuple[str, Any]], json_output: bool) -> None:
    # Five columns read on an 80-column terminal; --json (and `papyr status ID`) carry the rest.
    table = Table(title="Papyr: what happened to each document")
    table.add_column("file", overflow="ellipsis", max_width=16, no_wrap=True)
    table.add_column("status", max_width=10)
    table.add_column("vendor · number", ratio=1, min_width=10, overflow="fold")
    table.add_column("total", justify="right", no_wrap=True)
    table.add_column("why", ratio=2, min_width=12, overflow="fold")
    for file, result in rows:
        ids = [ref.sha256 for ref in result.documents] + result.duplicates
        if not ids:
            line = {"file": file, "status": "ignored", "reason": f"{result.outcome.value}: {result.detail}".strip(": ")}
            _emit(table, line, json_output)
        for invoice_id in ids:
            record = host.services.repo.get_invoice(invoice_id)
            line = _summary(file, record)
            if invoice_id in result.duplicates:
                earlier = f"same bytes as invoice {invoice_id[:12]} ({line['status']})"
                line["status"], line["reason"] = "duplicate", earlier
            _emit(table, line, json_output)
    if not json_output:
        out.print(table)


def _summary(file: str, record: Any) -> dict[str, Any]:
    extraction = record.extraction
    total = extraction.money("total") if extraction else None
    return {
        "file": file,
        "invoice_id": record.id,
        "document": record.document.filename,
        "status": record.status.value,
        "reason": record.reason,
        "document_type": extraction.document_type.value if extraction else None,
        "vendor": extraction.value("vendor_name") if extraction else None,
        "invoice_number": extraction.value("invoice_number") if extraction else None,
        "total": str(total.amount) if total else (extraction.value("total") if extraction else None),
        "currency": total.currency if total else None,
        "risk_score": round(record.risk_score, 3),
        "findings": [f.code for f in record.findings],
        "report": record.report_blob,
        "exports": record.export_paths,
    }


def _emit(table: Table, line: dict[str, Any], json_output: bool) -> None:
    if json_output:
        print(json.dumps(line, default=str), flush=True)
        return
    why = [line.get("reason") or "", ", ".join(line.get("findings") or [])]
    if line.get("risk_score"):
        why.append(f"risk {line['risk_score']:.2f}")
    table.add_row(
        Path(line["file"]).name,
        line["status"].replace("_", " "),
        " · ".join(v for v in (line.get("vendor"), line.get("invoice_number")) if v),
        f"{line['total']} {line.get('currency') or ''}".strip() if line.get("total") else "",
        "; ".join(part for part in why if part),
    )


@app.command()
def extract(
    paths: Annotated[list[Path], typer.Argument(help="Documents (files or folders).")],
    json_output: JsonFlag = False,
) -> None:
    """Extraction only: one JSON line per document with fields, confidences and line items."""
    from shared.pipeline import extract_document
    from shared.settings import get_settings

    settings = get_settings()
    files = list(_iter_files(paths))
    table = Table(title="Extraction")
    for column in ("file", "status", "type", "vendor", "number", "date", "total", "reason"):
        table.add_column(column, overflow="fold")
    with _progress() as progress:
        task = progress.add_task("extract", total=len(files))
        for path in files:
            line = extract_document(path.read_bytes(), path.name, None, settings).to_contract(str(path))
            if json_output:
                print(json.dumps(line, ensure_ascii=False), flush=True)
            else:
                f = line["fields"]
                table.add_row(
                    path.name, line["status"], line["document_type"], f.get("vendor_name"), f.get("invoice_number"),
                    f.get("invoice_date"), f.get("total"), line["reason"],
                )
            progress.advance(task)
    if not json_output:
        out.print(table)


@app.command("eval")
def evaluate(
    directory: Annotated[Path, typer.Argument(help="A folder of documents with <stem>.json labels beside them.")],
    json_output: JsonFlag = False,
    predictions: Annotated[
        Path | None, typer.Option(help="Also write the predictions (JSON Lines) to this file.")
    ] = None,
) -> None:
    """Extract every labelled document in DIR and score it by the rules of LABELS.md."""
    from shared.evaluation import evaluate_directory, report_table, report_to_json

    if not directory.is_dir():
        raise typer.BadParameter(f"not a folder: {directory}")
    with _progress() as progress:
        task = progress.add_task(f"eval {directory.name}", total=None)
        report, lines = evaluate_directory(
            directory, on_document=lambda done, total: progress.update(task, completed=done, total=total)
        )
    if predictions is not None:
        predictions.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    if json_output:
        print(json.dumps(report_to_json(report), ensure_ascii=False))
    else:
        out.print(report_table(report))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (the Functions host's default).")] = 7071,
    data_dir: DataDir = None,
) -> None:
    """The local host: /api routes of the Function App, the dashboard, the engine and its workers."""
    from papyr.host import build_local_host
    from papyr.server import serve as run_server

    local = build_local_host(data_dir)
    _require_policy(local.settings)
    console.print(f"Papyr dashboard on http://{host}:{port}/  (data in {local.settings.data_dir})")
    run_server(local, host=host, port=port)


def _require_policy(settings: Any) -> None:
    """Stop before any work when the approval policy cannot be read: every invoice would fail at routing."""
    from shared.routing import PolicyError, current_policy

    try:
        current_policy(settings)
    except (PolicyError, ValueError) as error:
        print(f"the approval policy cannot be used:\n{error}", file=sys.stderr)
        raise typer.Exit(2) from None


@app.command()
def approve(
    invoice_id: Annotated[str, typer.Argument(help="Invoice id (or a unique prefix).")],
    by: Annotated[str, typer.Option("--by", help="The approver who decides (the level's approver).")],
    approve_: Annotated[bool, typer.Option("--approve/--reject", help="Approve or reject.")] = True,
    comment: Annotated[str | None, typer.Option(help="Comment for the audit trail.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Approve or reject an invoice that awaits approval, through the approval API and its checks.

    A local operator tool: it holds the data dir's secret key, so it signs a single-use action token
    for ``--by`` (this decision, the open level only) and sends it like a Teams card would."""
    from datetime import timedelta

    from papyr.host import build_local_host
    from shared.api.approvals import next_level, post_approval
    from shared.api.http import ApiContext, ApiRequest
    from shared.approvals.tokens import ActionTokens, Decision

    host = build_local_host(data_dir)
    record = _find(host, invoice_id)
    decision: Decision = "approved" if approve_ else "rejected"
    token = ActionTokens.from_settings(host.settings).mint(
        invoice_id=record.id, level=next_level(record), approver=by, valid_for=timedelta(minutes=10), scope=[decision])
    body = {"decision": decision, "comment": comment, "token": token}
    request = ApiRequest(
        method="POST",
        path_params={"invoice_id": record.id},
        headers={"content-type": "application/json"},
        body=json.dumps(body).encode(),
    )
    response = asyncio.run(post_approval(request, ApiContext(orchestration=host.client)))
    if response.status >= 400:
        console.print(f"[red]{json.loads(response.body).get('error')}[/red]")
        raise typer.Exit(1)
    host.engine.run_until_idle()
    record = _find(host, record.id)
    out.print(f"{record.id[:12]}  {record.status.value}  {record.reason or ''}")


def _find(host: Any, prefix: str) -> Any:
    record = host.services.repo.get_invoice(prefix)
    if record is not None:
        return record
    matches = [r for r in host.services.repo.list_invoices(limit=100000) if r.id.startswith(prefix)]
    if len(matches) != 1:
        console.print(f"[red]{'no' if not matches else 'more than one'} invoice matches {prefix!r}[/red]")
        raise typer.Exit(1)
    return matches[0]


@app.command()
def status(
    invoice_id: Annotated[str | None, typer.Argument(help="Show one invoice in full.")] = None,
    json_output: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """List invoices and their status, or show one with its findings and audit trail (in time order)."""
    from papyr.host import build_local_host
    from shared.domain import in_time_order

    host = build_local_host(data_dir)
    if invoice_id:
        record = _find(host, invoice_id)
        trail = in_time_order(host.services.repo.audit_trail(record.id))
        if json_output:
            print(json.dumps({"invoice": record.model_dump(mode="json"),
                              "audit": [a.model_dump(mode="json") for a in trail]}))
            return
        out.print(_summary(record.document.mail.source_path or record.document.filename, record))
        for finding in record.findings:
            out.print(f"  [{finding.severity.value}] {finding.code}: {finding.message}")
        for entry in trail:
            out.print(f"  {entry.at:%Y-%m-%d %H:%M:%S}  {entry.actor:<20} {entry.action}")
        return
    records = host.services.repo.list_invoices(limit=100000)
    table = Table(title=f"{len(records)} documents")
    for column in ("id", "file", "status", "vendor", "total", "risk", "reason"):
        table.add_column(column, overflow="fold")
    for record in records:
        line = _summary(record.document.filename, record)
        if json_output:
            print(json.dumps(line, default=str))
        else:
            table.add_row(record.id[:12], record.document.filename, line["status"], line["vendor"] or "",
                          f"{line['total'] or ''} {line['currency'] or ''}".strip(), f"{record.risk_score:.2f}",
                          line["reason"] or "")
    if not json_output:
        out.print(table)


@vendors_app.command("import")
def vendors_import(
    file: Annotated[
        Path, typer.Argument(help="CSV with columns name, vat_id, iban, email_domains[, country, cost_centre].")
    ],
    data_dir: DataDir = None,
) -> None:
    """Import the vendor master (email_domains separated by ';' or spaces)."""
    from papyr.host import build_local_host
    from shared.domain import Vendor

    host = build_local_host(data_dir)
    count = 0
    with file.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            if not row.get("name"):
                console.print(f"[yellow]skipped a row without a name: {row}[/yellow]")
                continue
            vendor = Vendor(
                name=row["name"],
                vat_id=row.get("vat_id") or None,
                iban=(row.get("iban") or "").replace(" ", "").upper() or None,
                email_domains=[d.lower() for d in row.get("email_domains", "").replace(";", " ").split() if d],
                country=row.get("country") or None,
                cost_centre=row.get("cost_centre") or None,
            )
            host.services.repo.upsert_vendor(vendor)
            count += 1
    out.print(f"imported {count} vendors")


@po_app.command("import")
def po_import(
    file: Annotated[
        Path, typer.Argument(help="CSV: po_number, vendor, line, description, quantity, unit_price, currency.")
    ],
    data_dir: DataDir = None,
) -> None:
    """Import purchase orders, one row per order line (an order imported again is replaced)."""
    from shared.checks.purchase_orders import import_orders

    _import_rows(file, data_dir, import_orders, "purchase orders")


@gr_app.command("import")
def gr_import(
    file: Annotated[Path, typer.Argument(help="CSV: po_number, line, quantity_received, date.")],
    data_dir: DataDir = None,
) -> None:
    """Import goods receipts, one row per received order line (a row imported again is not counted twice)."""
    from shared.checks.purchase_orders import import_receipts

    _import_rows(file, data_dir, import_receipts, "goods receipt lines")


def _import_rows(file: Path, data_dir: Path | None, importer: Any, what: str) -> None:
    from papyr.host import build_local_host

    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file}")
    host = build_local_host(data_dir)
    with file.open(newline="", encoding="utf-8-sig") as handle:
        result = importer(csv.DictReader(handle), host.services.repo)
    for error in result.errors:
        console.print(f"[yellow]skipped {error}[/yellow]")
    out.print(f"imported {result.imported} {what}" + (f", skipped {len(result.errors)} rows" if result.errors else ""))
    if result.errors and not result.imported:
        raise typer.Exit(1)


from papyr.mailbox_cli import mailbox_app  # noqa: E402  (issue 4)

app.add_typer(mailbox_app, name="mailbox")

from papyr.deadletter_cli import deadletter_app  # noqa: E402  (issue 7)

app.add_typer(deadletter_app, name="deadletter")

from papyr.policy_cli import policy_app  # noqa: E402  (issue 6)

app.add_typer(policy_app, name="policy")

from papyr.users_cli import users_app  # noqa: E402  (issue 6: dashboard sign-in)

app.add_typer(users_app, name="users")


def main() -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    app()



if __name__ == "__main__":
    main()
