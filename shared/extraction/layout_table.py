"""Line items from table structure: find a header row (Description / Qty / Unit price / Amount in
six languages), take its columns' x positions, then read the rows under it; a line without an
amount continues the description of the row above (multi-line descriptions)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from shared.domain.models import LineItem, Provenance, Source
from shared.extraction.layout_labels import LabelMatch
from shared.extraction.layout_lines import TextLine
from shared.extraction.layout_values import amounts_in
from shared.extraction.normalize import parse_amount

# Column header words (folded). "code" columns (article numbers) and "other" ones (VAT %, discount)
# are recognised so their numbers are not mistaken for quantities or prices.
_COLUMNS: list[tuple[str, str]] = [
    (
        "amount",
        r"prijs\sincl\.?\sbtw|line\stotal|total\sprice|gesamtpreis|zeilenbetrag|nettobetrag|nettowert|montant(?:\s(?:eur\s)?ht)?|amount|betrag|bedrag|importe|importo|total|totaal|summe|gesamt|subtotal",
    ),
    (
        "unit_price",
        r"unit\s?price|unit\scost|price\sper\sunit|prix\sunitaire|prix\su\.?|p\.u\.?(?:\sht)?|einzelpreis|e-preis|vk-preis|nettopreis|stuckpreis|prijs\sper\sstuk|stukprijs|precio(?:\sunitario)?|prezzo(?:\sunitario)?|price|rate|preis|prix|prijs|tarif",
    ),
    (
        "quantity",
        r"qty|quantity|quantite|qte|menge|anzahl|aantal|hoeveelheid|cantidad|cant\.|quantita|qta|nombre|units|hours|stunden",
    ),
    (
        "description",
        r"description|beschreibung|bezeichnung|artikelbezeichnung|leistung|designation|libelle|omschrijving|descripcion|concepto|descrizione|product\stitle",
    ),
    ("code", r"article|artikel|item|product|produkt|produit|articolo|articulo|art-?nr\.?"),
    ("position", r"pos\.?|position|#|no\.|nr\."),
    (
        "other",
        r"vat|tax(?:\(%\))?|mwst(?:-%)?|ust|tva|btw|iva|disc\.?%?|discount|rabatt|remise|korting|sconto|descuento|%|taxes|steuersatz|unit|vke/geb",
    ),
]
_COLUMN_RES = [(kind, re.compile(r"(?<![a-z0-9])(?:" + pattern + r")(?![a-z])")) for kind, pattern in _COLUMNS]


@dataclass
class Column:
    kind: str
    x0: float
    x1: float

    @property
    def center(self) -> float:
        return (self.x0 + self.x1) / 2


def _header_columns(line: TextLine) -> list[Column] | None:
    taken: list[tuple[int, int, str]] = []
    for kind, pattern in _COLUMN_RES:
        for match in pattern.finditer(line.folded):
            if any(match.start() < b and a < match.end() for a, b, _ in taken):
                continue
            taken.append((match.start(), match.end(), kind))
    kinds = {kind for _, _, kind in taken}
    if "amount" not in kinds or not kinds & {"quantity", "unit_price"} or not kinds & {"description", "code"}:
        return None
    # Header text is mostly these words; a sentence that mentions "price" and "total" is not a header.
    covered = sum(b - a for a, b, _ in taken)
    if covered < 0.5 * len(line.text.replace(" ", "").replace("\t", "")):
        return None
    columns = [Column(kind, line.x_at(a), line.x_at(b - 1) + 3) for a, b, kind in sorted(taken)]
    if "description" in kinds:
        columns = [c if c.kind != "code" else Column("position", c.x0, c.x1) for c in columns]
    else:
        columns = [c if c.kind != "code" else Column("description", c.x0, c.x1) for c in columns]
    return columns


def extract_line_items(
    lines_by_page: dict[int, list[TextLine]], labels_by_line: dict[int, list[LabelMatch]]
) -> list[tuple[LineItem, TextLine]]:
    items: list[tuple[LineItem, TextLine]] = []
    for page in sorted(lines_by_page):
        page_lines = lines_by_page[page]
        index = 0
        while index < len(page_lines):
            columns = _header_columns(page_lines[index])
            if columns is None:
                index += 1
                continue
            rows, index = _read_rows(page_lines, index + 1, columns, labels_by_line)
            items.extend(rows)
    return items


def _read_rows(
    page_lines: list[TextLine], start: int, columns: list[Column], labels_by_line: dict[int, list[LabelMatch]]
) -> tuple[list[tuple[LineItem, TextLine]], int]:
    rows: list[tuple[LineItem, TextLine]] = []
    amount_col = max((c for c in columns if c.kind == "amount"), key=lambda c: c.x1)
    desc_cols = [c for c in columns if c.kind == "description"]
    desc_x0 = min((c.x0 for c in desc_cols), default=columns[0].x0) - 8
    numeric_after_desc = [c.x0 for c in columns if c.x0 > desc_x0 + 20 and c.kind != "description"]
    desc_x1 = min(numeric_after_desc, default=amount_col.x0) - 6
    previous: TextLine | None = None
    index = start
    while index < len(page_lines):
        line = page_lines[index]
        gap_limit = 4.0 * line.height if rows else 8.0 * line.height
        if previous is not None and line.top - previous.bottom > gap_limit:
            break
        if _header_columns(line) is not None:
            break
        money_labels = [m for m in labels_by_line[id(line)] if m.fields & {"total", "subtotal", "tax", "amount_due"}]
        hits = [h for h in amounts_in(line, 0, len(line.text)) if line.x_at(h.end - 1) > amount_col.x0 - 40]
        if len(money_labels) >= 2 and not hits:
            break  # the header row of a totals table: the items are above it
        if money_labels and hits:
            if any("total" in m.fields and m.label.weight >= 1.0 for m in money_labels) or not rows:
                break
            index += 1
            previous = line
            continue  # an in-table subtotal
        if hits:
            rows.append((_row(line, columns, desc_x0, desc_x1, hits[-1].value), line))
        elif rows and previous is not None and line.top - previous.bottom < 1.6 * line.height:
            extra = _text_between(line, desc_x0, desc_x1)
            item = rows[-1][0]
            if extra:
                item.description = f"{item.description} {extra}".strip() if item.description else extra
        elif rows:
            break
        previous = line
        index += 1
    return rows, index


def _text_between(line: TextLine, x0: float, x1: float) -> str:
    return " ".join(w.text for w in line.words if w.x0 >= x0 and w.x0 < x1).strip()


def _row(line: TextLine, columns: list[Column], desc_x0: float, desc_x1: float, amount: Decimal) -> LineItem:
    quantity = unit_price = None
    for word in line.words:
        if desc_x0 <= word.x0 < desc_x1:
            continue
        column = _column_for(word.x0, word.x1, columns)
        value = parse_amount(word.text)
        if column is None or value is None or "%" in word.text:
            continue
        if column.kind == "quantity" and quantity is None:
            quantity = value
        elif column.kind == "unit_price" and unit_price is None:
            unit_price = value
    description = _text_between(line, desc_x0, desc_x1) or None
    bbox = (line.words[0].x0, line.top, line.words[-1].x1, line.bottom)
    return LineItem(
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        amount=amount,
        provenance=Provenance(source=Source.TEXT, page=line.page, bbox=bbox, text=line.text.replace("\t", " ")),
    )


def _column_for(x0: float, x1: float, columns: list[Column]) -> Column | None:
    best, best_overlap = None, 0.0
    for column in columns:
        overlap = min(x1, column.x1) - max(x0, column.x0)
        if overlap > best_overlap:
            best, best_overlap = column, overlap
    if best is not None:
        return best
    center = (x0 + x1) / 2
    return min(columns, key=lambda c: abs(c.center - center), default=None)
