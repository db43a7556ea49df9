"""Vendor master: is the vendor known, and is the invoice's bank account the one on file?

A changed IBAN on an otherwise ordinary invoice is the classic payment-diversion fraud (business
e-mail compromise), so a difference is high severity and shows both accounts side by side.
"""

from __future__ import annotations

from shared.checks.evidence import field_evidence
from shared.checks.identifiers import compact
from shared.domain import Extraction, Finding, Severity, Vendor
from shared.domain.keys import vendor_key


def match_vendor(extraction: Extraction, vendors: list[Vendor]) -> tuple[Vendor, str] | None:
    """The master entry for the invoice's vendor and how it matched: by VAT id first (exact), then
    by normalised name."""
    vat_id = extraction.value("vendor_vat_id")
    if vat_id:
        wanted = compact(vat_id)
        for vendor in vendors:
            if vendor.vat_id and compact(vendor.vat_id) == wanted:
                return vendor, "vat_id"
    key = vendor_key(extraction.value("vendor_name"))
    if key:
        for vendor in vendors:
            if vendor_key(vendor.name) == key:
                return vendor, "name"
    return None


def check_bank_details(extraction: Extraction, vendors: list[Vendor]) -> list[Finding]:
    name = extraction.value("vendor_name")
    if not name and not extraction.value("vendor_vat_id"):
        return []  # nothing to look up; extraction reports the missing vendor
    matched = match_vendor(extraction, vendors)
    if matched is None:
        return [
            Finding(
                code="vendor.unknown",
                severity=Severity.LOW,
                message=f"The vendor {name or extraction.value('vendor_vat_id')} is not in the vendor master; "
                "confirm it is a real supplier before paying.",
                evidence={
                    "vendor_name": field_evidence(extraction, "vendor_name"),
                    "vendor_vat_id": field_evidence(extraction, "vendor_vat_id"),
                    "vendors_in_master": len(vendors),
                },
            )
        ]
    vendor, matched_by = matched
    findings: list[Finding] = []
    iban = extraction.value("iban")
    if iban and vendor.iban and compact(iban) != compact(vendor.iban):
        findings.append(
            Finding(
                code="bank.iban_changed",
                severity=Severity.HIGH,
                message=(
                    f"The bank account on this invoice ({compact(iban)}) differs from the one on file for "
                    f"{vendor.name} ({compact(vendor.iban)}). Confirm the change with the vendor by phone, "
                    "using a number from the vendor master, before paying."
                ),
                evidence={
                    "invoice_iban": field_evidence(extraction, "iban"),
                    "master_iban": compact(vendor.iban),
                    "vendor": vendor.name,
                    "matched_by": matched_by,
                },
            )
        )
    vat_id = extraction.value("vendor_vat_id")
    if matched_by == "name" and vat_id and vendor.vat_id and compact(vat_id) != compact(vendor.vat_id):
        findings.append(
            Finding(
                code="vendor.vat_id_differs",
                severity=Severity.MEDIUM,
                message=(
                    f"The VAT id on this invoice ({compact(vat_id)}) differs from the one on file for "
                    f"{vendor.name} ({compact(vendor.vat_id)})."
                ),
                evidence={
                    "invoice_vat_id": field_evidence(extraction, "vendor_vat_id"),
                    "master_vat_id": compact(vendor.vat_id),
                    "vendor": vendor.name,
                },
            )
        )
    return findings
