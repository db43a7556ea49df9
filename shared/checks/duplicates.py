"""Duplicates: the same invoice received again as another document, across all mailboxes.

* ``duplicate.exact``: identical bytes. Intake stores them once (the record id *is* the SHA-256) and
  writes ``duplicate_received`` on the first record; the check shows those re-sends on the record.
  Info: shown on the dashboard and in the report, but there is no second record that could be paid,
  so it does not by itself stop an auto-approval (a vendor's reminder often re-sends the same file).
* ``duplicate.same_number``: another document of the same vendor with the same invoice number key
  (``shared.domain.keys``), whatever its amount — re-exported, or re-sent with other bank details.
* ``duplicate.near``: same vendor, same amount and currency, invoice dates at most
  ``duplicate_window_days`` apart, and invoice numbers equal once prefix, separators and leading zeros
  are dropped (``INV-001`` / ``INV001`` / ``1``).
* ``duplicate.rescan``: this document was read by OCR (a scan or photo) and is one of the above, or its
  first page reads like an earlier document's (SimHash of the words within a few bits) with the same
  total: the paper copy of an invoice already received, maybe already paid.

Every variant but ``exact`` is high severity: paying both pays the same invoice twice. A person
decides; Papyr never rejects a document on its own.
"""

from __future__ import annotations

from typing import Any

from shared.checks.evidence import field_evidence, field_locations
from shared.checks.history import HistoryInvoice, VendorHistory, fingerprint_distance, number_core
from shared.checks.policy import CheckPolicy
from shared.domain import Finding, InvoiceRecord, Severity, Source
from shared.domain.keys import invoice_number_key, vendor_key
from shared.ports import Repository

FINGERPRINT_BITS = 10  # of 64: re-scans measured at 0-6 bits, other invoices of one template at 14+


def check_duplicates(
    record: InvoiceRecord,
    *,
    repo: Repository,
    history: VendorHistory | None = None,
    fingerprint: str | None = None,
    policy: CheckPolicy | None = None,
) -> list[Finding]:
    extraction = record.extraction
    if extraction is None:
        return []
    policy = policy or CheckPolicy()
    findings = _exact(record, repo)
    matches: dict[str, list[str]] = {}  # other invoice id -> how it matched
    v_key, n_key = vendor_key(extraction.value("vendor_name")), invoice_number_key(extraction.value("invoice_number"))
    if v_key and n_key:
        for other in repo.find_by_business_key(v_key, n_key):
            if other.id != record.id and other.document.sha256 != record.document.sha256:
                matches.setdefault(other.id, []).append("same vendor and invoice number")
    if history is not None:
        for entry in history.others(record.id):
            how = _history_match(record, entry, fingerprint, policy)
            if how:
                matches.setdefault(entry.id, []).append(how)
    if matches:
        findings.append(_finding(record, matches, repo, n_key))
    return findings


def _exact(record: InvoiceRecord, repo: Repository) -> list[Finding]:
    again = [entry for entry in repo.audit_trail(record.id) if entry.action == "duplicate_received"]
    if not again:
        return []
    return [exact_finding(record, [entry.detail for entry in again])]


def exact_finding(record: InvoiceRecord, receipts: list[dict[str, Any]]) -> Finding:
    """The finding for identical bytes received again (also added by intake to a record already checked)."""
    where = sorted({str(r.get("mailbox") or r.get("source_path") or "upload") for r in receipts})
    return Finding(
        code="duplicate.exact",
        severity=Severity.INFO,
        message=(
            f"This exact file was received {len(receipts)} more time(s) ({', '.join(where)}). Papyr keeps one "
            "record for it, so it cannot be paid twice through Papyr; make sure it was not paid another way."
        ),
        evidence={"sha256": record.id, "received_again": receipts[-10:]},
    )


def _history_match(
    record: InvoiceRecord, entry: HistoryInvoice, fingerprint: str | None, policy: CheckPolicy
) -> str | None:
    extraction = record.extraction
    assert extraction is not None
    total, currency = extraction.decimal("total"), extraction.value("currency")
    same_amount = total is not None and entry.total == total and (not currency or entry.currency in (None, currency))
    core = number_core(extraction.value("invoice_number"))
    invoice_date = extraction.date_value("invoice_date")
    within = (
        invoice_date is not None
        and entry.invoice_date is not None
        and abs((invoice_date - entry.invoice_date).days) <= policy.duplicate_window_days
    )
    if same_amount and core and core == entry.number_core and (within or invoice_date is None):
        return "same amount, invoice number equal apart from formatting, dates within the window"
    scanned = extraction.method is Source.OCR
    if (
        scanned
        and fingerprint
        and entry.fingerprint
        and fingerprint_distance(fingerprint, entry.fingerprint) <= FINGERPRINT_BITS
        and (same_amount or total is None)
    ):
        return "the first page reads like the earlier document, same amount"
    return None


def _finding(record: InvoiceRecord, matches: dict[str, list[str]], repo: Repository, n_key: str) -> Finding:
    extraction = record.extraction
    assert extraction is not None
    others = [(other_id, how, repo.get_invoice(other_id)) for other_id, how in matches.items()]
    others.sort(key=lambda item: (item[2].created_at.isoformat() if item[2] else "", item[0]))
    how_all = {h for _, how, _ in others for h in how}
    scanned = extraction.method is Source.OCR
    if scanned:
        code = "duplicate.rescan"
    elif "same vendor and invoice number" in how_all:
        code = "duplicate.same_number"
    else:
        code = "duplicate.near"
    first_id, first_how, first = others[0]
    described = (
        f"{first.document.filename}, {_amount_note(record, first)}, status {first.status.value}"
        if first is not None
        else f"invoice {first_id[:12]}"
    )
    number, vendor = extraction.value("invoice_number"), extraction.value("vendor_name")
    earlier = f" and {len(others) - 1} more" if len(others) > 1 else ""
    lead = {
        "duplicate.rescan": "This scanned document looks like a copy of an invoice already received",
        "duplicate.same_number": f"Invoice {number} from {vendor} was already received as another document",
        "duplicate.near": (
            f"Invoice {number} from {vendor} matches an earlier invoice with the same amount and a number that "
            "differs only in formatting"
        ),
    }[code]
    total = record.total
    return Finding(
        code=code,
        severity=Severity.HIGH,
        message=f"{lead} ({described}; {first_how[0]}){earlier}. Paying both would pay the same invoice twice.",
        evidence={
            "vendor_key": vendor_key(vendor),
            "invoice_number_key": n_key,
            "invoice_number": field_evidence(extraction, "invoice_number"),
            "this_total": str(total) if total is not None else None,
            "read_by_ocr": scanned,
            "others": [_summary(other_id, how, other) for other_id, how, other in others],
            "locations": field_locations(extraction, "invoice_number", "total", "invoice_date"),
        },
    )


def _amount_note(record: InvoiceRecord, other: InvoiceRecord) -> str:
    if other.total is None:
        return "with no total read"
    if other.total == record.total:
        return "with the same total"
    return f"with total {other.total}"


def _summary(other_id: str, how: list[str], other: InvoiceRecord | None) -> dict[str, Any]:
    if other is None:
        return {"id": other_id, "matched_by": how}
    total = other.total
    return {
        "id": other.id,
        "matched_by": how,
        "status": other.status.value,
        "filename": other.document.filename,
        "mailbox": other.document.mail.mailbox,
        "invoice_number": other.extraction.value("invoice_number") if other.extraction else None,
        "total": str(total) if total is not None else None,
        "received_at": other.created_at.isoformat(),
    }
