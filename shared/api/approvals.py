"""The approval callback: a reviewer's decision, delivered to the waiting orchestration.

Authentication with signed, single-use action tokens (Teams cards, mailed links) comes in a later
issue; until then the route sits behind the function key on Azure and localhost on the local host,
and ``by`` is taken as given.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from orchestrators.invoice import approval_event, instance_id_for
from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.domain import AuditEntry, DecisionKind, InvoiceRecord, InvoiceStatus, utcnow
from shared.services import get_services

APPROVAL_RECEIVED = "approval_received"
# Runtime states in which an orchestration can still receive the event.
LIVE_STATES = frozenset({"Pending", "Running"})
_LEVEL_DECISIONS = frozenset({DecisionKind.APPROVED, DecisionKind.REJECTED, DecisionKind.EXPIRED})


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "rejected"]
    # Who decides: the signed-in principal when there is one (then ``by`` is ignored).
    by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    level: int | None = Field(default=None, ge=1, description="the approval level this answers, if known")


def next_level(record: InvoiceRecord) -> int:
    """The approval level now waiting: one past the highest level decided so far."""
    decided = [d.level for d in record.decisions if d.kind in _LEVEL_DECISIONS and d.level >= 1]
    return max(decided, default=0) + 1


def _already_received(invoice_id: str, level: int) -> bool:
    """A decision for this level was delivered but the orchestration has not recorded it yet."""
    trail = get_services().repo.audit_trail(invoice_id)
    return any(e.action == APPROVAL_RECEIVED and e.detail.get("level") == level for e in trail)


def _parse(request: ApiRequest) -> ApprovalRequest | ApiResponse:
    # Only JSON: a cross-site page can make a browser POST text/plain or a form, not
    # application/json (that needs a CORS preflight this API never grants), so this stops a
    # malicious page from deciding through a reviewer's browser.
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return ApiResponse.error(415, "send the decision as application/json")
    try:
        payload = request.json()
    except (ValueError, UnicodeDecodeError):
        return ApiResponse.error(400, "body must be JSON: {\"decision\": \"approved\"|\"rejected\", \"by\": ...}")
    if not isinstance(payload, dict):
        return ApiResponse.error(400, "body must be a JSON object")
    try:
        return ApprovalRequest.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        return ApiResponse.error(400, f"invalid approval: {problems}")


async def post_approval(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    approval = _parse(request)
    if isinstance(approval, ApiResponse):
        return approval
    by = request.principal.id if request.principal is not None else approval.by
    if not by:
        return ApiResponse.error(400, "invalid approval: by: who decides is required when not signed in")
    invoice_id = request.path_params.get("invoice_id", "").strip()
    repo = get_services().repo
    record = repo.get_invoice(invoice_id) if invoice_id else None
    if record is None:
        return ApiResponse.error(404, f"no invoice with id {invoice_id!r}")
    if record.status != InvoiceStatus.AWAITING_APPROVAL:
        return ApiResponse.error(409, f"invoice is {record.status.value}, not awaiting approval")

    level = next_level(record)
    if approval.level is not None and approval.level != level:
        return ApiResponse.error(409, f"approval level {approval.level} is not open; level {level} is")
    if _already_received(record.id, level):
        return ApiResponse.error(409, f"a decision for approval level {level} was already received")
    instance_id = instance_id_for(record.id)
    state = await ctx.orchestration.status(instance_id)
    if state is None or state.runtime_status not in LIVE_STATES:
        runtime = state.runtime_status if state else "missing"
        return ApiResponse.error(409, f"the invoice's orchestration is not waiting ({runtime})")

    approvers = record.route.approvers if record.route else []
    expected = approvers[level - 1] if level <= len(approvers) else None
    at = utcnow()
    event = {"decision": approval.decision, "by": by, "comment": approval.comment,
             "at": at.isoformat(), "level": level}
    # Deliver first: if the audit write then failed, the decision still counts; the other order
    # could leave a recorded decision that never reached the orchestration and blocks a retry.
    await ctx.orchestration.raise_event(instance_id, approval_event(level), event)
    detail = {"decision": approval.decision, "comment": approval.comment, "level": level,
              "expected_approver": expected}
    repo.append_audit(record.id, AuditEntry(at=at, actor=by, action=APPROVAL_RECEIVED, detail=detail))
    return ApiResponse.of_json(
        {"invoice_id": record.id, "instance_id": instance_id, "decision": approval.decision,
         "level": level, "accepted": True},
        status=202,
    )
