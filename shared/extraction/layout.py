"""Template-free extraction from words with positions (a PDF text layer or OCR).

Labels in six languages are found on each line; each label proposes values to its right or under
it, parsed by the field's type. Every proposal is a scored candidate; the best one wins, except for
the money fields, which are chosen together so that subtotal + tax = total (and the line items sum
to the subtotal) wherever the page allows. Confidence: the label's strength x where the value sat
x whether it reconciles; guesses without a label stay low.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from shared.documents.content import DocumentContent
from shared.domain.models import DocumentType, ExtractedField, Extraction, LineItem, Provenance, Source, decimal_to_str
from shared.extraction.classify import classify
from shared.extraction.layout_header import header_block
from shared.extraction.layout_labels import BUYER_VAT, CHANGE, TENDERED, LabelMatch, find_labels
from shared.extraction.layout_lines import TextLine, document_lines, fold
from shared.extraction.layout_parties import buyer_candidates, buyer_zones, in_zones, vendor_candidates
from shared.extraction.layout_table import extract_line_items
from shared.extraction.layout_values import (
    amounts_in,
    parse_bic,
    parse_date_value,
    parse_iban,
    parse_identifier,
    parse_vat_id,
    value_regions,
)
from shared.extraction.normalize import (
    currency_from_token,
    currency_votes,
    detect_day_first,
    find_dates,
    iban_is_valid,
    normalize_iban,
    vat_id_is_valid,
)

MONEY = ("subtotal", "tax", "total", "amount_due")
_TILL = (TENDERED, CHANGE)
_NICKEL = Decimal("0.05")  # cash rounding step on till receipts
_TIME = re.compile(r"(?<![\d.])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?!\d)")
# Words that say part of the total was paid already (then the amount due is not the total).
_PREPAID = re.compile(
    r"(?<![a-z])(?:anzahlung|vorauszahlung|abschlagszahlung|bereits\s(?:bezahlt|gezahlt|erhalten|geleistet)|abzuglich"
    r"|erhaltene|prepaid|prepayment|already\spaid|deposit|amount\spaid|paid\s(?:amount|to\sdate)|acompte"
    r"|deja\s(?:regle|paye|verse)|aanbetaling|reeds\sbetaald|vooruitbetaling|anticipo|acconto|pagado|pagato)"
)
_ID_FIELDS = ("invoice_number", "po_number")


@dataclass(frozen=True)
class Candidate:
    field: str
    value: str
    score: float
    line: TextLine
    start: int
    end: int


def extract_layout(content: DocumentContent, classification: tuple[DocumentType, str] | None = None) -> Extraction:
    """Header fields and line items of one document read from its words and their positions;
    ``classification`` is ``classify(content)`` where the caller has it already."""
    lines = document_lines(content)
    ocr = any(page.ocr for page in content.pages)
    method = Source.OCR if ocr else Source.TEXT
    document_type, reason = classification or classify(content)
    extraction = Extraction(
        document_type=document_type if document_type != DocumentType.NOT_INVOICE else DocumentType.INVOICE,
        classification_reason=reason,
        method=method,
        pages=len(content.pages),
    )
    if not lines:
        extraction.warnings.append("no text on any page")
        return extraction
    lines_by_page: dict[int, list[TextLine]] = defaultdict(list)
    for line in lines:
        lines_by_page[line.page].append(line)
    labels_by_line = {id(line): find_labels(line) for line in lines}
    all_labels = [m for line in lines for m in labels_by_line[id(line)]]
    day_first = _day_first(content)

    candidates: dict[str, list[Candidate]] = defaultdict(list)
    for line in lines:
        same_line = labels_by_line[id(line)]
        below = lines_by_page[line.page][line.index + 1 : line.index + 7]
        for match in same_line:
            found = [
                cand
                for region in value_regions(match, same_line, below)
                for cand in _read_values(match, region.line, region.start, region.end, region.placement, day_first)
            ]
            for cand in _favour_column_sums(match, found):
                candidates[cand.field].append(cand)
    _add_unlabelled(lines, candidates, all_labels, lines_by_page, day_first)

    fields = extraction.fields
    for name in ("invoice_number", "invoice_date", "due_date", "po_number", "iban", "bic"):
        best = _best(candidates[name])
        if best:
            fields[name] = _field(best, best.score * _disagreement(best, candidates[name]))
    _pick_vat_id(candidates["vendor_vat_id"], all_labels, lines_by_page, fields)

    items = extract_line_items(lines_by_page, labels_by_line)
    extraction.line_items = [item for item, _ in items]
    # A table row is an item, never the place of a document total or tax.
    item_rows = {id(line) for _, line in items}
    for name in MONEY:
        candidates[name] = [c for c in candidates[name] if id(c.line) not in item_rows]
    prepaid = bool(_PREPAID.search(fold(content.text)))
    receipt = document_type == DocumentType.RECEIPT
    till_total = _receipt_totals(candidates, content.text, lines) if receipt else None
    _pick_money(candidates, [item for item, _ in items], fields, document_type, prepaid)
    if receipt:
        _settle_receipt_total(candidates, fields, till_total)
    _pick_parties(lines, all_labels, lines_by_page, fields)
    if receipt:
        _pick_receipt_header(lines_by_page.get(1, []), fields)
    _pick_currency(content, lines, all_labels, fields)
    if "due_date" in fields and "invoice_date" in fields and fields["due_date"].value < fields["invoice_date"].value:
        del fields["due_date"]  # a date before the issue date is not when payment is due
    for item, _ in items:
        if item.provenance is not None:
            item.provenance = item.provenance.model_copy(update={"source": method})
    return extraction


# --------------------------------------------------------------------------------------- candidates


def _read_values(
    match: LabelMatch, line: TextLine, start: int, end: int, placement: float, day_first: bool | None
) -> list[Candidate]:
    text = line.text[start:end]
    weight = match.label.weight * placement
    out: list[Candidate] = []
    for field in match.fields:
        if field in _ID_FIELDS:
            value = parse_identifier(text, strict=match.label.weight < 0.6)
            if value:
                pos = text.find(value)
                out.append(Candidate(field, value, weight, line, start + max(0, pos), start + max(0, pos) + len(value)))
        elif field in ("invoice_date", "due_date"):
            found = parse_date_value(text, day_first)
            if found:
                day, a, b = found
                # A date far from its label (another field in between) is weaker evidence.
                near = 1.0 if not text[:a].strip(" :.-") or a < 12 else 0.8
                out.append(Candidate(field, day.isoformat(), weight * near, line, start + a, start + b))
        elif field in MONEY or field in _TILL:
            hits = amounts_in(line, start, end)
            for rank, hit in enumerate(reversed(hits)):
                quality = (1.0 if hit.has_decimals else 0.5) * (1.0 if rank == 0 else 0.7)
                out.append(Candidate(field, decimal_to_str(hit.value), weight * quality, line, hit.start, hit.end))
        elif field == "vendor_vat_id":
            value = parse_vat_id(text)
            if value:
                quality = 1.0 if vat_id_is_valid(value) else 0.7
                out.append(Candidate(field, value, weight * quality, line, start, end))
        elif field == BUYER_VAT:
            value = parse_vat_id(text)
            if value:
                out.append(Candidate(BUYER_VAT, value, weight, line, start, end))
        elif field == "iban":
            value = parse_iban(text)
            if value:
                quality = 1.0 if iban_is_valid(value) else 0.6
                out.append(Candidate(field, value, weight * quality, line, start, end))
        elif field == "bic":
            value = parse_bic(text)
            if value:
                out.append(Candidate(field, value, weight * 0.95, line, start, end))
        elif field == "currency":
            token = text.strip(" :").split()[0] if text.strip(" :") else ""
            code = currency_from_token(token)
            if code:
                out.append(Candidate(field, code, weight, line, start, end))
    return out


def _favour_column_sums(match: LabelMatch, found: list[Candidate]) -> list[Candidate]:
    """Under a totals-table header the column may list one row per tax rate and then their sum:
    the row that equals the sum of the rows above it is the document's figure, not the first row."""
    out = [c for c in found if c.field not in MONEY or c.line is match.line]
    for name in MONEY:
        below = sorted((c for c in found if c.field == name and c.line is not match.line), key=lambda c: c.line.top)
        rows: list[Candidate] = []
        for cand in below:  # the best-scored reading of each row (its rightmost amount in the column)
            if rows and rows[-1].line is cand.line:
                if cand.score > rows[-1].score:
                    rows[-1] = cand
                continue
            rows.append(cand)
        sums = {
            id(cand)
            for index, cand in enumerate(rows)
            if index >= 2 and sum(Decimal(r.value) for r in rows[:index]) == Decimal(cand.value)
        }
        for cand in below:
            if not sums:
                out.append(cand)
            elif id(cand) in sums:
                out.append(replace(cand, score=min(1.0, cand.score * 1.15)))
            else:
                out.append(replace(cand, score=cand.score * 0.8))
    return out


