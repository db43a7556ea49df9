"""learn_from: what a clerk's corrections teach the vendor profile, and that teaching twice changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from acme_invoices import SENDER, acme_invoice, corrected_record

from shared.adapters.local.sqlite import SqliteRepository
from shared.learning import ProfileStore, learn_from
from shared.learning.store import KIND

WRONG = {"vendor_name": "Hafenstrasse 12", "invoice_date": "2024-03-05", "total": "10.00", "currency": "EUR"}


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    return SqliteRepository(tmp_path / "papyr.sqlite3")


def test_constants_positions_and_identity_are_learned(repo: SqliteRepository) -> None:
    record = corrected_record(
        "a" * 64,
        WRONG,
        {"vendor_name": "ACME Widgets GmbH", "invoice_number": "AW-10023", "total": "1234.56"},
    )
    learned = learn_from(record, repo, acme_invoice())

    assert learned.changed and learned.profile == "acmewidgets"
    assert learned.constants == ["vendor_name"] and learned.positions == ["invoice_number", "total"]
    profile = ProfileStore(repo).get("acmewidgets")
    assert profile is not None
    assert profile.constants["vendor_name"].value == "ACME Widgets GmbH"
    assert profile.constants["vendor_name"].misreads == ["Hafenstrasse 12"]
    assert profile.names == ["acmewidgets", "hafenstrasse12"]  # the misread recognises the vendor too
    assert profile.senders == [SENDER] and profile.domains == ["acme-widgets.example"]
    [layout] = profile.layouts
    assert "acme" in layout.fingerprint and "hamburg" in layout.fingerprint
    number = layout.positions["invoice_number"]
    assert number.label == "ref code" and number.shape == r"[A-Z]{2}\-\d{4,6}"
    x0, top, _, _ = number.box
    assert x0 == pytest.approx(420 / 595) and top == pytest.approx(150 / 842)
    total = layout.positions["total"]
    assert total.label == "amount payable" and total.page == 1 and not total.negate


def test_learning_the_same_record_twice_changes_nothing(repo: SqliteRepository) -> None:
    record = corrected_record("b" * 64, WRONG, {"vendor_name": "ACME Widgets GmbH", "total": "1234.56"})
    content = acme_invoice()
    assert learn_from(record, repo, content).changed
    stored = repo.get_item(KIND, "acmewidgets")

    again = learn_from(record, repo, content)

    assert not again.changed
    assert repo.get_item(KIND, "acmewidgets") == stored
    assert len(repo.list_items(KIND)) == 1


def test_the_next_record_of_the_vendor_updates_the_same_profile(repo: SqliteRepository) -> None:
    learn_from(corrected_record("c" * 64, WRONG, {"vendor_name": "ACME Widgets GmbH"}), repo, acme_invoice())
    second = corrected_record("d" * 64, {"vendor_name": "Hafenstrasse 12"}, {"invoice_number": "AW-10077"})

    learned = learn_from(second, repo, acme_invoice(number="AW-10077", rows=5))

    assert learned.profile == "acmewidgets" and learned.positions == ["invoice_number"]
    profile = ProfileStore(repo).get("acmewidgets")
    assert profile is not None and profile.learned_from == ["c" * 64, "d" * 64]
    assert len(profile.layouts) == 1 and "invoice_number" in profile.layouts[0].positions


def test_a_corrected_value_not_printed_on_the_document_is_reported_not_learned(repo: SqliteRepository) -> None:
    record = corrected_record("e" * 64, WRONG, {"po_number": "PO-778899"})

    learned = learn_from(record, repo, acme_invoice())

    assert learned.not_located == ["po_number"] and learned.positions == []


def test_nothing_to_learn_without_corrections(repo: SqliteRepository) -> None:
    record = corrected_record("f" * 64, WRONG, {})

    assert learn_from(record, repo, acme_invoice()).profile is None
    assert repo.list_items(KIND) == []
