"""The LABELS.md scoring rules, one hand-made label/prediction pair per rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.evaluation import (
    evaluate,
    field_correct,
    find_documents,
    load_labels,
    load_predictions,
    report_table,
    report_to_json,
    score_document,
)


@pytest.mark.parametrize(
    ("field", "expected", "predicted", "correct"),
    [
        # base rule: NFKC, casefold, whitespace collapsed
        ("currency", "EUR", "eur", True),
        ("document_type", "credit_note", " Credit_Note ", True),
        ("currency", "EUR", "USD", False),
        ("vendor_address", "Straße 1  Berlin", "STRASSE 1 Berlin", True),  # casefold ß -> ss
        ("buyer_name", "ＡＣＭＥ Ltd", "ACME Ltd", True),  # NFKC full-width letters
        # names: dots/apostrophes dropped, other punctuation a space, token_set_ratio >= 90
        ("vendor_name", "Lieferant GmbH", "Lieferant G.m.b.H.", True),
        ("vendor_name", "Acme B.V.", "ACME BV", True),
        ("vendor_name", "Nougat de l'Abbaye", "Nougat de lAbbaye", True),
        ("vendor_name", "Grundbesitz GmbH & Co.", "Grundbesitz GmbH Co", True),
        ("vendor_name", "Muster-Autovermietung", "Muster Autovermietung", True),
        ("vendor_name", "Lieferant GmbH", "Kunden AG Mitte", False),
        ("vendor_name", "Lieferant GmbH", "", False),
        # invoice / PO numbers: spaces and one leading '#' removed
        ("invoice_number", "INV 001", "# INV001", True),
        ("invoice_number", "INV-001", "#INV-001", True),
        ("invoice_number", "INV-001", "##INV-001", False),
        ("po_number", "PO 445", "po445", True),
        ("invoice_number", "12345", 12345, True),  # JSON numbers are read as their text
        # codes: spaces removed, upper-cased
        ("iban", "DE88200800000970375700", "de88 2008 0000 0970 3757 00", True),
        ("bic", "COBADEFFXXX", "COBADEFF XXX", True),
        ("vendor_vat_id", "DE123456789", "DE 123 456 789", True),
        ("iban", "DE88200800000970375700", "DE88200800000970375701", False),
        # dates: exactly ISO
        ("invoice_date", "2018-03-05", "2018-03-05", True),
        ("invoice_date", "2018-03-05", "05.03.2018", False),
        ("due_date", "2018-03-05", "2018-3-5", False),
        # money: number or plain decimal string within 0.005
        ("total", "12.00", "12", True),
        ("total", "12.00", 12.004, True),
        ("total", "12.00", "12.004", True),
        ("total", "12.00", "12.01", False),
        ("total", "12.00", "€ 12,00", False),
        ("total", "12.00", "12,00", False),
        ("total", "1234.50", "1,234.50", False),
        ("total", "-8.79", "-8.79", True),
        ("total", "-8.79", "8.79", False),
        ("subtotal", "0.00", 0, True),
        # missing / null prediction
        ("total", "12.00", None, False),
        ("vendor_name", "Acme", None, False),
    ],
)
def test_field_rules(field: str, expected: str, predicted: object, correct: bool) -> None:
    assert field_correct(field, expected, predicted) is correct


def test_a_document_without_prediction_gets_every_labelled_field_wrong() -> None:
    label = {"vendor_name": "Acme", "total": "1.00", "line_items": [{"description": "x", "amount": "1.00"}]}
    score = score_document(label, None, "doc")
    assert score.fields == {"vendor_name": False, "total": False}
    assert (score.line_items_labelled, score.line_items_correct, score.line_items_predicted) == (1, 0, 0)
    assert {miss.field for miss in score.misses} == {"vendor_name", "total", "line_items[0]"}


def test_predicted_fields_the_label_lacks_are_ignored() -> None:
    score = score_document({"total": "5.00"}, {"fields": {"total": "5.00", "iban": "XX"}})
    assert score.fields == {"total": True}


def test_line_items_are_paired_by_position() -> None:
    label = {
        "line_items": [
            {"description": "Trennblätter A4", "quantity": "20", "amount": "198.00"},
            {"description": "Joghurt Banane", "amount": "275.00"},
            {"amount": "10.00"},  # only the amount is labelled: only the amount is checked
        ]
    }
    prediction = {
        "fields": {},
        "line_items": [
            {"description": "Trennblatter A4", "quantity": "999", "amount": "198.004"},  # qty not scored
            {"description": "Joghurt Banane", "amount": "27.50"},  # wrong amount
            {"description": "anything", "amount": 10},
            {"description": "extra line", "amount": "1.00"},
        ],
    }
    score = score_document(label, prediction, "doc")
    assert (score.line_items_correct, score.line_items_labelled, score.line_items_predicted) == (2, 3, 4)
    assert [miss.field for miss in score.misses] == ["line_items[1]"]


def test_swapped_lines_are_both_wrong() -> None:
    label = {"line_items": [{"description": "Apples", "amount": "1.00"}, {"description": "Pears", "amount": "2.00"}]}
    prediction = {
        "line_items": [{"description": "Pears", "amount": "2.00"}, {"description": "Apples", "amount": "1.00"}]
    }
    assert score_document(label, prediction).line_items_correct == 0


def test_line_description_uses_the_looser_threshold() -> None:
    label = {"line_items": [{"description": "Mineralwasser Medium 12 x 1,0l PET"}]}
    close = {"line_items": [{"description": "Mineralwasser Medium 12x1,0l PET"}]}
    assert score_document(label, close).line_items_correct == 1


def test_evaluate_reports_per_field_macro_and_line_items() -> None:
    report = evaluate(
        [
            (
                "a",
                {"vendor_name": "Acme", "total": "10.00", "line_items": [{"amount": "10.00"}]},
                {"fields": {"vendor_name": "ACME", "total": "10.00"}, "line_items": [{"amount": "10.00"}]},
            ),
            (
                "b",
                {"vendor_name": "Beta", "total": "5.00", "iban": "DE02120300000000202051"},
                {"fields": {"vendor_name": "Gamma", "total": "5.00"}, "line_items": [{"amount": "1"}]},
            ),
            ("c", {"vendor_name": "Gamma"}, None),
        ],
        set_name="hand",
        seconds=2.0,
    )
    assert report.documents == 3
    assert report.fields["vendor_name"].correct == 1 and report.fields["vendor_name"].labelled == 3
    assert report.fields["total"].accuracy == 1.0
    assert report.fields["iban"].accuracy == 0.0
    # macro: every field labelled at least once counts equally: (1/3 + 1 + 0) / 3
    assert report.macro_accuracy == pytest.approx((1 / 3 + 1 + 0) / 3)
    # doc b has no line_items label: its predicted line is ignored
    assert (report.line_items.correct, report.line_items.labelled, report.line_items.predicted) == (1, 1, 1)
    assert report.docs_per_second == pytest.approx(1.5)

    data = report_to_json(report)
    assert set(data) == {
        "set",
        "documents",
        "seconds",
        "docs_per_second",
        "macro_accuracy",
        "fields",
        "line_items",
        "misses",
    }
    assert data["fields"]["vendor_name"] == {"correct": 1, "labelled": 3, "accuracy": 0.3333}
    assert data["line_items"] == {"correct": 1, "labelled": 1, "predicted": 1, "accuracy": 1.0, "precision": 1.0}
    assert {"document": "b", "field": "iban", "expected": "DE02120300000000202051", "predicted": None} in data["misses"]
    json.dumps(data)  # serialisable as it stands
    assert report_table(report).row_count == len(report.fields) + 3


def test_documents_and_labels_on_disk(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "a.json").write_text(json.dumps({"total": "1.00"}))
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff")
    (tmp_path / "b.json").write_text(json.dumps({"total": "2.00"}))
    (tmp_path / "unlabelled.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "README.json").write_text("{}")
    assert [p.name for p in find_documents(tmp_path)] == ["a.pdf", "b.jpg"]
    assert load_labels(tmp_path) == {"a": {"total": "1.00"}, "b": {"total": "2.00"}}

    predictions = tmp_path / "pred.jsonl"
    predictions.write_text('{"file": "x/a.pdf", "fields": {"total": 1}}\n\n{"file": "b.jpg", "fields": {}}\n')
    assert load_predictions(predictions)["a"]["fields"] == {"total": 1}


def test_the_real_zugferd_labels_load(shared_data: Path) -> None:
    labels = load_labels(shared_data / "zugferd")
    assert len(labels) == 42
    assert all("invoice_number" in label for label in labels.values())
