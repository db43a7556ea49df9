"""Export an approved invoice to the outbox, exactly once.

Activities run at least once, so this may run again after a crash at any point. The order makes
every retry harmless:

1. Build both files from the record alone (same record → same bytes).
2. Write each file that is not there yet. ``put`` is idempotent by name and content, and a file that
   already exists is left as it is: an export, once written, is never changed.
3. Claim ``(invoice_id, target)`` in the export ledger. Claiming *after* writing means a claim always
   points at files that were written; a crash between 2 and 3 just repeats step 2 as a no-op.

A claim with a missing file (the outbox was cleaned, or a crash in a store without atomic puts)
is rewritten with the same bytes: the content is a pure function of the approved record, so the
rewrite is the same export, not a second one. Consumers key imports by the file name (invoice id).
"""

from __future__ import annotations

from shared.domain import DecisionKind, InvoiceRecord, InvoiceStatus
from shared.export.payloads import export_csv, export_json
from shared.ports import BlobStore, Repository

EXPORT_PREFIX = "exports/"
DEFAULT_TARGET = "outbox"


class ExportRefused(ValueError):
    """The invoice may not be exported (it is not approved)."""


def export_names(invoice_id: str) -> list[str]:
    return [f"{EXPORT_PREFIX}{invoice_id}.json", f"{EXPORT_PREFIX}{invoice_id}.csv"]


def is_approved(record: InvoiceRecord) -> bool:
    if record.status in (InvoiceStatus.APPROVED, InvoiceStatus.EXPORTED):
        return True
    kinds = [decision.kind for decision in record.decisions]
    approvals = (DecisionKind.APPROVED, DecisionKind.AUTO_APPROVED)
    return bool(kinds) and kinds[-1] in approvals and DecisionKind.REJECTED not in kinds


def export_invoice(
    record: InvoiceRecord, *, blobs: BlobStore, repo: Repository, target: str = DEFAULT_TARGET
) -> list[str]:
    """Write ``exports/<id>.json`` and ``exports/<id>.csv`` once; returns their blob names."""
    if not is_approved(record):
        raise ExportRefused(f"invoice {record.id} is {record.status.value}, not approved: not exported")
    json_name, csv_name = export_names(record.id)
    files = ((json_name, export_json(record), "application/json"), (csv_name, export_csv(record), "text/csv"))
    for name, data, content_type in files:
        if not blobs.exists(name):
            blobs.put(name, data, content_type)
    repo.claim_export(record.id, target)  # the ledger entry; False on a retry, which is fine
    return [json_name, csv_name]
