"""The orchestration's activities: one function per verb, payload dict in, small dict out.

Registered as activity triggers by ``functions/orchestration.py`` and run by the embedded engine
of the local host. Activities run at least once, so each is idempotent: it reads the invoice
record, does its step, and writes the record back; results are stored under content-derived names.
Only references travel through the orchestration (the invoice id = the document's SHA-256).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from shared.approvals.delivery import send_approval_card
from shared.documents.content import DocumentContent, DocumentRejected, content_blob_name, read_cached_content
from shared.domain import (
    AuditEntry,
    Decision,
    DecisionKind,
    DocumentType,
    Extraction,
    ExtractionStatus,
    InvoiceRecord,
    InvoiceStatus,
    in_time_order,
    utcnow,
)
from shared.services import Services, get_services
from shared.telemetry import record_findings, record_invoice_finished

if TYPE_CHECKING:
    from shared.forensics.check import OriginalDocument

Activity = Callable[[dict[str, Any]], dict[str, Any]]
_tracer = trace.get_tracer(__name__)
ACTOR = "papyr"


def _load(services: Services, invoice_id: str) -> InvoiceRecord:
    record = services.repo.get_invoice(invoice_id)
    if record is None:
        raise LookupError(f"no invoice record {invoice_id}")
    return record


def _save(services: Services, record: InvoiceRecord, action: str, **detail: Any) -> None:
    """Write the record back and audit the step, once: each step happens once per invoice (once per
    approval level), so a retried activity that already audited it saves the record without a second line."""
    record.updated_at = utcnow()
    services.repo.save_invoice(record)
    level = detail.get("level")
    trail = services.repo.audit_trail(record.id)
    if not any(e.actor == ACTOR and e.action == action and e.detail.get("level") == level for e in trail):
        services.repo.append_audit(record.id, AuditEntry(actor=ACTOR, action=action, detail=detail))


def _read_content(services: Services, record: InvoiceRecord) -> DocumentContent:
    """Parse the original once; later steps (and retries) reuse the cached content."""
    from shared.pipeline import read_document

    name = content_blob_name(record.id)
    if services.blobs.exists(name):
        return DocumentContent.model_validate_json(services.blobs.get(name))
    data = services.blobs.get(record.document.blob_name)
    content = read_document(data, record.document.filename, record.document.content_type, services.settings)
    services.blobs.put(name, content.model_dump_json().encode(), "application/json")
    return content


def classify_document(payload: dict[str, Any]) -> dict[str, Any]:
    from shared.extraction import classify
    from shared.pipeline import rejected_as_not_invoice

    services = get_services()
    record = _load(services, payload["invoice_id"])
    record.status = InvoiceStatus.PROCESSING
    try:
        content = _read_content(services, record)
    except DocumentRejected as rejected:
        return _reject(services, record, rejected.reason)
    document_type, reason = classify(content)
    if document_type is DocumentType.NOT_INVOICE:
        record.extraction = rejected_as_not_invoice(reason)
        return _reject(services, record, record.extraction.reason or reason)
    record.extraction = Extraction(document_type=document_type, classification_reason=reason)
    _save(services, record, "classified", document_type=document_type.value, reason=reason)
    return {"status": "ok", "document_type": document_type.value, "reason": reason}


def _reject(services: Services, record: InvoiceRecord, reason: str) -> dict[str, Any]:
    record.status = InvoiceStatus.REJECTED
    record.reason = reason
    _save(services, record, "rejected", reason=reason)
    record_invoice_finished(InvoiceStatus.REJECTED.value)
    return {"status": "rejected", "reason": reason}


def extract_invoice(payload: dict[str, Any]) -> dict[str, Any]:
    from shared.extraction import extract
    from shared.learning import apply_profile
    from shared.pipeline import with_classification

    services = get_services()
    record = _load(services, payload["invoice_id"])
    content = _read_content(services, record)
    classified = record.extraction or Extraction()  # set by classify_document
    with _tracer.start_as_current_span("extract", attributes={"invoice_id": record.id}):
        reason = classified.classification_reason
        extraction = with_classification(
            extract(content, (classified.document_type, reason) if reason else None),
            classified.document_type,
            reason or "",
        )
        extraction = apply_profile(extraction, content, record.document.mail, services.repo)  # what corrections taught
    record.extraction = extraction
    if extraction.status is ExtractionStatus.REJECTED:
        return _reject(services, record, extraction.reason or "extraction failed")
    low = sorted(name for name, f in extraction.fields.items() if f.confidence < 0.8)
    _save(
        services,
        record,
        "extracted",
        method=extraction.method.value if extraction.method else None,
        fields=len(extraction.fields),
        line_items=len(extraction.line_items),
        low_confidence=low,
    )
    return {"status": "ok", "fields": len(extraction.fields)}


def check_invoice(payload: dict[str, Any]) -> dict[str, Any]:
    from shared.checks import risk_score, run_checks
    from shared.checks.policy import CheckPolicy

    services = get_services()
    record = _load(services, payload["invoice_id"])
    original = _original(services, record)
    content = original.content if original is not None else read_cached_content(services.blobs, record.id)
    findings = run_checks(
        record, repo=services.repo, policy=CheckPolicy.from_settings(services.settings), content=content,
        original=original,
    )
    record.findings = findings
    record.risk_score = risk_score(findings)
    _save(
        services,
        record,
        "checked",
        findings=[f.code for f in findings],
        risk_score=record.risk_score,
    )
    record_findings(findings)
    return {"findings": len(findings), "risk_score": record.risk_score}


def _original(services: Services, record: InvoiceRecord) -> OriginalDocument | None:
    """The original bytes and their content, for the tampering checks (None for rejected documents)."""
    from shared.forensics.check import OriginalDocument

    extraction = record.extraction
    if extraction is None or extraction.status is ExtractionStatus.REJECTED:
        return None
    try:
        content = _read_content(services, record)
    except DocumentRejected:
        return None
    return OriginalDocument(services.blobs.get(record.document.blob_name), content, services.settings)


def route_invoice(payload: dict[str, Any]) -> dict[str, Any]:
    from shared.routing import current_policy
    from shared.routing.steps import route_record

    services = get_services()
    record = _load(services, payload["invoice_id"])
    decided = route_record(record, services.repo, current_policy(services.settings))
    record.route = decided
    _save(services, record, "routed", kind=decided.kind.value, approvers=decided.approvers, reasons=decided.reasons,
          rule=decided.policy_rule)
    if decided.kind.value == "reject":  # the orchestration ends here
        record_invoice_finished(InvoiceStatus.REJECTED.value)
    return decided.model_dump(mode="json")


def request_approval(payload: dict[str, Any]) -> dict[str, Any]:
    """Ask the level's approver, or their delegate when they are away (the result names who)."""
    from shared.routing import current_policy
    from shared.routing.steps import assign_level

    services = get_services()
    record = _load(services, payload["invoice_id"])
    level = int(payload["level"])
    asked = assign_level(record, services.repo, current_policy(services.settings), level, services.clock())
    record.status = InvoiceStatus.AWAITING_APPROVAL
    _save(services, record, "approval_requested", approver=asked.approver, level=level,
          **({"notes": asked.notes} if asked.notes else {}))
    send_approval_card(services, record, level, asked.approver, reason="request")
    return {"status": record.status.value, "approver": asked.approver}