def _add_unlabelled(
    lines: list[TextLine],
    candidates: dict[str, list[Candidate]],
    labels: list[LabelMatch],
    lines_by_page: dict[int, list[TextLine]],
    day_first: bool | None,
) -> None:
    """Low-scored guesses where no label helps: the first unclaimed date at the top of page 1 as
    the issue date, valid IBANs and EU VAT ids anywhere."""
    claimed = {(c.line.page, c.line.index, c.start) for cs in candidates.values() for c in cs}
    for line in lines_by_page.get(1, []):
        for value, a, b in find_dates(line.text, day_first=day_first):
            if (line.page, line.index, a) in claimed:
                continue
            # A date stamped with a time of day is when the sale happened (a till's print time).
            timed = bool(_TIME.search(line.text[max(0, a - 12) : a] + " " + line.text[b : b + 12]))
            if timed or line.rel_top <= 0.5:
                score = 0.4 if timed else 0.3
                candidates["invoice_date"].append(Candidate("invoice_date", value.isoformat(), score, line, a, b))
                break
    for line in lines:
        words = [w.text for w in line.words]
        for i in range(len(words)):
            if not words[i][:2].isalpha() or not words[i][:2].isupper():
                continue
            if len(words[i]) == 2 and i + 1 < len(words) and words[i + 1][:1].isdigit():
                words_i = " ".join(words[i : i + 6])
                vat = parse_vat_id(words_i)
                if vat and vat_id_is_valid(vat):
                    candidates["vendor_vat_id"].append(
                        Candidate(
                            "vendor_vat_id",
                            vat,
                            0.45,
                            line,
                            line.spans[i][0],
                            line.spans[min(len(words), i + 6) - 1][1],
                        )
                    )
                continue
            if len(words[i]) < 4 or not words[i][2:4].isdigit():
                continue
            joined = "".join(words[i : i + 8])
            for end in range(len(joined), 14, -1):
                iban = normalize_iban(joined[:end])
                if iban and iban_is_valid(iban):
                    candidates["iban"].append(Candidate("iban", iban, 0.5, line, line.spans[i][0], line.spans[i][1]))
                    break
            vat = parse_vat_id(" ".join(words[i : i + 6]))
            if vat and vat[:2].isalpha() and vat_id_is_valid(vat) and not normalize_iban(vat):
                candidates["vendor_vat_id"].append(
                    Candidate("vendor_vat_id", vat, 0.45, line, line.spans[i][0], line.spans[i][1])
                )


