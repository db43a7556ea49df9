"""Business-key normalisation: the vendor and invoice-number keys duplicates are matched on."""

from __future__ import annotations

import pytest

from shared.domain.keys import invoice_number_key, vendor_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ACME GmbH", "acme"),
        ("Acme GmbH.", "acme"),
        ("  acme  ", "acme"),
        ("Müller & Söhne GmbH & Co. KG", "mullersohne"),
        ("MULLER + SOHNE", "mullersohne"),
        ("Exemplar B.V.", "exemplar"),
        ("Exemplar BV", "exemplar"),
        ("Société Générale S.à r.l.", "societegenerale"),
        ("Globex Corporation", "globex"),
        ("Globex Corp.", "globex"),
        ("Initech, Inc.", "initech"),
        ("Foo Sp. z o.o.", "foo"),
        ("Hooli Pty Ltd", "hooli"),
        ("ＡＣＭＥ ＧｍｂＨ", "acme"),  # full-width letters, as some PDFs encode them
    ],
)
def test_vendor_key_ignores_case_accents_punctuation_and_legal_forms(name: str, key: str) -> None:
    assert vendor_key(name) == key


def test_vendor_key_keeps_legal_form_words_inside_the_name() -> None:
    assert vendor_key("AB Volvo") == "abvolvo"
    assert vendor_key("Company Shop Ltd") == "companyshop"


def test_vendor_key_never_empties_a_real_name() -> None:
    assert vendor_key("AG") == "ag"
    assert vendor_key("Co. Ltd") == "co"


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_values_give_the_empty_key(blank: str | None) -> None:
    assert vendor_key(blank) == ""
    assert invoice_number_key(blank) == ""


@pytest.mark.parametrize(
    ("number", "key"),
    [
        ("INV-001", "INV1"),
        ("INV001", "INV1"),
        ("inv 1", "INV1"),
        ("Inv/0001", "INV1"),
        ("2024-0007", "20247"),
        ("20240007", "20240007"),
        ("000", "0"),
        ("R-100", "R100"),
        ("A0B00C", "A0B0C"),
    ],
)
def test_invoice_number_key(number: str, key: str) -> None:
    assert invoice_number_key(number) == key


def test_distinct_numbers_stay_distinct() -> None:
    assert invoice_number_key("INV-001") != invoice_number_key("INV-010")
    assert invoice_number_key("INV-100") != invoice_number_key("INV-1")
