"""Accuracy evaluation by the rules of ``../shared/data/LABELS.md`` (`papyr eval`)."""

from shared.evaluation.dataset import find_documents, load_labels, load_predictions
from shared.evaluation.report import report_table, report_to_json
from shared.evaluation.scoring import (
    DocumentScore,
    EvalReport,
    FieldScore,
    LineItemScore,
    Miss,
    evaluate,
    field_correct,
    line_correct,
    score_document,
    summarize,
)

__all__ = [
    "DocumentScore",
    "EvalReport",
    "FieldScore",
    "LineItemScore",
    "Miss",
    "evaluate",
    "field_correct",
    "find_documents",
    "line_correct",
    "load_labels",
    "load_predictions",
    "report_table",
    "report_to_json",
    "score_document",
    "summarize",
]