def _best(cands: list[Candidate]) -> Candidate | None:
    if not cands:
        return None
    # Same value proposed several times (header and footer, two pages) is a little more certain.
    support: dict[str, float] = defaultdict(float)
    for cand in cands:
        support[cand.value] += 1
    return max(cands, key=lambda c: (c.score + 0.03 * min(3, support[c.value] - 1), -c.line.page, -c.line.top))


def _disagreement(best: Candidate, cands: list[Candidate]) -> float:
    """Confidence factor: another well-labelled reading with a different value (two order numbers,
    an invoice number printed two ways) makes the pick a coin toss between them, not a certainty."""
    rivals = [c.score for c in cands if c.value != best.value and c.score >= 0.6]
    if not rivals:
        return 1.0
    return 0.8 if max(rivals) >= best.score - 0.15 else 0.9


def _field(cand: Candidate, confidence: float, value: str | None = None) -> ExtractedField:
    line = cand.line
    return ExtractedField(
        value=cand.value if value is None else value,
        confidence=max(0.0, min(1.0, round(confidence, 3))),
        provenance=Provenance(
            source=Source.OCR if line.ocr else Source.TEXT,
            page=line.page,
            bbox=line.bbox(cand.start, cand.end),
            text=line.text[cand.start : cand.end].replace("\t", " "),
        ),
    )


def _day_first(content: DocumentContent) -> bool | None:
    found = detect_day_first(page.text for page in content.pages)
    if found is not None:
        return found
    votes = currency_votes(content.text)
    return not (votes and votes.most_common(1)[0][0] == "USD")


