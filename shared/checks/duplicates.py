"""Duplicates: the same vendor and invoice number already received as another document.

Identical bytes never get here: intake deduplicates by SHA-256, and the record id *is* that hash.
What remains is the resent invoice — re-scanned, re-exported, or re-sent with other bank details —
which is how invoices get paid twice. A person decides; Papyr never rejects it on its own.
"""

from __future__ import annotations

from typing import Any

from shared.domain import Finding, InvoiceRecord, Severity
from shared.domain.keys import invoice_number_key, vendor_key
from shared.ports import Repository


def check_duplicates(record: InvoiceRecord, *, repo: Repository) -> list[Finding]:
    extraction = record.extraction
    if extraction is None:
        return []
    vendor, number = extraction.value("vendor_name"), extraction.value("invoice_number")
    v_key, n_key = vendor_key(vendor), invoice_number_key(number)
    if not v_key or not n_key:
        return []  # no business key: nothing to compare
    others = [
        other
        for other in repo.find_by_business_key(v_key, n_key)
        if other.id != record.id and other.document.sha256 != record.document.sha256
    ]
    if not others:
        return []
    others.sort(key=lambda other: (other.created_at, other.id))
    total = record.total
    first = others[0]
    if first.total is None:
        amount_note = "with no total read"
    elif first.total == total:
        amount_note = "with the same total"
    else:
        amount_note = f"with total {first.total}"
    earlier = f" and {len(others) - 1} more" if len(others) > 1 else ""
    return [
        Finding(
            code="duplicate.same_number",
            severity=Severity.HIGH,
            message=(
                f"Invoice {number} from {vendor} was already received as another document "
                f"({first.document.filename}, {amount_note}, status {first.status.value}){earlier}. "
                "Paying both would pay the same invoice twice."
            ),
            evidence={
                "vendor_key": v_key,
                "invoice_number_key": n_key,
                "this_total": str(total) if total is not None else None,
                "others": [_summary(other) for other in others],
            },
        )
    ]


def _summary(other: InvoiceRecord) -> dict[str, Any]:
    total = other.total
    return {
        "id": other.id,
        "status": other.status.value,
        "filename": other.document.filename,
        "total": str(total) if total is not None else None,
        "received_at": other.created_at.isoformat(),
    }