def send_reminder(payload: dict[str, Any]) -> dict[str, Any]:
    """Remind the person now asked for the level (``reminder_recipients``)."""
    from shared.routing.steps import remind_level

    services = get_services()
    record = _load(services, payload["invoice_id"])
    level = int(payload["level"])
    recipients = remind_level(record, services.repo, level, services.clock())
    if recipients:  # the card again, to the person now asked (the token is bound to them)
        send_approval_card(services, record, level, recipients[0], reason="reminder")
    return {"status": record.status.value, "to": recipients}


def escalate_approval(payload: dict[str, Any]) -> dict[str, Any]:
    """Escalate an overdue level to the policy's ``escalate_to`` (``escalation_recipients``)."""
    from shared.routing import current_policy
    from shared.routing.steps import escalate_level

    services = get_services()
    record = _load(services, payload["invoice_id"])
    policy = current_policy(services.settings)
    level = int(payload["level"])
    recipients = escalate_level(record, services.repo, policy, level, services.clock())
    approver = record.route.approvers[level - 1] if record.route and level <= len(record.route.approvers) else None
    if approver:  # the level's approver gets an "escalated" card; the audit names who was told
        send_approval_card(services, record, level, approver, reason="escalation")
    return {"status": record.status.value, "escalated_to": recipients}