# ----------------------------------------------------------------------------------- VAT id, parties


def _pick_vat_id(
    cands: list[Candidate],
    labels: list[LabelMatch],
    lines_by_page: dict[int, list[TextLine]],
    fields: dict[str, ExtractedField],
) -> None:
    """The seller's VAT id: not one labelled as the customer's, nor one inside the buyer's block."""
    zones = buyer_zones(labels, lines_by_page)
    buyer_ids = {m.line.text for m in labels if BUYER_VAT in m.fields}
    kept = [c for c in cands if c.line.text not in buyer_ids and not in_zones(c.line, c.line.x_at(c.start), zones)]
    best = _best(kept)
    if best:
        fields["vendor_vat_id"] = _field(best, best.score * 0.95)


def _pick_parties(
    lines: list[TextLine],
    labels: list[LabelMatch],
    lines_by_page: dict[int, list[TextLine]],
    fields: dict[str, ExtractedField],
) -> None:
    vendors = vendor_candidates(lines, labels, lines_by_page)
    buyers = buyer_candidates(labels, lines_by_page)
    buyer = max(buyers, key=lambda c: (c.score, -c.line.page, -c.line.top), default=None)
    if buyer:
        fields["buyer_name"] = _field(
            Candidate("buyer_name", buyer.name, buyer.score, buyer.line, buyer.start, buyer.end), buyer.score
        )
        vendors = [v for v in vendors if v.name.casefold() != buyer.name.casefold()]
    vendor = max(vendors, key=lambda c: (c.score, -c.line.page, -c.line.top), default=None)
    if vendor:
        fields["vendor_name"] = _field(
            Candidate("vendor_name", vendor.name, vendor.score, vendor.line, vendor.start, vendor.end), vendor.score
        )


def _pick_receipt_header(page_lines: list[TextLine], fields: dict[str, ExtractedField]) -> None:
    """A till receipt names its merchant in its first lines and the shop's address under it; labels
    ("Seller:") are rare there, so the header block decides the vendor and gives the address."""
    block = header_block(page_lines)
    if block is None:
        return
    line = block.name_line
    confidence = 0.8 if block.name_has_form else 0.6
    name = Candidate("vendor_name", block.name, confidence, line, 0, len(line.text))
    fields["vendor_name"] = _field(name, confidence)
    if block.address and block.address_lines:
        first = block.address_lines[0]
        fields["vendor_address"] = _field(
            Candidate("vendor_address", block.address, 0.7, first, 0, len(first.text)), 0.7
        )


def _pick_currency(
    content: DocumentContent, lines: list[TextLine], labels: list[LabelMatch], fields: dict[str, ExtractedField]
) -> None:
    votes = currency_votes(content.text)
    if not votes:
        return
    code, count = votes.most_common(1)[0]
    # Provenance: the first line that shows the winning code or symbol.
    for line in lines:
        if code in currency_votes(line.text):
            confidence = 0.9 if count >= 2 else 0.6
            fields["currency"] = _field(Candidate("currency", code, confidence, line, 0, len(line.text)), confidence)
            return


# -------------------------------------------------------------------------------------------- money


