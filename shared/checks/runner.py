"""All checks on one invoice record, most severe first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.checks.arithmetic import check_arithmetic
from shared.checks.bank import check_bank_details
from shared.checks.duplicates import check_duplicates
from shared.checks.identifiers import check_identifiers
from shared.domain import DocumentType, ExtractionStatus, Finding, InvoiceRecord
from shared.domain.models import SEVERITY_RANK
from shared.ports import Repository

if TYPE_CHECKING:
    from shared.forensics.check import OriginalDocument


def run_checks(record: InvoiceRecord, *, repo: Repository, original: OriginalDocument | None = None) -> list[Finding]:
    """``original`` (the document's bytes and content) enables the tampering checks."""
    extraction = record.extraction
    if (
        extraction is None
        or extraction.status is ExtractionStatus.REJECTED
        or extraction.document_type is DocumentType.NOT_INVOICE
    ):
        return []
    findings = [
        *check_arithmetic(extraction),
        *check_identifiers(extraction),
        *check_duplicates(record, repo=repo),
        *check_bank_details(extraction, repo.list_vendors()),
    ]
    if original is not None:
        from shared.forensics.check import check_tampering

        findings += check_tampering(record, original, repo=repo)
    # Stable sort: within a severity, checks keep the order above.
    return sorted(findings, key=lambda finding: -SEVERITY_RANK[finding.severity])
