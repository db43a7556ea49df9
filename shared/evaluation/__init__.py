"""Accuracy evaluation by the rules of ``../shared/data/LABELS.md`` (`papyr eval`)."""

from shared.evaluation.dataset import find_documents, load_labels, load_predictions
from shared.evaluation.report import report_table, report_to_json
from shared.evaluation.run import evaluate_directory, our_prediction
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
    "evaluate_directory",
    "field_correct",
    "find_documents",
    "line_correct",
    "load_labels",
    "load_predictions",
    "our_prediction",
    "report_table",
    "report_to_json",
    "score_document",
    "summarize",
]