def _pick_money(
    candidates: dict[str, list[Candidate]],
    items: list[LineItem],
    fields: dict[str, ExtractedField],
    document_type: DocumentType,
    prepaid: bool,
) -> None:
    """Choose subtotal, tax and total together: the combination with the best summed score, with a
    bonus where subtotal + tax = total and where the line items add up to the subtotal."""
    line_sum = sum((item.amount for item in items if item.amount is not None), Decimal(0)) if items else None
    options: dict[str, list[Candidate | None]] = {}
    for name in ("subtotal", "tax", "total"):
        ranked = _dedupe(candidates[name])[:6]
        options[name] = [*ranked, None]
    best_choice: tuple[Candidate | None, ...] = (None, None, None)
    best_score = -1.0
    best_flags = (False, False)
    for sub, tax, total in itertools.product(options["subtotal"], options["tax"], options["total"]):
        if sub is not None and total is not None and sub.line is total.line and sub.start == total.start:
            continue
        score = sum(c.score for c in (sub, tax, total) if c is not None)
        values = [Decimal(c.value) if c else None for c in (sub, tax, total)]
        balanced = all(v is not None for v in values) and abs(values[0] + values[1] - values[2]) < Decimal("0.015")  # type: ignore[operator]
        lines_match = line_sum is not None and values[0] is not None and abs(line_sum - values[0]) < Decimal("0.015")
        if balanced:
            score += 1.0
        if lines_match:
            score += 0.3
        if values[0] is not None and values[2] is not None and abs(values[0]) > abs(values[2]):
            score -= 0.8  # a net amount above the gross total is a misreading
        if values[1] is not None and values[2] is not None and abs(values[1]) >= abs(values[2]) and values[2] != 0:
            score -= 0.8
        if score > best_score:
            best_score, best_choice, best_flags = score, (sub, tax, total), (balanced, lines_match)
    sub, tax, total = best_choice
    balanced, lines_match = best_flags
    bonus = 0.15 if balanced else 0.0
    for name, cand in (("subtotal", sub), ("tax", tax), ("total", total)):
        if cand is not None:
            extra = bonus + (0.1 if name == "subtotal" and lines_match else 0.0)
            fields[name] = _field(cand, min(1.0, 0.8 * cand.score + 1.3 * extra))
    if not balanced and sub is not None and total is not None:
        parts = _tax_by_rate(candidates["tax"], Decimal(total.value) - Decimal(sub.value))
        if parts:
            # Tax printed per rate only ("USt. 7% ... 19,25", "USt. 19% ... 37,62"): their sum closes
            # subtotal + tax = total, so it is the document's tax.
            value = decimal_to_str(sum((Decimal(p.value) for p in parts), Decimal(0)))
            fields["tax"] = _field(parts[0], 0.85, value)
            for name, cand in (("subtotal", sub), ("total", total)):
                fields[name] = _field(cand, min(1.0, 0.8 * cand.score + 0.2))
    due = _best(_dedupe(candidates["amount_due"]))
    if due:
        fields["amount_due"] = _field(due, 0.75 * due.score)
    if "total" not in fields and due:
        fields["total"] = _field(due, 0.5 * due.score)
    if "amount_due" not in fields and "total" in fields and not prepaid:
        # Nothing paid in advance is printed, so the whole total is payable (a guess: kept below 0.9).
        fields["amount_due"] = fields["total"].model_copy(update={"confidence": min(0.7, fields["total"].confidence)})
    if "subtotal" not in fields and "total" in fields:
        tax_value = Decimal(fields["tax"].value) if "tax" in fields else None
        total_value = Decimal(fields["total"].value)
        if tax_value == 0 or (tax_value is None and line_sum is not None and line_sum == total_value):
            # No tax charged: the net amount is the total (a guess unless the lines confirm it).
            fields["subtotal"] = fields["total"].model_copy(
                update={"confidence": 0.55 if line_sum == total_value else 0.4}
            )
    if document_type == DocumentType.CREDIT_NOTE:
        for name in MONEY:
            if name in fields and not fields[name].value.startswith("-") and Decimal(fields[name].value) != 0:
                # The sign is inferred from the title, not printed: a German "Gutschrift" may also be a
                # self-billed invoice (positive), so an inferred sign never reaches high confidence.
                fields[name] = fields[name].model_copy(
                    update={"value": "-" + fields[name].value, "confidence": min(0.8, fields[name].confidence)}
                )


