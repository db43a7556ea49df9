"""The scoring rules of ``../shared/data/LABELS.md``, exactly: per-field comparison, line items paired
by position, and the per-set report (per-field accuracy, macro average, line-item accuracy/precision)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from shared.domain import HEADER_FIELDS

NAME_FIELDS = frozenset({"vendor_name", "buyer_name", "vendor_address"})
REFERENCE_FIELDS = frozenset({"invoice_number", "po_number"})
CODE_FIELDS = frozenset({"iban", "bic", "vendor_vat_id"})
DATE_FIELDS = frozenset({"invoice_date", "due_date"})
AMOUNT_FIELDS = frozenset({"subtotal", "tax", "total", "amount_due"})

NAME_THRESHOLD = 90.0
LINE_DESCRIPTION_THRESHOLD = 85.0
AMOUNT_TOLERANCE = Decimal("0.005")

_PLAIN_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DROPPED = {".", "'", "\u2019", "\u2018", "\u02bc", "`"}  # dots and apostrophes vanish: G.m.b.H. = GmbH


class Miss(BaseModel):
    document: str
    field: str  # a header field, or "line_items[i]"
    expected: Any
    predicted: Any


class DocumentScore(BaseModel):
    document: str = ""
    fields: dict[str, bool] = Field(default_factory=dict)  # labelled field -> correct
    line_items_labelled: int = 0
    line_items_predicted: int = 0
    line_items_correct: int = 0
    misses: list[Miss] = Field(default_factory=list)


class FieldScore(BaseModel):
    correct: int = 0
    labelled: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0


class LineItemScore(BaseModel):
    correct: int = 0
    labelled: int = 0
    predicted: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0


class EvalReport(BaseModel):
    set_name: str = ""
    documents: int = 0
    seconds: float = 0.0
    fields: dict[str, FieldScore] = Field(default_factory=dict)
    line_items: LineItemScore = Field(default_factory=LineItemScore)
    misses: list[Miss] = Field(default_factory=list)

    @property
    def macro_accuracy(self) -> float:
        """Mean of the header-field accuracies, over fields labelled at least once in the set."""
        scored = [score.accuracy for score in self.fields.values() if score.labelled]
        return sum(scored) / len(scored) if scored else 0.0

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0


# --- normalisation -------------------------------------------------------------------------------


def normalize_base(value: str) -> str:
    """Unicode NFKC, casefold, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def normalize_name(value: str) -> str:
    """Base rule, then dots and apostrophes dropped and any other punctuation read as a space."""
    chars = []
    for char in normalize_base(value):
        if char in _DROPPED:
            continue
        chars.append(" " if unicodedata.category(char).startswith("P") else char)
    return " ".join("".join(chars).split())


def normalize_reference(value: str) -> str:
    text = "".join(normalize_base(value).split())
    return text[1:] if text.startswith("#") else text


def normalize_code(value: str) -> str:
    return "".join(value.split()).upper()


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    return None


def as_amount(value: Any) -> Decimal | None:
    """A JSON number or a plain decimal string ("12.00", "-3"); anything else ("€ 12,00") is None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _PLAIN_DECIMAL.match(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def names_match(expected: str, predicted: str, threshold: float = NAME_THRESHOLD) -> bool:
    left, right = normalize_name(expected), normalize_name(predicted)
    if left == right:
        return True
    if not left or not right:
        return False
    return fuzz.token_set_ratio(left, right) >= threshold


def amounts_match(expected: Any, predicted: Any) -> bool:
    left, right = as_amount(expected), as_amount(predicted)
    return left is not None and right is not None and abs(left - right) <= AMOUNT_TOLERANCE


def field_correct(name: str, expected: Any, predicted: Any) -> bool:
    """One field by the rule for its name; a missing or null prediction is wrong."""
    if predicted is None:
        return False
    if name in AMOUNT_FIELDS:
        return amounts_match(expected, predicted)
    want, got = _as_text(expected), _as_text(predicted)
    if want is None or got is None:
        return False
    if name in NAME_FIELDS:
        return names_match(want, got)
    if name in REFERENCE_FIELDS:
        return normalize_reference(want) == normalize_reference(got)
    if name in CODE_FIELDS:
        return normalize_code(want) == normalize_code(got)
    if name in DATE_FIELDS:
        return bool(_ISO_DATE.match(got.strip())) and got.strip() == want.strip()
    return normalize_base(want) == normalize_base(got)


def line_correct(expected: Mapping[str, Any], predicted: Mapping[str, Any] | None) -> bool:
    """A labelled line: its paired prediction's description and amount, each checked where labelled."""
    if predicted is None:
        return False
    if "description" in expected:
        want, got = _as_text(expected["description"]), _as_text(predicted.get("description"))
        if want is None or got is None or not names_match(want, got, LINE_DESCRIPTION_THRESHOLD):
            return False
    return "amount" not in expected or amounts_match(expected["amount"], predicted.get("amount"))


# --- documents and sets --------------------------------------------------------------------------


def score_document(label: Mapping[str, Any], prediction: Mapping[str, Any] | None, document: str = "") -> DocumentScore:
    """Score one document. ``prediction`` is a `papyr extract --json` object (or None: all wrong)."""
    predicted_fields: Mapping[str, Any] = (prediction or {}).get("fields") or {}
    score = DocumentScore(document=document)
    for name, expected in label.items():
        if name == "line_items":
            continue
        got = predicted_fields.get(name)
        if name == "document_type" and got is None and prediction is not None:
            got = prediction.get("document_type")
        correct = field_correct(name, expected, got)
        score.fields[name] = correct
        if not correct:
            score.misses.append(Miss(document=document, field=name, expected=expected, predicted=got))
    if "line_items" in label:
        _score_lines(label["line_items"] or [], (prediction or {}).get("line_items") or [], score)
    return score


def _score_lines(expected: list[Mapping[str, Any]], predicted: list[Any], score: DocumentScore) -> None:
    score.line_items_labelled = len(expected)
    score.line_items_predicted = len(predicted)
    for index, want in enumerate(expected):
        got = predicted[index] if index < len(predicted) and isinstance(predicted[index], Mapping) else None
        if line_correct(want, got):
            score.line_items_correct += 1
        else:
            score.misses.append(
                Miss(document=score.document, field=f"line_items[{index}]", expected=dict(want), predicted=got)
            )


def evaluate(
    pairs: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any] | None]],
    *,
    set_name: str = "",
    seconds: float = 0.0,
) -> EvalReport:
    """Score (document name, label, prediction) triples into one set report."""
    return summarize(
        [score_document(label, prediction, name) for name, label, prediction in pairs],
        set_name=set_name,
        seconds=seconds,
    )


def summarize(scores: Iterable[DocumentScore], *, set_name: str = "", seconds: float = 0.0) -> EvalReport:
    report = EvalReport(set_name=set_name, seconds=seconds)
    for score in scores:
        report.documents += 1
        for name, correct in score.fields.items():
            field = report.fields.setdefault(name, FieldScore())
            field.labelled += 1
            field.correct += int(correct)
        report.line_items.labelled += score.line_items_labelled
        report.line_items.predicted += score.line_items_predicted
        report.line_items.correct += score.line_items_correct
        report.misses.extend(score.misses)
    order = {name: index for index, name in enumerate(HEADER_FIELDS)}
    report.fields = dict(sorted(report.fields.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))
    return report
