"""Line items from table structure: find a header row (Description / Qty / Unit price / Amount in
six languages, a cell's name may be stacked over the lines around it), take its columns' x positions,
then read the rows under it. A row is anchored by its amount; a line without one continues the
description of the row above, or, when the cells are centred in a taller row (the line reaches
down to the next amount, or sits after the clearly widest gap), starts the next row."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal

from shared.documents.content import Word
from shared.domain.models import LineItem, Provenance, Source
from shared.extraction.layout_labels import LabelMatch
from shared.extraction.layout_lines import TextLine, fold
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


def _stacked_columns(page_lines: list[TextLine], index: int, columns: list[Column]) -> tuple[list[Column], int]:
    """A header cell set on two lines beside one-line cells ("Unit" above, "price" below a vertically
    centred "Description  Quantity  Amount"): words of the neighbouring lines that overlap the header
    line's band and no column of it, stacked by x, read as column names. Returns the columns and the
    index of the last header line."""
    header = page_lines[index]
    centre = (header.top + header.bottom) / 2
    stacks: list[list[Word]] = []
    last = index
    for near in range(max(0, index - 2), min(len(page_lines), index + 3)):
        line = page_lines[near]
        if near == index or abs((line.top + line.bottom) / 2 - centre) >= header.height:
            continue
        for word in line.words:
            if any(word.x0 < c.x1 and c.x0 < word.x1 for c in columns):
                continue
            stack = next((s for s in stacks if any(word.x0 < w.x1 and w.x0 < word.x1 for w in s)), None)
            if stack is None:
                stacks.append([word])
            else:
                stack.append(word)
            last = max(last, near)
    added = []
    for stack in stacks:
        text = fold(" ".join(w.text for w in sorted(stack, key=lambda w: w.top)))
        kind = next((k for k, pattern in _COLUMN_RES if pattern.fullmatch(text)), None)
        if kind is not None:
            added.append(Column(kind, min(w.x0 for w in stack), max(w.x1 for w in stack) + 3))
    if not added:
        return columns, index
    return sorted(columns + added, key=lambda c: c.x0), last


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
            columns, index = _stacked_columns(page_lines, index, columns)
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
    # Each row's lines, top to bottom (its description lines above and below, its own line), and the
    # description-only lines seen before the first row.
    cells: list[list[TextLine]] = []
    leading: list[TextLine] = []
    detached: list[TextLine] = []  # lines after a wide gap below the last row, not yet placed
    detached_at = start
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
            if detached:  # lines after a wide gap: this row's upper lines if they reach down to it
                above = detached if _touches(detached[-1], line) else []
                detached = []
            elif rows:
                above = _cell_lines_above(rows[-1][1], cells[-1], line)
                if above:  # a suffix of the previous row's lines moves to this row
                    del cells[-1][-len(above) :]
                    rows[-1][0].description = _joined(cells[-1], desc_x0, desc_x1)
            else:  # before the first row: only lines that reach down into the row's own band
                above = leading if leading and _touches(leading[-1], line) else []
            cells.append([*above, line])
            rows.append((_row(line, above, columns, desc_x0, desc_x1, hits[-1].value), line))
        elif previous is not None and line.top - previous.bottom < 1.6 * line.height:
            if detached:
                detached.append(line)
            elif rows:
                cells[-1].append(line)
                rows[-1][0].description = _joined(cells[-1], desc_x0, desc_x1)
            else:
                leading.append(line)
        elif rows:
            if detached:  # two text blocks without an amount: the table ended at the first
                index = detached_at
                break
            detached, detached_at = [line], index
        else:
            leading = [line]
        previous = line
        index += 1
    return rows, index


def _cell_lines_above(row: TextLine, cell: list[TextLine], new_row: TextLine) -> list[TextLine]:
    """The lines just above a row's amount that belong to it rather than to the row before: the cells
    of a row are often centred vertically, so a two-line description (or the quantity and price of a
    taller row) starts above its amount.
    They are the previous row's continuation lines after the clearly widest gap in the run from that
    row down to this one; a run without one (evenly spaced continuation lines) keeps them all there."""
    below = cell[next(k for k, line in enumerate(cell) if line is row) + 1 :]  # the previous row's continuation
    if not below:
        return []
    run = [row, *below, new_row]
    gaps = [b.top - a.bottom for a, b in itertools.pairwise(run)]
    widest = max(range(len(gaps)), key=gaps.__getitem__)
    others = [gap for k, gap in enumerate(gaps) if k != widest]
    if widest == len(gaps) - 1 or gaps[widest] < max(others) + 0.3 * new_row.height:
        return []
    return below[widest:]


def _touches(upper: TextLine, lower: TextLine) -> bool:
    """The two lines overlap or meet: one table row's cells, not two rows."""
    return upper.bottom > lower.top - 0.1 * lower.height


def _joined(lines: list[TextLine], x0: float, x1: float) -> str | None:
    return " ".join(part for part in (_text_between(line, x0, x1) for line in lines) if part) or None


def _text_between(line: TextLine, x0: float, x1: float) -> str:
    return " ".join(w.text for w in line.words if w.x0 >= x0 and w.x0 < x1).strip()


def _row(
    line: TextLine, above: list[TextLine], columns: list[Column], desc_x0: float, desc_x1: float, amount: Decimal
) -> LineItem:
    """The item of one table row: ``line`` holds its amount, ``above`` are its lines above that (a
    centred cell's quantity or price may sit there; the amount's line is read first)."""
    quantity = unit_price = None
    for word in (w for row_line in [line, *above] for w in row_line.words):
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
    bbox = (line.words[0].x0, line.top, line.words[-1].x1, line.bottom)
    return LineItem(
        description=_joined([*above, line], desc_x0, desc_x1),
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
