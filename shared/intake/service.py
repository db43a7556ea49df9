"""Intake: a mail message or a file in, stored originals and one invoice record per new document out.

Deduplicates at two of the brief's three levels (the notification level belongs to the mailbox
connectors): the message (mailbox + Message-ID) and the document (SHA-256 of its bytes).
Every original is kept: the raw message under ``messages/``, each document under ``documents/``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, Field

from shared import telemetry
from shared.domain import AuditEntry, DocumentRef, InvoiceRecord, MailContext
from shared.ports import OrchestrationClient
from shared.services import Services, get_services
from shared.settings import Settings

_log = logging.getLogger(__name__)
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "application/xml": ".xml",
}


class Outcome(StrEnum):
    NEW = "new"
    DUPLICATE_DOCUMENT = "duplicate document"
    DUPLICATE_MESSAGE = "duplicate message"
    NO_CARRIER = "no invoice carrier"
    UNREADABLE = "unreadable"


class IngestResult(BaseModel):
    """What intake did with one message or file; ``documents`` are the new ones to orchestrate."""

    source: str
    outcome: Outcome
    detail: str = ""
    documents: list[DocumentRef] = Field(default_factory=list)
    duplicates: list[str] = Field(default_factory=list)  # invoice ids seen before
    skipped: list[str] = Field(default_factory=list)
    # W3C trace carrier of each new document's intake span, by invoice id: the orchestration started
    # for it (maybe in another process: the intake pool) continues that trace.
    traces: dict[str, dict[str, str]] = Field(default_factory=dict)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:[ \t]?")
_MAIL_HEADERS = (b"from:", b"subject:", b"message-id:", b"mime-version:", b"received:", b"content-type:", b"date:")


def is_message(data: bytes, filename: str) -> bool:
    """An RFC 5322 message: .eml, or a header block with mail headers (whatever the file name)."""
    if filename.lower().endswith(".eml"):
        return True
    head = data[:65536]
    end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i > 0), default=-1)
    if end <= 0:
        return False
    lines = head[:end].splitlines()
    if not lines or not _HEADER_LINE.match(lines[0]):
        return False
    names = {line.split(b":", 1)[0].lower() + b":" for line in lines if _HEADER_LINE.match(line)}
    return len(names.intersection(_MAIL_HEADERS)) >= 2


def ingest_file(
    data: bytes, filename: str, mailbox: str | None = None, *, services: Services | None = None
) -> IngestResult:
    """A dropped or uploaded file: a whole mail message (.eml) or a single document."""
    services = services or get_services()
    if is_message(data, filename):
        return ingest_message(data, mailbox=mailbox, source=filename, services=services)
    from shared.intake import sniff_content_type

    content_type = sniff_content_type(data, filename) or "application/octet-stream"
    ref, duplicate_of = store_document(
        data, filename, content_type, MailContext(mailbox=mailbox, source_path=filename), services
    )
    if duplicate_of:
        return IngestResult(source=filename, outcome=Outcome.DUPLICATE_DOCUMENT, duplicates=[duplicate_of])
    return IngestResult(source=filename, outcome=Outcome.NEW, documents=[ref], traces=_traces([ref]))


def ingest_message(
    raw: bytes, *, mailbox: str | None = None, source: str = "", services: Services | None = None
) -> IngestResult:
    from shared.intake import parse_message

    services = services or get_services()
    message_sha = sha256_hex(raw)
    services.blobs.put(f"messages/{message_sha}.eml", raw, "message/rfc822")  # the original, always kept
    parsed = parse_message(raw, mailbox=mailbox)
    mail = parsed.mail.model_copy(update={"source_path": source or None})
    source = source or mail.message_id or message_sha
    message_key = mail.message_id or f"sha256:{message_sha}"
    if services.repo.message_claimed(mailbox or "", message_key):
        return IngestResult(source=source, outcome=Outcome.DUPLICATE_MESSAGE, detail=mail.message_id or "")
    skipped = [f"{part.filename or part.content_type}: {part.reason}" for part in parsed.skipped]
    result = IngestResult(source=source, outcome=Outcome.NEW, skipped=skipped)
    if not parsed.carriers:
        result.detail = "; ".join([*parsed.errors, *skipped]) or "the message carries no PDF, image or XML invoice"
        result.outcome = Outcome.UNREADABLE if parsed.errors and not skipped else Outcome.NO_CARRIER
    for carrier in parsed.carriers:
        ref, duplicate_of = store_document(carrier.data, carrier.filename, carrier.content_type, mail, services)
        if duplicate_of:
            result.duplicates.append(duplicate_of)
        else:
            result.documents.append(ref)
    if parsed.carriers and not result.documents:
        result.outcome = Outcome.DUPLICATE_DOCUMENT
    # Claimed last: a crash before this line re-reads the message next time, and its documents
    # dedupe by content hash; claimed first, a crash would have lost them.
    services.repo.claim_message(mailbox or "", message_key)
    result.traces = _traces(result.documents)
    return result


def _traces(refs: list[DocumentRef]) -> dict[str, dict[str, str]]:
    """The carriers ``store_document`` left for these documents (they stay there too, for a start
    in this process)."""
    return {ref.sha256: carrier for ref in refs if (carrier := telemetry.pending_traces.get(ref.sha256))}


def store_document(
    data: bytes, filename: str, content_type: str, mail: MailContext, services: Services
) -> tuple[DocumentRef, str | None]:
    """Store the bytes by content hash and create the invoice record, unless these bytes were seen
    before: then the earlier record gets an audit line and its id is returned as the duplicate."""
    digest = sha256_hex(data)
    safe_name = PurePath(filename.replace("\\", "/")).name or "document"
    blob_name = f"documents/{digest}{_EXTENSIONS.get(content_type, PurePath(safe_name).suffix.lower()[:8])}"
    ref = DocumentRef(
        sha256=digest, blob_name=blob_name, filename=safe_name, content_type=content_type, size=len(data), mail=mail
    )
    existing = services.repo.get_invoice(digest)
    if existing is not None:
        services.repo.append_audit(
            digest,
            AuditEntry(actor="papyr", action="duplicate_received", detail=_mail_detail(mail, safe_name)),
        )
        _show_exact_duplicate(existing, services)
        return existing.document, digest
    # A new document opens its invoice's trace; the orchestration's activities continue it.
    attributes = {"papyr.filename": safe_name, "papyr.content_type": content_type, "papyr.bytes": len(data)}
    with telemetry.document_span(digest, {**attributes, **({"papyr.mailbox": mail.mailbox} if mail.mailbox else {})}):
        services.blobs.put(blob_name, data, content_type)
        services.repo.save_invoice(InvoiceRecord(id=digest, document=ref))
        services.repo.append_audit(
            digest, AuditEntry(actor="papyr", action="received", detail=_mail_detail(mail, safe_name))
        )
        telemetry.pending_traces.remember(digest, telemetry.current_carrier())
    return ref, None


def _show_exact_duplicate(record: InvoiceRecord, services: Services) -> None:
    """A record whose checks already ran gets (or refreshes) its ``duplicate.exact`` finding, so the
    re-send shows on the dashboard and in the report; one not yet checked gets it from the checks."""
    from shared.checks.duplicates import exact_finding

    if record.extraction is None or record.status.value in ("received", "processing"):
        return
    receipts = [e.detail for e in services.repo.audit_trail(record.id) if e.action == "duplicate_received"]
    record.findings = [f for f in record.findings if f.code != "duplicate.exact"] + [exact_finding(record, receipts)]
    services.repo.save_invoice(record)


def _mail_detail(mail: MailContext, filename: str) -> dict[str, Any]:
    return {"filename": filename, **mail.model_dump(mode="json", exclude_none=True)}


def orchestration_input(
    ref: DocumentRef, settings: Settings, trace: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The orchestration's input: the document reference, the approval policy's timings
    (orchestrators may not read settings or files themselves) and, when traced, the invoice's W3C
    trace carrier. A broken policy file still starts the orchestration (with the orchestrator's
    default timings): its routing step then fails with the file's problems, recorded on the invoice,
    instead of a stored document that nothing ever processes."""
    from shared.routing import PolicyError, current_policy

    try:
        timings = current_policy(settings).timings.orchestration_input()
    except (PolicyError, ValueError) as error:
        _log.error("event=approval-policy-unusable document=%s error=%s", ref.sha256, error)
        timings = {}
    payload: dict[str, Any] = {"document": ref.model_dump(mode="json"), "approval": timings}
    if trace:
        payload[telemetry.TRACE_KEY] = dict(trace)
    return payload


def _trace_for(ref: DocumentRef) -> dict[str, str]:
    """The carrier intake left for this document; without one (intake in a process that traced
    nothing), a root span opened now, so the invoice still gets its trace."""
    carrier = telemetry.pending_traces.take(ref.sha256)
    if carrier:
        return carrier
    with telemetry.document_span(ref.sha256, {"papyr.filename": ref.filename}):
        return telemetry.current_carrier()


async def start_orchestrations(
    refs: list[DocumentRef], client: OrchestrationClient, settings: Settings | None = None
) -> list[str]:
    """One orchestration per new document; the instance id derives from the content hash, and the
    client's start is idempotent, so a replayed intake starts nothing twice."""
    from orchestrators.invoice import ORCHESTRATOR_NAME, instance_id_for

    settings = settings or get_services().settings
    started = []
    for ref in refs:
        started.append(
            await client.start(
                ORCHESTRATOR_NAME, instance_id_for(ref.sha256), orchestration_input(ref, settings, _trace_for(ref))
            )
        )
    return started
