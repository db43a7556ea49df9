"""Purchase orders and goods receipts: a small typed store on the repository's keyed items.

* ``purchase_order`` items, keyed by the normalised PO number (``invoice_number_key``: ``PO-0042`` and
  ``po 42`` are one order), hold the ordered lines and what invoices have billed against each line
  (by invoice id, so re-checking an invoice replaces its own billing instead of adding to it).
* ``goods_receipt`` items, same key, hold each receipt line once (po line, date, quantity).

CSV import (``papyr po import`` / ``papyr gr import``), one row per line, header names case-insensitive:

* purchase orders: ``po_number, vendor, line, description, quantity, unit_price, currency``
* goods receipts: ``po_number, line, quantity_received, date`` (ISO date)

Importing a file again replaces the orders' lines (billing is kept) and adds no receipt twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, Field

from shared.domain.keys import invoice_number_key
from shared.ports import Repository

PO_KIND = "purchase_order"
RECEIPT_KIND = "goods_receipt"
IN_USE_KIND = "purchase_orders_in_use"  # one marker item: PO matching applies once orders were imported


class OrderLine(BaseModel):
    line: int
    description: str | None = None
    quantity: Decimal
    unit_price: Decimal


class PurchaseOrder(BaseModel):
    po_number: str
    vendor: str
    currency: str | None = None
    lines: list[OrderLine] = Field(default_factory=list)
    # invoice id -> {po line (as text) -> quantity billed}; "amount" when billed without line detail
    billed: dict[str, dict[str, Decimal]] = Field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum((line.quantity * line.unit_price for line in self.lines), Decimal(0))

    def line(self, number: int) -> OrderLine | None:
        return next((line for line in self.lines if line.line == number), None)


class ReceiptLine(BaseModel):
    line: int
    quantity: Decimal
    received_on: date | None = None


class GoodsReceipts(BaseModel):
    po_number: str
    lines: list[ReceiptLine] = Field(default_factory=list)

    def received(self, line: int) -> Decimal:
        return sum((r.quantity for r in self.lines if r.line == line), Decimal(0))


def po_key(po_number: str | None) -> str:
    return invoice_number_key(po_number)


def get_order(repo: Repository, po_number: str | None) -> PurchaseOrder | None:
    key = po_key(po_number)
    data = repo.get_item(PO_KIND, key) if key else None
    return PurchaseOrder.model_validate(data) if data else None


def save_order(repo: Repository, order: PurchaseOrder) -> None:
    repo.put_item(PO_KIND, po_key(order.po_number), order.model_dump(mode="json"))


def get_receipts(repo: Repository, po_number: str) -> GoodsReceipts | None:
    data = repo.get_item(RECEIPT_KIND, po_key(po_number))
    return GoodsReceipts.model_validate(data) if data else None


def orders_in_use(repo: Repository) -> bool:
    return repo.get_item(IN_USE_KIND, "orders") is not None


class ImportResult(BaseModel):
    imported: int = 0  # orders (or receipt lines) written
    errors: list[str] = Field(default_factory=list)  # "row N: why", one per skipped row


def _clean(row: Mapping[str | None, str | None]) -> dict[str, str]:
    return {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} {text!r} must be zero or more")
    return value


def import_orders(rows: Iterable[Mapping[str | None, str | None]], repo: Repository) -> ImportResult:
    result = ImportResult()
    orders: dict[str, PurchaseOrder] = {}
    for number, raw in enumerate(rows, start=2):  # row 1 is the header
        row = _clean(raw)
        try:
            if not row.get("po_number") or not po_key(row["po_number"]):
                raise ValueError("no po_number")
            if not row.get("vendor"):
                raise ValueError("no vendor")
            line = OrderLine(
                line=int(row.get("line") or 0),
                description=row.get("description") or None,
                quantity=_decimal(row.get("quantity", ""), "quantity"),
                unit_price=_decimal(row.get("unit_price", ""), "unit_price"),
            )
        except ValueError as error:
            result.errors.append(f"row {number}: {error}")
            continue
        key = po_key(row["po_number"])
        order = orders.setdefault(
            key,
            PurchaseOrder(po_number=row["po_number"], vendor=row["vendor"], currency=(row.get("currency") or None)),
        )
        if line.line == 0:
            line = line.model_copy(update={"line": len(order.lines) + 1})
        order.lines = [existing for existing in order.lines if existing.line != line.line] + [line]
    for order in orders.values():
        earlier = get_order(repo, order.po_number)
        if earlier is not None:
            order.billed = earlier.billed
        order.lines.sort(key=lambda line: line.line)
        save_order(repo, order)
        result.imported += 1
    if orders:
        repo.put_item(IN_USE_KIND, "orders", {"in_use": True})
    return result


def import_receipts(rows: Iterable[Mapping[str | None, str | None]], repo: Repository) -> ImportResult:
    result = ImportResult()
    for number, raw in enumerate(rows, start=2):
        row = _clean(raw)
        try:
            if not po_key(row.get("po_number")):
                raise ValueError("no po_number")
            if not row.get("line"):
                raise ValueError("no line")
            received = ReceiptLine(
                line=int(row["line"]),
                quantity=_decimal(row.get("quantity_received", ""), "quantity_received"),
                received_on=date.fromisoformat(row["date"]) if row.get("date") else None,
            )
        except ValueError as error:
            result.errors.append(f"row {number}: {error}")
            continue
        receipts = get_receipts(repo, row["po_number"]) or GoodsReceipts(po_number=row["po_number"])
        if received not in receipts.lines:
            receipts.lines.append(received)
            repo.put_item(RECEIPT_KIND, po_key(row["po_number"]), receipts.model_dump(mode="json"))
            result.imported += 1
    return result
