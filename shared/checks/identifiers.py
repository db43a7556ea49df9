"""Identifier checksums: the payee IBAN (ISO 13616), the BIC (ISO 9362) and the vendor's VAT id.

A wrong checksum means a typo, a misread, or a forged number; a payment to an invalid IBAN bounces
at best. python-stdnum does the arithmetic; this module turns its verdicts into findings.
"""

from __future__ import annotations

import re
from typing import Any

from stdnum import bic as bic_number
from stdnum import iban as iban_number
from stdnum import numdb
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.iso7064 import mod_97_10
from stdnum.util import get_cc_module

from shared.checks.evidence import field_evidence
from shared.domain import Extraction, Finding, Severity
from shared.extraction.normalize import compact

_IBAN_DB = numdb.get("iban")
_BBAN_PART = re.compile(r"([1-9][0-9]*)!([nac])")
# Greece's VAT prefix is EL, its ISO country code GR; eu.vat knows both.
_EU_VAT_PREFIXES = {cc.upper() for cc in eu_vat.MEMBER_STATES} | {"EL"}


def check_identifiers(extraction: Extraction) -> list[Finding]:
    findings: list[Finding] = []
    iban = extraction.value("iban")
    if iban:
        findings.extend(_check_iban(extraction, compact(iban)))
    bic = extraction.value("bic")
    if bic:
        findings.extend(_check_bic(extraction, compact(bic), compact(iban) if iban else None))
    vat_id = extraction.value("vendor_vat_id")
    if vat_id:
        findings.extend(_check_vat(extraction, compact(vat_id)))
    return findings


def iban_problem(iban: str) -> tuple[str, str] | None:
    """None for a valid IBAN, else (code suffix, plain reason)."""
    country = iban[:2]
    structure = _IBAN_DB.info(iban)[0][1].get("bban") if len(iban) >= 2 else None
    if not structure:
        return "unknown_country", f"'{country}' is not a country that issues IBANs"
    expected = 4 + sum(int(count) for count, _ in _BBAN_PART.findall(structure))
    if len(iban) != expected:
        return "invalid_length", f"a {country} IBAN has {expected} characters, this one has {len(iban)}"
    try:
        mod_97_10.validate(iban[4:] + iban[:4])
    except ValidationError:
        return "invalid_checksum", "its check digits do not match (ISO 13616 mod-97)"
    try:
        iban_number.validate(iban)
    except ValidationError:
        return "invalid_format", f"it does not have the format of a {country} account number"
    return None


def _check_iban(extraction: Extraction, iban: str) -> list[Finding]:
    problem = iban_problem(iban)
    if problem is None:
        return []
    suffix, reason = problem
    return [
        Finding(
            code=f"iban.{suffix}",
            severity=Severity.HIGH,
            message=f"The bank account (IBAN {iban}) on the invoice is not valid: {reason}. Do not pay to it "
            "before confirming the account with the vendor.",
            evidence={"iban": field_evidence(extraction, "iban"), "compact": iban},
        )
    ]


def _check_bic(extraction: Extraction, bic: str, iban: str | None) -> list[Finding]:
    evidence: dict[str, Any] = {"bic": field_evidence(extraction, "bic"), "compact": bic}
    try:
        bic_number.validate(bic)
    except ValidationError:
        return [
            Finding(
                code="bic.invalid_format",
                severity=Severity.MEDIUM,
                message=f"The bank code (BIC {bic}) is not well formed: a BIC has 8 or 11 letters and digits "
                "(bank, country, location, optional branch).",
                evidence=evidence,
            )
        ]
    if iban and len(iban) >= 2 and iban[:2].isalpha() and bic[4:6] != iban[:2]:
        return [
            Finding(
                code="bic.country_mismatch",
                severity=Severity.LOW,
                message=f"The bank code (BIC {bic}) is for country {bic[4:6]}, but the IBAN is for {iban[:2]}.",
                evidence={**evidence, "iban": field_evidence(extraction, "iban")},
            )
        ]
    return []


def _vat_module(country: str) -> Any:
    if country in _EU_VAT_PREFIXES:
        return eu_vat
    return get_cc_module(country.lower(), "vat")


def _check_vat(extraction: Extraction, vat_id: str) -> list[Finding]:
    evidence: dict[str, Any] = {"vendor_vat_id": field_evidence(extraction, "vendor_vat_id"), "compact": vat_id}
    country = vat_id[:2]
    module = _vat_module(country) if country.isalpha() else None
    if module is None:
        return [
            Finding(
                code="vat.unverifiable",
                severity=Severity.INFO,
                message=f"The vendor's tax id {vat_id} has no country prefix Papyr can check; it was not verified.",
                evidence=evidence,
            )
        ]
    try:
        module.validate(vat_id)
    except InvalidChecksum:
        reason = "its check digit is wrong"
    except ValidationError as error:
        reason = str(error).rstrip(".").lower() or "it is not well formed"
    else:
        return []
    return [
        Finding(
            code="vat.invalid",
            severity=Severity.HIGH,
            message=f"The vendor's VAT id {vat_id} is not valid: {reason}. A real vendor's VAT id always "
            "passes this check.",
            evidence={**evidence, "country": country},
        )
    ]
