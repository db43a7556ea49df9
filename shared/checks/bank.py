"""Vendor master and bank details: is the vendor known, and is the invoice's bank account the one on
file, or the one this vendor's earlier invoices used?

A changed IBAN on an otherwise ordinary invoice is the classic payment-diversion fraud (business
e-mail compromise), so a difference is high severity and shows both accounts side by side.

* ``bank.iban_changed`` (high): differs from the vendor master's IBAN; or, when the master has none,
  from every account on this vendor's earlier invoices (``shared.checks.history``).
* ``bank.first_seen_account``: an account never seen for this vendor and none on file to compare
  with: low when the vendor has earlier invoices that named no account (often an account that was not
  read on them), info on a first invoice (nothing to compare with yet; the vendor master is where a
  confirmed account belongs).
* ``bank.country_mismatch`` (medium): the IBAN's country is not the vendor's (master ``country``,
  else its VAT id's prefix) — accounts abroad are a common step in diverting payments.
"""

from __future__ import annotations

from shared.checks.domains import FREE_MAIL, mail_domain, registrable
from shared.checks.evidence import field_evidence, field_locations
from shared.checks.history import VendorHistory
from shared.checks.identifiers import iban_problem
from shared.domain import Extraction, Finding, Severity, Vendor
from shared.domain.keys import vendor_key
from shared.extraction.normalize import compact


def match_vendor(extraction: Extraction, vendors: list[Vendor], sender: str | None = None) -> tuple[Vendor, str] | None:
    """The master entry for the invoice's vendor and how it matched: by VAT id first (exact), then by
    normalised name, then by the sender's domain when exactly one vendor uses it. The last catches a
    vendor whose name was misread or printed as a logo: the invoice still gets that vendor's account,
    history and duplicates compared (a spoofed From is the sender check's to flag)."""
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
    domain = mail_domain(sender)
    if domain is None or registrable(domain) in FREE_MAIL:
        return None
    users = [v for v in vendors if registrable(domain) in {registrable(d) for d in v.email_domains}]
    return (users[0], "sender_domain") if len(users) == 1 else None


def check_bank_details(
    extraction: Extraction,
    vendors: list[Vendor],
    matched: tuple[Vendor, str] | None,
    history: VendorHistory | None = None,
) -> list[Finding]:
    """``matched``: ``match_vendor``'s answer for this invoice."""
    name = extraction.value("vendor_name")
    if not name and not extraction.value("vendor_vat_id"):
        return []  # nothing to look up; extraction reports the missing vendor
    if matched is None:
        return [
            *_account_vs_history(extraction, None, history),
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
            ),
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
                    "compared_with": "vendor master",
                    "vendor": vendor.name,
                    "matched_by": matched_by,
                    "locations": field_locations(extraction, "iban"),
                },
            )
        )
    elif iban and not vendor.iban:
        findings += _account_vs_history(extraction, vendor, history)
    if not any(f.severity is Severity.HIGH for f in findings):  # a changed account says enough
        findings += _country(extraction, vendor)
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


def _account_vs_history(extraction: Extraction, vendor: Vendor | None, history: VendorHistory | None) -> list[Finding]:
    """No account in the master: compare with the accounts of this vendor's earlier invoices."""
    iban = extraction.value("iban")
    if not iban or history is None:
        return []
    account = compact(iban)
    if account in history.ibans:
        return []
    name = vendor.name if vendor else extraction.value("vendor_name")
    evidence = {
        "invoice_iban": field_evidence(extraction, "iban"),
        "known_ibans": history.ibans[-5:],
        "earlier_invoices": len(history.invoices),
        "compared_with": "earlier invoices",
        "vendor": name,
        "locations": field_locations(extraction, "iban"),
    }
    if history.ibans:
        return [
            Finding(
                code="bank.iban_changed",
                severity=Severity.HIGH,
                message=(
                    f"The bank account on this invoice ({account}) is not the one {name}'s earlier invoices used "
                    f"({', '.join(history.ibans[-3:])}). Confirm the change with the vendor by phone, using a "
                    "number you already had, before paying."
                ),
                evidence=evidence,
            )
        ]
    earlier = [entry for entry in history.invoices if entry.iban != account]
    if vendor is None and not earlier:
        return []  # an unknown vendor's first invoice: "vendor.unknown" already says it all
    return [
        Finding(
            code="bank.first_seen_account",
            severity=Severity.LOW if earlier else Severity.INFO,
            message=(
                f"The bank account {account} has not been seen for {name} before"
                + (f" ({len(earlier)} earlier invoice(s) named no account)" if earlier else "")
                + " and the vendor master has none on file; add it to the vendor master once confirmed."
            ),
            evidence=evidence,
        )
    ]


def vendor_country(extraction: Extraction, vendor: Vendor | None) -> str | None:
    """The vendor's country: the master's, else the VAT id's prefix (Greece's EL is GR)."""
    if vendor is not None and vendor.country:
        return vendor.country.strip().upper()[:2]
    vat_id = (vendor.vat_id if vendor else None) or extraction.value("vendor_vat_id")
    if vat_id and compact(vat_id)[:2].isalpha():
        prefix = compact(vat_id)[:2]
        return "GR" if prefix == "EL" else prefix
    return None


def _country(extraction: Extraction, vendor: Vendor) -> list[Finding]:
    iban = extraction.value("iban")
    country = vendor_country(extraction, vendor)
    if not iban or not country or iban_problem(compact(iban)) is not None:
        return []  # an invalid IBAN is reported by the identifier check
    account_country = compact(iban)[:2]
    if account_country == country:
        return []
    return [
        Finding(
            code="bank.country_mismatch",
            severity=Severity.MEDIUM,
            message=(
                f"The bank account on this invoice is in {account_country}, but {vendor.name} is based in {country}. "
                "A foreign account for a domestic vendor is a common sign of diverted payments; confirm it."
            ),
            evidence={
                "invoice_iban": field_evidence(extraction, "iban"),
                "iban_country": account_country,
                "vendor_country": country,
                "vendor": vendor.name,
                "locations": field_locations(extraction, "iban"),
            },
        )
    ]
