from __future__ import annotations

import pytest

from shared.checks.identifiers import check_identifiers, iban_problem
from shared.domain import ExtractedField, Extraction, Provenance, Severity, Source


def extraction(**values: str) -> Extraction:
    return Extraction(
        fields={
            name: ExtractedField(value=value, confidence=0.95, provenance=Provenance(source=Source.TEXT, page=1))
            for name, value in values.items()
        }
    )


@pytest.mark.parametrize(
    "iban", ["DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "NL50INGB0683251309"]
)
def test_valid_ibans_pass(iban: str) -> None:
    assert check_identifiers(extraction(iban=iban)) == []


@pytest.mark.parametrize(
    ("iban", "code"),
    [
        ("DE89370400440532013001", "iban.invalid_checksum"),
        ("DE8937040044053201300", "iban.invalid_length"),
        ("XX89370400440532013000", "iban.unknown_country"),
        ("DE1212344321987600", "iban.invalid_length"),  # a sample invoice's short test IBAN
    ],
)
def test_invalid_ibans_are_high(iban: str, code: str) -> None:
    [finding] = check_identifiers(extraction(iban=iban))
    assert finding.code == code
    assert finding.severity is Severity.HIGH
    assert iban.replace(" ", "") in finding.message
    assert finding.evidence["iban"]["value"] == iban


def test_iban_problem_names_the_expected_length() -> None:
    assert iban_problem("DE8937040044053201300") == (
        "invalid_length",
        "a DE IBAN has 22 characters, this one has 21",
    )


def test_bic_format_and_country() -> None:
    assert check_identifiers(extraction(bic="COBADEFFXXX", iban="DE89370400440532013000")) == []
    assert check_identifiers(extraction(bic="INGBNL2A")) == []
    [bad] = check_identifiers(extraction(bic="COBADEFXXX"))
    assert (bad.code, bad.severity) == ("bic.invalid_format", Severity.MEDIUM)
    [other_country] = check_identifiers(extraction(bic="INGBNL2A", iban="DE89370400440532013000"))
    assert (other_country.code, other_country.severity) == ("bic.country_mismatch", Severity.LOW)


@pytest.mark.parametrize("vat_id", ["DE136695976", "NL810433941B01", "FR60421938861", "ATU13585627", "GB980780684"])
def test_valid_vat_ids_pass(vat_id: str) -> None:
    assert check_identifiers(extraction(vendor_vat_id=vat_id)) == []


@pytest.mark.parametrize("vat_id", ["DE123456789", "DE12345678", "NL810433942B01", "FR61421938861"])
def test_invalid_vat_ids_are_high(vat_id: str) -> None:
    [finding] = check_identifiers(extraction(vendor_vat_id=vat_id))
    assert (finding.code, finding.severity) == ("vat.invalid", Severity.HIGH)
    assert vat_id in finding.message
    assert finding.evidence["country"] == vat_id[:2]


@pytest.mark.parametrize("vat_id", ["US123456789", "06AABCO6063D1ZQ"])
def test_vat_ids_of_unknown_countries_are_info(vat_id: str) -> None:
    [finding] = check_identifiers(extraction(vendor_vat_id=vat_id))
    assert (finding.code, finding.severity) == ("vat.unverifiable", Severity.INFO)
