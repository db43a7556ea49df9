"""An EvalReport as stable JSON (`papyr eval --json`) and as a rich table."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from shared.evaluation.scoring import EvalReport


def report_to_json(report: EvalReport) -> dict[str, Any]:
    """Stable keys: set, documents, seconds, docs_per_second, macro_accuracy, fields, line_items, misses."""
    return {
        "set": report.set_name,
        "documents": report.documents,
        "seconds": round(report.seconds, 3),
        "docs_per_second": round(report.docs_per_second, 3),
        "macro_accuracy": round(report.macro_accuracy, 4),
        "fields": {
            name: {"correct": s.correct, "labelled": s.labelled, "accuracy": round(s.accuracy, 4)}
            for name, s in report.fields.items()
        },
        "line_items": {
            "correct": report.line_items.correct,
            "labelled": report.line_items.labelled,
            "predicted": report.line_items.predicted,
            "accuracy": round(report.line_items.accuracy, 4),
            "precision": round(report.line_items.precision, 4),
        },
        "misses": [miss.model_dump(mode="json") for miss in report.misses],
    }


def report_table(report: EvalReport) -> Table:
    """Per-field accuracy, the macro average, line items and throughput."""
    title = f"{report.set_name or 'evaluation'}: {report.documents} documents"
    table = Table(title=title, caption=f"{report.docs_per_second:.2f} documents/s ({report.seconds:.1f} s)")
    table.add_column("field")
    table.add_column("correct", justify="right")
    table.add_column("labelled", justify="right")
    table.add_column("accuracy", justify="right")
    for name, score in report.fields.items():
        table.add_row(name, str(score.correct), str(score.labelled), f"{score.accuracy:.3f}")
    table.add_section()
    table.add_row("[bold]macro average[/bold]", "", "", f"[bold]{report.macro_accuracy:.3f}[/bold]")
    lines = report.line_items
    table.add_row("line items (accuracy)", str(lines.correct), str(lines.labelled), f"{lines.accuracy:.3f}")
    predicted = f"{lines.predicted} predicted"
    table.add_row("line items (precision)", str(lines.correct), predicted, f"{lines.precision:.3f}")
    return table