_STATUS_AFTER: dict[DecisionKind, InvoiceStatus] = {
    DecisionKind.APPROVED: InvoiceStatus.APPROVED,
    DecisionKind.AUTO_APPROVED: InvoiceStatus.APPROVED,
    DecisionKind.REJECTED: InvoiceStatus.DECLINED,
    DecisionKind.EXPIRED: InvoiceStatus.DECLINED,
}


def record_decision(payload: dict[str, Any]) -> dict[str, Any]:
    services = get_services()
    record = _load(services, payload["invoice_id"])
    raw = payload["decision"]
    decision = Decision(
        kind=DecisionKind(raw["kind"]),
        by=raw["by"],
        at=datetime.fromisoformat(raw["at"]) if raw.get("at") else utcnow(),
        comment=raw.get("comment"),
        level=int(raw.get("level", 1)),
    )
    if any(d.level == decision.level and d.kind == decision.kind for d in record.decisions):
        return {"status": record.status.value}  # a retried activity: already recorded
    record.decisions.append(decision)
    record.status = _STATUS_AFTER[decision.kind]
    last_level = record.route is None or decision.level >= len(record.route.approvers)
    if decision.kind is DecisionKind.APPROVED and not last_level:
        record.status = InvoiceStatus.AWAITING_APPROVAL  # the next level still has to approve
    if decision.kind is DecisionKind.EXPIRED:
        record.reason = decision.comment
    elif decision.kind is DecisionKind.REJECTED:
        record.reason = f"rejected by {decision.by}" + (f": {decision.comment}" if decision.comment else "")
    _save(services, record, "decision_recorded", **decision.model_dump(mode="json"))
    if record.status is InvoiceStatus.DECLINED:  # final: only the report follows
        record_invoice_finished(record.status.value)
    return {"status": record.status.value}


def render_report(payload: dict[str, Any]) -> dict[str, Any]:
    from shared.reports import render_approval_report

    services = get_services()
    record = _load(services, payload["invoice_id"])
    from shared.reports.page_image import report_pages

    pages = report_pages(services.blobs, record, services.settings.max_pages)
    pdf = render_approval_report(record, in_time_order(services.repo.audit_trail(record.id)), page_images=pages)
    name = f"reports/{record.id}.pdf"
    if not services.blobs.exists(name):  # a retried activity keeps the first: reports are write-once
        services.blobs.put(name, pdf, "application/pdf")
    record.report_blob = name
    _save(services, record, "report_rendered", blob=name)
    return {"report": name}


def export_invoice(payload: dict[str, Any]) -> dict[str, Any]:
    from shared.export import export_invoice as write_export

    services = get_services()
    record = _load(services, payload["invoice_id"])
    paths = write_export(record, blobs=services.blobs, repo=services.repo)
    record.export_paths = paths
    record.status = InvoiceStatus.EXPORTED
    _save(services, record, "exported", paths=paths)
    record_invoice_finished(record.status.value)
    return {"exports": paths}


def mark_failed(payload: dict[str, Any]) -> dict[str, Any]:
    services = get_services()
    record = _load(services, payload["invoice_id"])
    record.status = InvoiceStatus.FAILED
    record.reason = payload.get("reason") or "internal error"
    _save(services, record, "failed", reason=record.reason)
    record_invoice_finished(record.status.value)
    return {"status": record.status.value}


ACTIVITIES: dict[str, Activity] = {
    fn.__name__: fn
    for fn in (
        classify_document,
        extract_invoice,
        check_invoice,
        route_invoice,
        request_approval,
        send_reminder,
        escalate_approval,
        record_decision,
        render_report,
        export_invoice,
        mark_failed,
    )
}

__all__ = ["ACTIVITIES"]

from shared.mailboxes.activities import MAILBOX_ACTIVITIES  # noqa: E402  (issue 4: subscription renewal)

ACTIVITIES.update(MAILBOX_ACTIVITIES)