def _receipt_totals(candidates: dict[str, list[Candidate]], text: str, lines: list[TextLine]) -> Decimal | None:
    """Till-receipt conventions, applied to the candidates in place; returns the total that
    tendered - change gives, when the receipt prints both.

    - "NETT TOTAL" on a receipt is what is paid (after rounding), not a net-of-tax amount;
    - with no total label at all, the subtotal ("Net Amt") is what was paid;
    - receipts print money with cents: a whole number under a total label is a misread;
    - where cash rounding is printed, the amount paid is a multiple of 0.05;
    - tendered - change read where no label reads it ("TL:RM 33.80") is the total there."""
    for cand in list(candidates["subtotal"]):
        if re.search(r"(?:^|\t)\s*nett?\s?total(?![a-z])", cand.line.folded[: cand.start]):
            candidates["subtotal"].remove(cand)
            candidates["total"].append(replace(cand, field="total", score=cand.score + 0.2))
    if not candidates["total"]:
        candidates["total"] = [replace(c, field="total", score=0.9 * c.score) for c in candidates["subtotal"]]
        candidates["subtotal"] = []
    if any("." in c.value for c in candidates["total"]):
        candidates["total"] = [c for c in candidates["total"] if "." in c.value]
    tendered = {abs(Decimal(c.value)) for c in candidates[TENDERED]}
    change = {abs(Decimal(c.value)) for c in candidates[CHANGE]}
    paid = {t - c for t in tendered for c in change if t >= c}
    rounding = bool(re.search(r"(?i)round", text))
    till_total = None
    scored: list[Candidate] = []
    for cand in candidates["total"]:
        value = Decimal(cand.value)
        bonus = 0.0
        if value > 0 and value in paid:
            bonus += 0.5
            till_total = value
        elif value > 0 and value in tendered and not change - {Decimal(0)}:
            bonus += 0.15  # paid exactly
        if rounding and value % _NICKEL == 0:
            bonus += 0.1
        scored.append(replace(cand, score=cand.score + bonus))
    if till_total is None:
        # No total label agrees with the till, but a subtotal does: on a receipt that is the total.
        for cand in candidates["subtotal"]:
            if Decimal(cand.value) > 0 and Decimal(cand.value) in paid:
                scored.append(replace(cand, field="total", score=cand.score + 0.3))
                till_total = Decimal(cand.value)
                break
    if till_total is None and len(paid - {Decimal(0)}) == 1 and not scored:
        # Nothing labelled reads as a total, but the till's arithmetic names one: where else it is printed.
        (value,) = paid - {Decimal(0)}
        till_lines = {id(c.line) for name in _TILL for c in candidates[name]}
        for line in lines:
            hit = next((h for h in amounts_in(line, 0, len(line.text)) if h.value == value), None)
            if hit is not None and id(line) not in till_lines:
                scored.append(Candidate("total", decimal_to_str(value), 0.6, line, hit.start, hit.end))
                till_total = value
                break
    candidates["total"] = scored
    return till_total


def _settle_receipt_total(
    candidates: dict[str, list[Candidate]], fields: dict[str, ExtractedField], till_total: Decimal | None
) -> None:
    """A till receipt's total is what its customer paid. Where tendered - change gives it and a total
    label reads it too, the two agree and it wins over a subtotal + tax that adds up to the amount
    before cash rounding ("Total Sales 24.11", "Total After Adj 24.10"). Where cash was handed over
    with no change, rounded to 5 cents and 1-2 cents from the total, the rounded amount was paid."""
    total = fields.get("total")
    agreeing = [c for c in candidates["total"] if till_total is not None and Decimal(c.value) == till_total]
    if agreeing:
        best = max(agreeing, key=lambda c: c.score)
        confidence = max(0.93, total.confidence) if total is not None and total.value == best.value else 0.93
        fields["total"] = _field(best, confidence)
        return
    if total is None or Decimal(total.value) % _NICKEL == 0 or any(Decimal(c.value) > 0 for c in candidates[CHANGE]):
        return
    value = Decimal(total.value)
    for cand in sorted(candidates[TENDERED] + candidates["amount_due"], key=lambda c: -c.score):
        paid = Decimal(cand.value)
        if paid > 0 and paid % _NICKEL == 0 and abs(paid - value) < Decimal("0.03"):
            fields["total"] = _field(cand, min(0.85, total.confidence))
            return


def _tax_by_rate(cands: list[Candidate], wanted: Decimal) -> tuple[Candidate, ...] | None:
    """Two to four tax amounts on different lines (one per rate) that add up to ``wanted``."""
    per_line: dict[int, Candidate] = {}
    for cand in sorted(cands, key=lambda c: -c.score):
        if cand.score >= 0.6 and id(cand.line) not in per_line:
            per_line[id(cand.line)] = cand
    rows = sorted(per_line.values(), key=lambda c: (c.line.page, c.line.top))[:8]
    for size in (2, 3, 4):
        for combo in itertools.combinations(rows, size):
            if wanted != 0 and abs(sum(Decimal(c.value) for c in combo) - wanted) < Decimal("0.005"):
                return combo
    return None


def _dedupe(cands: list[Candidate]) -> list[Candidate]:
    """Best candidate per distinct value, best first."""
    best: dict[str, Candidate] = {}
    for cand in cands:
        if cand.value not in best or cand.score > best[cand.value].score:
            best[cand.value] = cand
    return sorted(best.values(), key=lambda c: -c.score)
