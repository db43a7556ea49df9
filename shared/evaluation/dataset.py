"""Labelled sets on disk: each document `<stem>.<ext>` sits beside its label `<stem>.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_NOT_DOCUMENTS = {".json", ".md"}


def find_documents(directory: Path | str) -> list[Path]:
    """Every non-.json, non-.md file in ``directory`` that has a same-stem .json label beside it."""
    folder = Path(directory)
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and path.suffix.lower() not in _NOT_DOCUMENTS
        and not path.name.startswith(".")
        and path.with_suffix(".json").is_file()
    )


def load_labels(directory: Path | str) -> dict[str, dict[str, Any]]:
    """Labels by document stem, for the documents that ``find_documents`` finds."""
    labels: dict[str, dict[str, Any]] = {}
    for document in find_documents(directory):
        label = json.loads(document.with_suffix(".json").read_text(encoding="utf-8"))
        if isinstance(label, dict):
            labels[document.stem] = label
    return labels


def load_predictions(path: Path | str) -> dict[str, dict[str, Any]]:
    """A JSON Lines prediction file, keyed by the stem of each line's "file"."""
    predictions: dict[str, dict[str, Any]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if isinstance(record, dict) and record.get("file"):
            predictions[Path(str(record["file"])).stem] = record
    return predictions
