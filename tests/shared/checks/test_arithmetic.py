from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from shared.checks.arithmetic import check_arithmetic, lines_tolerance
from shared.domain import DocumentType, ExtractedField, Extraction, LineItem, Provenance, Severity, Source


def extraction(method: Source = Source.TEXT, lines: list[str] | None = None, **values: str) -> Extraction:
    fields = {
        name: ExtractedField(
            value=value, confidence=0.9, provenance=Provenance(source=method, page=1, bbox=(400.0, 700.0, 480.0, 712.0))
        )
        for name, value in values.items()
    }
    items = [LineItem(description=f"line {i}", amount=Decimal(a)) for i, a in enumerate(lines or [])]
    return Extraction(fields=fields, line_items=items, method=method)


def from_label(path: Path) -> Extraction:
    label = json.loads(path.read_text(encoding="utf-8"))
    fields = {
        name: ExtractedField(value=value, confidence=1.0, provenance=Provenance(source=Source.XML))
        for name, value in label.items()
        if isinstance(value, str) and name != "document_type"
    }
    items = [
        LineItem(description=line.get("description"), amount=Decimal(line["amount"]) if "amount" in line else None)
        for line in label.get("line_items", [])
    ]
    return Extraction(
        fields=fields, line_items=items, method=Source.XML, document_type=DocumentType(label["document_type"])
    )


def codes(found: list) -> list[str]:
    return [f.code for f in found]


def test_consistent_invoice_has_no_findings() -> None:
    ok = extraction(subtotal="100.00", tax="19.00", total="119.00", amount_due="119.00", lines=["60.00", "40.00"])
    assert check_arithmetic(ok) == []


def test_wrong_total_is_high_with_values_and_provenance() -> None:
    wrong = extraction(subtotal="100.00", tax="19.00", total="191.00")
    [finding] = check_arithmetic(wrong)
    assert finding.code == "arithmetic.total_mismatch"
    assert finding.severity is Severity.HIGH
    assert "191.00" in finding.message and "119.00" in finding.message
    assert finding.evidence["expected_total"] == "119.00"
    assert finding.evidence["difference"] == "72.00"
    assert finding.evidence["total"]["page"] == 1
    assert finding.evidence["total"]["bbox"] == [400.0, 700.0, 480.0, 712.0]
    assert finding.evidence["subtotal"]["source"] == "text"


def test_one_cent_rounding_is_tolerated_two_cents_is_not() -> None:
    assert check_arithmetic(extraction(subtotal="100.00", tax="19.00", total="119.01")) == []
    assert codes(check_arithmetic(extraction(subtotal="100.00", tax="19.00", total="119.02"))) == [
        "arithmetic.total_mismatch"
    ]


def test_missing_total_is_medium() -> None:
    [finding] = check_arithmetic(extraction(subtotal="100.00"))
    assert (finding.code, finding.severity) == ("arithmetic.no_total", Severity.MEDIUM)
    assert "no total" in finding.message.lower()


def test_lines_not_adding_up_to_subtotal() -> None:
    found = check_arithmetic(extraction(subtotal="100.00", tax="19.00", total="119.00", lines=["60.00", "30.00"]))
    [finding] = found
    assert finding.code == "arithmetic.lines_mismatch"
    assert finding.severity is Severity.LOW
    assert finding.evidence["line_sum"] == "90.00"
    assert finding.evidence["difference"] == "10.00"
    # The same difference on an e-invoice is a document-level allowance: info only.
    xml = extraction(Source.XML, subtotal="100.00", tax="19.00", total="119.00", lines=["60.00", "30.00"])
    assert [f.severity for f in check_arithmetic(xml)] == [Severity.INFO]


def test_gross_lines_matching_the_total_are_accepted() -> None:
    receipt = extraction(subtotal="100.00", tax="19.00", total="119.00", lines=["59.50", "59.50"])
    assert check_arithmetic(receipt) == []


def test_line_tolerance_grows_half_a_cent_per_line() -> None:
    assert lines_tolerance(1) == Decimal("0.01")
    assert lines_tolerance(10) == Decimal("0.050")
    ten_lines = ["3.33"] * 9 + ["3.35"]  # sums to 33.32
    assert check_arithmetic(extraction(subtotal="33.34", tax="0", total="33.34", lines=ten_lines)) == []


def test_amount_due_above_total() -> None:
    [finding] = check_arithmetic(extraction(subtotal="100.00", tax="19.00", total="119.00", amount_due="219.00"))
    assert (finding.code, finding.severity) == ("arithmetic.amount_due_exceeds_total", Severity.LOW)
    # A part-paid invoice owes less than its total: fine.
    assert check_arithmetic(extraction(subtotal="100.00", tax="19.00", total="119.00", amount_due="69.00")) == []


def test_credit_note_amounts_are_compared_by_magnitude() -> None:
    credit = extraction(subtotal="-100.00", tax="-19.00", total="-119.00", amount_due="-119.00", lines=["-100.00"])
    assert check_arithmetic(credit) == []


def test_labelled_zugferd_invoices_add_up(shared_data: Path) -> None:
    """Real e-invoices (their labelled values) never trip the high-severity total check."""
    labels = sorted((shared_data / "zugferd").glob("*.json"))
    with_total = [label for label in labels if '"total"' in label.read_text(encoding="utf-8")]
    assert len(with_total) > 30
    for label in with_total:
        found = check_arithmetic(from_label(label))
        assert not [f for f in found if f.severity in (Severity.HIGH, Severity.MEDIUM)], (label.name, found)


@pytest.mark.parametrize("value", ["abc", "12,00"])
def test_unparseable_total_counts_as_missing(value: str) -> None:
    assert codes(check_arithmetic(extraction(total=value))) == ["arithmetic.no_total"]
