"""`papyr eval DIR`: extract every labelled document in a folder and score it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.evaluation.dataset import find_documents, load_labels
from shared.evaluation.scoring import EvalReport, evaluate
from shared.settings import Settings, get_settings

Predictor = Callable[[Path], dict[str, Any]]


def our_prediction(settings: Settings) -> Predictor:
    """Papyr's own extraction, exactly as `papyr extract --json` prints it."""
    from shared.pipeline import extract_document

    def predict(path: Path) -> dict[str, Any]:
        return extract_document(path.read_bytes(), path.name, None, settings).to_contract(str(path))

    return predict


def evaluate_directory(
    directory: Path,
    *,
    predict: Predictor | None = None,
    on_document: Callable[[int, int], None] | None = None,
) -> tuple[EvalReport, list[dict[str, Any]]]:
    """Score ``predict`` (default: Papyr's extraction) on every labelled document in ``directory``;
    returns the report and the prediction lines. Time covers extraction only, not scoring."""
    predict = predict or our_prediction(get_settings())
    labels = load_labels(directory)
    documents = find_documents(directory)
    lines: list[dict[str, Any]] = []
    started = time.perf_counter()
    for index, path in enumerate(documents, start=1):
        lines.append(predict(path))
        if on_document:
            on_document(index, len(documents))
    seconds = time.perf_counter() - started
    pairs = [(path.name, labels[path.stem], line) for path, line in zip(documents, lines, strict=True)]
    return evaluate(pairs, set_name=directory.name, seconds=seconds), lines
