"""All checks on one invoice record, most severe first.

The run reads the vendor master and the vendor's history once, runs every check, then records this
invoice in the vendor's history (``shared.checks.history``) — after the checks, so an invoice is never
compared with itself, and keyed by invoice id, so a re-run does not count it twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.checks.anomaly import check_anomalies
from shared.checks.arithmetic import check_arithmetic
from shared.checks.bank import check_bank_details, match_vendor
from shared.checks.duplicates import check_duplicates
from shared.checks.einvoice_page import check_einvoice_against_page
from shared.checks.history import entry_for, history_key, load_history, remember, text_fingerprint
from shared.checks.identifiers import check_identifiers
from shared.checks.po_match import check_purchase_order
from shared.checks.policy import CheckPolicy
from shared.checks.sender import check_sender
from shared.documents.content import DocumentContent
from shared.domain import DocumentType, ExtractionStatus, Finding, InvoiceRecord, Severity
from shared.domain.models import SEVERITY_RANK
from shared.ports import Repository

if TYPE_CHECKING:
    from shared.forensics.check import OriginalDocument

_CONCERN = SEVERITY_RANK[Severity.MEDIUM]


def run_checks(
    record: InvoiceRecord,
    *,
    repo: Repository,
    policy: CheckPolicy | None = None,
    content: DocumentContent | None = None,
    original: OriginalDocument | None = None,
) -> list[Finding]:
    """``content`` (the read document, when the caller has it) lets the rescan check compare pages;
    ``original`` (the document's bytes and content) enables the tampering checks."""
    extraction = record.extraction
    if (
        extraction is None
        or extraction.status is ExtractionStatus.REJECTED
        or extraction.document_type is DocumentType.NOT_INVOICE
    ):
        return []
    policy = policy or CheckPolicy()
    content = content or (original.content if original is not None else None)
    vendors = repo.list_vendors()
    mail = record.document.mail
    matched = match_vendor(extraction, vendors, mail.sender)
    master = matched[0] if matched else None
    history = load_history(repo, history_key(extraction, master))
    fingerprint = text_fingerprint(content)
    bank = check_bank_details(extraction, vendors, matched, history)
    sender = check_sender(record, vendors=vendors, master=master, history=history)
    findings = [
        *check_arithmetic(extraction),
        *check_identifiers(extraction),
        *check_duplicates(record, repo=repo, history=history, fingerprint=fingerprint, policy=policy),
        *bank,
        *sender,
        *check_anomalies(extraction, invoice_id=record.id, master=master, history=history, policy=policy),
        *check_purchase_order(record, repo=repo, master=master, policy=policy),
    ]
    tampering = check_einvoice_against_page(extraction, content)
    if original is not None:
        from shared.forensics.check import check_tampering

        tampering += check_tampering(record, original, repo=repo)
    findings += tampering
    # What this invoice teaches the vendor's history is trusted only when nothing looked forged.
    forged = _concerns(tampering, "tamper.", "einvoice.")
    remember(
        repo,
        history.vendor_key,
        entry_for(
            record.id,
            extraction,
            received_at=mail.received_at or record.created_at,
            sender=mail.sender,
            fingerprint=fingerprint,
        ),
        trust_iban=not forged and not _concerns(bank, "bank.", "iban."),
        trust_sender=not forged and not _concerns(sender, "sender."),
    )
    # Stable sort: within a severity, checks keep the order above.
    return sorted(findings, key=lambda finding: -SEVERITY_RANK[finding.severity])


def _concerns(findings: list[Finding], *prefixes: str) -> bool:
    return any(f.code.startswith(prefixes) and SEVERITY_RANK[f.severity] >= _CONCERN for f in findings)
