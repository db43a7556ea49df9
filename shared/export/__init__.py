"""Export approved invoices to the accounting system's outbox: JSON and CSV, exactly once."""

from shared.export.outbox import ExportRefused, export_invoice, export_names, is_approved
from shared.export.payloads import CSV_COLUMNS, EXPORT_FORMAT, export_csv, export_document, export_json

__all__ = [
    "CSV_COLUMNS",
    "EXPORT_FORMAT",
    "ExportRefused",
    "export_csv",
    "export_document",
    "export_invoice",
    "export_json",
    "export_names",
    "is_approved",
]
