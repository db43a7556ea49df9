"""Purchase orders and goods receipts: CSV import, 2-way and 3-way match with tolerances."""

from __future__ import annotations

import csv
import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from shared.adapters.local.sqlite import SqliteRepository
from shared.checks import run_checks
from shared.checks.policy import CheckPolicy
from shared.checks.purchase_orders import get_order, get_receipts, import_orders, import_receipts
from shared.domain import Extraction, Finding, InvoiceRecord, LineItem, Severity, Source, Vendor
from tests.factories import document, fields

SAMPLES = Path(__file__).resolve().parents[3] / "samples"


def rows(text: str) -> list[dict[str | None, str | None]]:
    return list(csv.DictReader(text.strip().splitlines()))


def bill(
    name: str,
    lines: list[tuple[str, str, str]],
    *,
    po: str = "PO-2024-0042",
    net: str | None = None,
    vendor: str = "Lieferant GmbH",
) -> InvoiceRecord:
    items = [
        LineItem(description=d, quantity=Decimal(q), unit_price=Decimal(p), amount=Decimal(q) * Decimal(p))
        for d, q, p in lines
    ]
    subtotal = net or str(sum((item.amount for item in items if item.amount is not None), Decimal(0)))
    values = {
        "vendor_name": vendor,
        "invoice_number": name,
        "currency": "EUR",
        "subtotal": subtotal,
        "total": subtotal,
        "po_number": po,
    }
    sha = hashlib.sha256(name.encode()).hexdigest()
    return InvoiceRecord(
        id=sha,
        document=document(sha, filename=name),
        extraction=Extraction(fields=fields(values), line_items=items, method=Source.XML),
    )


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    repository = SqliteRepository(tmp_path / "papyr.sqlite3")
    repository.upsert_vendor(Vendor(name="Lieferant GmbH", country="DE"))
    with (SAMPLES / "purchase_orders.csv").open(encoding="utf-8") as handle:
        assert import_orders(csv.DictReader(handle), repository).imported == 2
    return repository


def po_findings(repo: SqliteRepository, record: InvoiceRecord, **policy: Decimal) -> dict[str, Severity]:
    repo.save_invoice(record)
    found: list[Finding] = run_checks(record, repo=repo, policy=CheckPolicy(**policy))
    return {f.code: f.severity for f in found if f.code.startswith("po.")}


def test_import_groups_lines_and_is_idempotent(repo: SqliteRepository) -> None:
    order = get_order(repo, "po 2024 42")  # formatting-insensitive key
    assert order is not None and [line.line for line in order.lines] == [1, 2]
    assert order.total == Decimal("473.00")
    with (SAMPLES / "goods_receipts.csv").open(encoding="utf-8") as handle:
        assert import_receipts(csv.DictReader(handle), repo).imported == 2
    with (SAMPLES / "goods_receipts.csv").open(encoding="utf-8") as handle:
        assert import_receipts(csv.DictReader(handle), repo).imported == 0
    receipts = get_receipts(repo, "PO-2024-0042")
    assert receipts is not None and receipts.received(2) == Decimal(40)


def test_bad_rows_are_reported_not_dropped(repo: SqliteRepository) -> None:
    result = import_orders(rows("po_number,vendor,line,quantity,unit_price\n,X,1,1,1\nP1,X,1,many,1\nP2,X,1,2,3"), repo)
    assert result.imported == 1
    assert result.errors == ["row 2: no po_number", "row 3: quantity 'many' is not a number"]


def test_an_invoice_matching_its_order_and_receipts_is_clean(repo: SqliteRepository) -> None:
    import_receipts(
        rows("po_number,line,quantity_received,date\nPO-2024-0042,1,20,2024-03-01\nPO-2024-0042,2,50,2024-03-01"), repo
    )
    clean = bill("R1", [("Trennblätter A4", "20", "9.90"), ("Joghurt Banane", "50", "5.50")])
    assert po_findings(repo, clean) == {}
    assert po_findings(repo, clean) == {}  # re-checking the same invoice does not bill it twice


def test_price_above_tolerance(repo: SqliteRepository) -> None:
    within = bill("R1", [("Trennblätter A4", "20", "10.05")])  # +1.5 %
    assert "po.price_variance" not in po_findings(repo, within)
    above = bill("R2", [("Joghurt Banane", "10", "5.80")])  # +5.5 %
    assert po_findings(repo, above)["po.price_variance"] is Severity.MEDIUM
    far = bill("R3", [("Joghurt Banane", "10", "7.00")])
    assert po_findings(repo, far)["po.price_variance"] is Severity.HIGH


def test_quantity_above_order_and_over_billing_across_invoices(repo: SqliteRepository) -> None:
    assert po_findings(repo, bill("R1", [("Trennblätter A4", "25", "9.90")]))["po.quantity_variance"] is Severity.HIGH
    assert "po.over_billed" not in po_findings(repo, bill("R2", [("Joghurt Banane", "30", "5.50")]))
    assert po_findings(repo, bill("R3", [("Joghurt Banane", "30", "5.50")]))["po.over_billed"] is Severity.HIGH


def test_three_way_not_received(repo: SqliteRepository) -> None:
    record = bill("R1", [("Joghurt Banane", "50", "5.50")])
    assert po_findings(repo, record) == {"po.not_received": Severity.LOW}  # no receipt recorded yet
    import_receipts(rows("po_number,line,quantity_received,date\nPO-2024-0042,2,40,2024-03-01"), repo)
    assert po_findings(repo, record) == {"po.not_received": Severity.MEDIUM}
    assert po_findings(repo, record, po_quantity_tolerance=Decimal(10)) == {}


def test_unknown_order_other_vendor_and_unmatched_line(repo: SqliteRepository) -> None:
    assert po_findings(repo, bill("R1", [("Joghurt Banane", "1", "5.50")], po="PO-9"))["po.unmatched"] is Severity.LOW
    other = bill("R2", [("Small Business QualityExchange 2010", "1", "5.39")], po="PO-2024-0043")
    assert "po.unmatched" in po_findings(repo, other)
    stray = bill("R3", [("Trennblätter A4", "1", "9.90"), ("Kaffeemaschine", "1", "99.00")])
    assert "po.unmatched" in po_findings(repo, stray)


def test_without_usable_lines_the_amount_is_compared(repo: SqliteRepository) -> None:
    assert po_findings(repo, bill("R1", [], net="400.00")) == {}
    assert po_findings(repo, bill("R2", [], net="100.00"))["po.over_billed"] is Severity.HIGH


def test_no_orders_imported_means_no_matching(tmp_path: Path) -> None:
    repository = SqliteRepository(tmp_path / "empty.sqlite3")
    assert po_findings(repository, bill("R1", [("Joghurt Banane", "500", "50")])) == {}
