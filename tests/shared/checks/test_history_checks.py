"""Checks that compare with the vendor's earlier invoices: bank account history, near duplicates and
rescans, exact re-sends, and business anomalies — on a real SQLite repository."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.local.sqlite import SqliteRepository
from shared.checks import run_checks
from shared.checks.history import KIND, MAX_INVOICES, load_history, number_core, text_fingerprint
from shared.documents.content import ContentKind, DocumentContent, Page, Word
from shared.domain import AuditEntry, Extraction, Finding, InvoiceRecord, Severity, Source, Vendor
from tests.factories import document, fields

IBAN = "DE89370400440532013000"
OTHER_IBAN = "DE02120300000000202051"
FOREIGN_IBAN = "GB82WEST12345698765432"
BASE = {"vendor_name": "Lieferant GmbH", "vendor_vat_id": "DE136695976", "currency": "EUR"}


def invoice(
    name: str,
    number: str,
    when: date,
    *,
    net: str = "100.00",
    tax: str | None = None,
    method: Source = Source.TEXT,
    **extra: str,
) -> InvoiceRecord:
    subtotal = float(net)
    values = {
        **BASE,
        "invoice_number": number,
        "invoice_date": when.isoformat(),
        "subtotal": net,
        "tax": tax if tax is not None else f"{subtotal * 0.19:.2f}",
        **extra,
    }
    values.setdefault("total", f"{subtotal + float(values['tax']):.2f}")
    sha = hashlib.sha256(name.encode()).hexdigest()
    return InvoiceRecord(
        id=sha,
        document=document(sha, filename=name),
        extraction=Extraction(fields=fields(values), method=method),
        created_at=datetime.combine(when, datetime.min.time(), tzinfo=UTC),
    )


def checked(repo: SqliteRepository, record: InvoiceRecord, content: DocumentContent | None = None) -> list[Finding]:
    repo.save_invoice(record)
    return run_checks(record, repo=repo, content=content)


def codes(findings: list[Finding]) -> dict[str, Severity]:
    return {f.code: f.severity for f in findings}


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    repository = SqliteRepository(tmp_path / "papyr.sqlite3")
    repository.upsert_vendor(Vendor(name="Lieferant GmbH", vat_id="DE136695976", country="DE"))
    return repository


def monthly(repo: SqliteRepository, count: int = 4, *, iban: str | None = IBAN, net: str = "100.00") -> date:
    """``count`` earlier monthly invoices; returns the date of the last."""
    day = date(2024, 1, 10)
    for index in range(count):
        day = date(2024, 1 + index, 10)
        extra = {"iban": iban} if iban else {}
        assert not [
            f
            for f in checked(repo, invoice(f"h{index}.pdf", f"H-{index}", day, net=net, **extra))
            if f.severity is not Severity.INFO
        ]
    return day


def test_an_ordinary_next_invoice_raises_nothing(repo: SqliteRepository) -> None:
    last = monthly(repo)
    assert checked(repo, invoice("next.pdf", "H-9", last + timedelta(days=31), net="104.00", iban=IBAN)) == []


def test_account_differing_from_earlier_invoices_is_high(repo: SqliteRepository) -> None:
    last = monthly(repo)
    findings = checked(repo, invoice("x.pdf", "H-9", last + timedelta(days=30), iban=OTHER_IBAN))
    [changed] = [f for f in findings if f.code == "bank.iban_changed"]
    assert changed.severity is Severity.HIGH
    assert changed.evidence["compared_with"] == "earlier invoices"
    assert changed.evidence["known_ibans"] == [IBAN]
    # The forged account is not learnt: the next invoice with it is flagged again.
    again = checked(repo, invoice("y.pdf", "H-10", last + timedelta(days=60), iban=OTHER_IBAN))
    assert "bank.iban_changed" in codes(again)


def test_first_seen_account_after_invoices_without_one(repo: SqliteRepository) -> None:
    last = monthly(repo, iban=None)
    found = codes(checked(repo, invoice("x.pdf", "H-9", last + timedelta(days=30), iban=OTHER_IBAN)))
    assert found == {"bank.first_seen_account": Severity.LOW}


def test_first_invoice_account_is_info(repo: SqliteRepository) -> None:
    assert codes(checked(repo, invoice("a.pdf", "1", date(2024, 1, 1), iban=IBAN))) == {
        "bank.first_seen_account": Severity.INFO
    }


def test_foreign_account_for_a_domestic_vendor_is_medium(repo: SqliteRepository) -> None:
    foreign = codes(checked(repo, invoice("b.pdf", "2", date(2024, 2, 1), iban=FOREIGN_IBAN)))
    assert foreign == {"bank.first_seen_account": Severity.INFO, "bank.country_mismatch": Severity.MEDIUM}


@pytest.mark.parametrize("number", ["INV-001", "INV001", "1", "inv 0001"])
def test_reformatted_number_same_amount_is_a_near_duplicate(repo: SqliteRepository, number: str) -> None:
    first = invoice("first.pdf", "INV-001", date(2024, 3, 1), iban=IBAN)
    checked(repo, first)
    again = invoice("again.pdf", number, date(2024, 3, 20), iban=IBAN)
    [duplicate] = [f for f in checked(repo, again) if f.code.startswith("duplicate.")]
    assert duplicate.severity is Severity.HIGH
    assert duplicate.code in ("duplicate.near", "duplicate.same_number")
    assert duplicate.evidence["others"][0]["id"] == first.id


def test_numbers_keep_significant_digits() -> None:
    assert number_core("INV-001") == number_core("INV001") == number_core("1") == "1"
    assert number_core("RE-2014/0501") == "20140501"
    assert number_core("9314110911/00/M/00/N") == number_core("931411091100M00N")
    assert number_core("2024-0012") != number_core("2024-0013")


def test_not_a_near_duplicate_outside_the_window_or_with_another_amount(repo: SqliteRepository) -> None:
    checked(repo, invoice("first.pdf", "INV-001", date(2024, 3, 1)))
    later = checked(repo, invoice("later.pdf", "1", date(2024, 9, 1)))
    other_amount = checked(repo, invoice("other.pdf", "No. 001", date(2024, 3, 5), net="250.00"))
    assert not [f for f in later + other_amount if f.code.startswith("duplicate.")]


def page(words: list[str], *, ocr: bool = False) -> DocumentContent:
    placed = [Word(text=w, x0=10.0 * i, top=10.0, x1=10.0 * i + 8, bottom=18.0) for i, w in enumerate(words)]
    return DocumentContent(kind=ContentKind.PDF, pages=[Page(number=1, width=595, height=842, words=placed, ocr=ocr)])


TEMPLATE = (
    "Lieferant GmbH Lieferantenstraße 20 80333 München Rechnung Nr {n} Datum {d} Kunden AG Mitte "
    "Position Menge Preis Trennblätter A4 20 9,90 198,00 Joghurt Banane 50 5,50 275,00 Summe {t} EUR"
)


def test_a_scan_of_an_earlier_invoice_is_a_rescan_even_unread(repo: SqliteRepository) -> None:
    original = TEMPLATE.format(n="471102", d="05.03.2018", t="529,87").split()
    checked(repo, invoice("orig.pdf", "471102", date(2018, 3, 5), net="473.00", tax="56.87"), page(original))
    # OCR misread the number and two other words, and no invoice number was found at all.
    scanned_words = [
        w.replace("471102", "47I1O2").replace("Menge", "Mcnge").replace("Preis", "Prels") for w in original
    ]
    scan = invoice("scan.jpg", "", date(2018, 3, 5), net="473.00", tax="56.87", method=Source.OCR)
    assert scan.extraction is not None
    del scan.extraction.fields["invoice_number"]
    found = checked(repo, scan, page(scanned_words, ocr=True))
    [rescan] = [f for f in found if f.code.startswith("duplicate.")]
    assert (rescan.code, rescan.severity) == ("duplicate.rescan", Severity.HIGH)
    # Another invoice on the same template is not a rescan.
    other = TEMPLATE.format(n="471199", d="05.04.2018", t="611,23").split()
    other_words = [w.replace("Joghurt", "Kaffee").replace("50", "70") for w in other]
    next_scan = invoice("next.jpg", "471199", date(2018, 4, 5), net="513.64", tax="97.59", method=Source.OCR)
    assert not [f for f in checked(repo, next_scan, page(other_words, ocr=True)) if f.code.startswith("duplicate.")]


def test_fingerprint_needs_enough_words() -> None:
    assert text_fingerprint(page(["Invoice", "42"])) is None
    assert text_fingerprint(None) is None


def test_identical_bytes_received_again_show_as_an_info_finding(repo: SqliteRepository) -> None:
    record = invoice("a.pdf", "7", date(2024, 5, 1))
    repo.save_invoice(record)
    repo.append_audit(
        record.id,
        AuditEntry(
            actor="papyr", action="duplicate_received", detail={"mailbox": "ap2@papyr.example", "filename": "a.pdf"}
        ),
    )
    [exact] = [f for f in run_checks(record, repo=repo) if f.code == "duplicate.exact"]
    assert exact.severity is Severity.INFO and "ap2@papyr.example" in exact.message


def test_history_is_idempotent_and_bounded(repo: SqliteRepository) -> None:
    record = invoice("a.pdf", "7", date(2024, 5, 1), iban=IBAN)
    for _ in range(3):
        checked(repo, record)
    history = load_history(repo, "lieferant")
    assert [e.id for e in history.invoices] == [record.id]
    assert history.ibans == [IBAN]
    for index in range(MAX_INVOICES + 5):
        checked(repo, invoice(f"n{index}.pdf", f"N{index}", date(2020, 1, 1) + timedelta(days=index)))
    assert len(load_history(repo, "lieferant").invoices) == MAX_INVOICES
    assert repo.get_item(KIND, "lieferant") is not None


def test_invoices_of_one_vendor_checked_at_once_all_reach_its_history(repo: SqliteRepository) -> None:
    records = [invoice(f"c{i}.pdf", f"C{i}", date(2024, 1, 1) + timedelta(days=i)) for i in range(12)]
    for record in records:
        repo.save_invoice(record)
    with ThreadPoolExecutor(max_workers=4) as pool:  # each thread its own SQLite connection
        list(pool.map(lambda record: run_checks(record, repo=repo), records))
    assert sorted(e.id for e in load_history(repo, "lieferant").invoices) == sorted(r.id for r in records)


def test_amount_far_above_the_vendors_usual_is_an_outlier(repo: SqliteRepository) -> None:
    last = monthly(repo)
    found = codes(checked(repo, invoice("big.pdf", "H-9", last + timedelta(days=31), net="950.00", iban=IBAN)))
    assert found == {"anomaly.amount_outlier": Severity.MEDIUM}
    usual = codes(checked(repo, invoice("ok.pdf", "H-10", last + timedelta(days=62), net="180.00", iban=IBAN)))
    assert "anomaly.amount_outlier" not in usual


def test_an_extra_invoice_days_after_the_last_breaks_the_cadence(repo: SqliteRepository) -> None:
    last = monthly(repo)
    found = codes(checked(repo, invoice("soon.pdf", "H-9", last + timedelta(days=3), net="120.00", iban=IBAN)))
    assert found == {"anomaly.cadence": Severity.MEDIUM}


def test_round_amount_is_low_and_new_vendor_with_a_high_amount_is_medium(repo: SqliteRepository) -> None:
    stranger = invoice(
        "s.pdf", "1", date(2024, 1, 1), net="8000.00", tax="0.00", vendor_name="Initech LLC", vendor_vat_id=""
    )
    found = codes(checked(repo, stranger))
    assert found["anomaly.new_vendor_high_amount"] is Severity.MEDIUM
    assert found["anomaly.round_amount"] is Severity.LOW
    small = invoice("t.pdf", "2", date(2024, 1, 1), net="80.00", vendor_name="Umbrella Ltd", vendor_vat_id="")
    assert not [c for c in codes(checked(repo, small)) if c.startswith("anomaly.")]


@pytest.mark.parametrize(
    ("net", "tax", "flagged"),
    [("100.00", "25.00", True), ("100.00", "19.00", False), ("100.00", "7.00", False), ("100.00", "12.40", False)],
)
def test_tax_rate_above_any_valid_rate_of_the_country(
    repo: SqliteRepository, net: str, tax: str, flagged: bool
) -> None:
    found = codes(checked(repo, invoice("t.pdf", "1", date(2024, 1, 1), net=net, tax=tax)))
    assert ("anomaly.tax_rate" in found) is flagged
