from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.extraction.normalize import (
    currency_from_token,
    detect_currency,
    detect_day_first,
    find_dates,
    iban_is_valid,
    is_whole_amount,
    normalize_bic,
    normalize_iban,
    normalize_vat_id,
    parse_amount,
    parse_date,
    vat_id_is_valid,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1'234.56", "1234.56"),
        ("€ 12,00", "12.00"),
        ("€3.50", "3.50"),
        ("12.00-", "-12.00"),
        ("(12.00)", "-12.00"),
        ("-5,00 €", "-5.00"),
        ("USD 1,000", "1000"),
        ("2.321,00", "2321.00"),
        ("Rs 1939", "1939"),
        ("$4.11", "4.11"),
        ("9,9000", "9.9000"),
        ("0.125", "0.125"),
        ("4.053,67", "4053.67"),
        ("1.000.000", "1000000"),
    ],
)
def test_parse_amount_reads_every_locale(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["21%", "20.03.2023", "3/64,", "abc", "", "1.2.3,4"])
def test_parse_amount_rejects_non_amounts(text: str) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20/03/2023", date(2023, 3, 20)),
        ("03/20/2023", date(2023, 3, 20)),
        ("2023-03-20", date(2023, 3, 20)),
        ("20.03.23", date(2023, 3, 20)),
        ("20. März 2023", date(2023, 3, 20)),
        ("20. Maerz 2023", date(2023, 3, 20)),
        ("March 20, 2023", date(2023, 3, 20)),
        ("August 3 , 2014", date(2014, 8, 3)),
        ("Jan 1, 2022", date(2022, 1, 1)),
        ("20 mars 2023", date(2023, 3, 20)),
        ("1er juillet 2015", date(2015, 7, 1)),
        ("du 02 Juillet 2015", date(2015, 7, 2)),
        ("12 février 2024", date(2024, 2, 12)),
        ("20-mrt-2023", date(2023, 3, 20)),
        ("19 april 2014", date(2014, 4, 19)),
        ("3 de marzo de 2023", date(2023, 3, 3)),
        ("15 gennaio 2023", date(2023, 1, 15)),
        ("7. Mai 2014", date(2014, 5, 7)),
        ("Datum: 04.04.2018,", date(2018, 4, 4)),
        ("10-05-201816:01:18", date(2018, 5, 10)),
    ],
)
def test_parse_date_numeric_and_month_names(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_ambiguous_dates_follow_the_documents_convention() -> None:
    assert parse_date("04/05/2023", day_first=True) == date(2023, 5, 4)
    assert parse_date("04/05/2023", day_first=False) == date(2023, 4, 5)
    # Unambiguous dates ignore the hint.
    assert parse_date("13/05/2023", day_first=False) == date(2023, 5, 13)


def test_parse_date_rejects_impossible_dates() -> None:
    assert parse_date("31/02/2023") is None
    assert parse_date("Rechnung 2023") is None


def test_find_dates_returns_positions_in_order() -> None:
    found = find_dates("Invoice 20.03.2023 due 2023-04-04")
    assert [value for value, _, _ in found] == [date(2023, 3, 20), date(2023, 4, 4)]
    assert "Invoice 20.03.2023 due 2023-04-04"[found[1][1] : found[1][2]] == "2023-04-04"


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("05/Apr/201812:49:11 pm", "05/Apr/2018"),  # a till's time run into the year by OCR
        ("18:31 2018 May 04", "2018 May 04"),  # the year first
        ("2018-Mar-12", "2018-Mar-12"),
    ],
)
def test_find_dates_on_till_receipts(text: str, printed: str) -> None:
    ((value, start, end),) = find_dates(text)
    assert text[start:end] == printed and value.year == 2018


def test_a_year_followed_by_other_digits_is_not_a_date() -> None:
    assert find_dates("Total 2018 items 12") == []
    assert find_dates("05 Apr 20181234") == []


def test_detect_day_first_from_unambiguous_dates() -> None:
    assert detect_day_first(["03/20/2023", "due 04/04/2023"]) is False
    assert detect_day_first(["20.03.2023", "01.04.2023"]) is True
    assert detect_day_first(["01/02/2023"]) is None


def test_iban_and_bic() -> None:
    iban = normalize_iban("FR76 1010 7002 4500 6170 5231 739")
    assert iban == "FR7610107002450061705231739"
    assert iban_is_valid(iban)
    assert normalize_iban("IBAN: nl50 ingb 0683 2513 09") == "NL50INGB0683251309"
    assert not iban_is_valid("NL51INGB0683251309")
    assert normalize_iban("US1234567890") is None
    assert normalize_bic("INGBNL2A") == "INGBNL2A"
    assert normalize_bic("GENODEF1M04") == "GENODEF1M04"
    assert normalize_bic("Invoice") is None


def test_vat_ids() -> None:
    assert normalize_vat_id("DE 232 446 240") == "DE232446240"
    assert normalize_vat_id("FR 604 219 388 61") == "FR60421938861"
    assert normalize_vat_id("NL810433941B01") == "NL810433941B01"
    assert normalize_vat_id("06AABCO6063D1ZQ") == "06AABCO6063D1ZQ"  # Indian GSTIN
    assert normalize_vat_id("INGBNL2A") is None
    assert normalize_vat_id("QX123456789") is None
    assert vat_id_is_valid("DE232446240")
    assert vat_id_is_valid("NL810433941B01")
    assert not vat_id_is_valid("DE232446241")


def test_currency_detection() -> None:
    assert detect_currency("Total EUR 34,73") == "EUR"
    assert detect_currency("Totaal € 717,97") == "EUR"
    assert detect_currency("Grand Total $ 4.11") == "USD"
    assert detect_currency("Rs 1939 paid") == "INR"
    assert detect_currency("TOTAL RM 7.20") == "MYR"
    assert detect_currency("£ 12.00") == "GBP"
    # Code words that are ordinary capitals count only beside a number; a SWIFT code is not a currency.
    assert detect_currency("ALL CHARGES 12.00 USD") == "USD"
    assert detect_currency("SWIFT HELADEF1GEL") is None
    assert currency_from_token("EUR") == "EUR"
    assert currency_from_token("US$") == "USD"
    assert currency_from_token("kg") is None


@pytest.mark.parametrize(
    ("text", "beside"),
    [("1939", "Rs"), ("1939)", "(Rs"), ("12,500", "€"), ("12.500", "EUR"), ("450", "USD"), ("7500", "₹")],
)
def test_a_whole_number_beside_its_currency_is_an_amount(text: str, beside: str) -> None:
    assert is_whole_amount(text, beside)


@pytest.mark.parametrize(
    ("text", "beside"),
    [("2019", "TEL"), ("1939", "Total"), ("5", "Rs"), ("12.50", "EUR"), ("1939", "1939"), ("12-500", "€")],
)
def test_a_whole_number_without_a_currency_is_not(text: str, beside: str) -> None:
    assert not is_whole_amount(text, beside)
