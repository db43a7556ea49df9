"""The approval callback: a reviewer's decision, delivered to the waiting orchestration.

``POST /api/approvals/{invoice_id}`` with ``{"decision": "approved"|"rejected"|"question", "comment":
..., "token": ...}``. The caller proves who they are with an action token, an Entra ID bearer token or
a signed-in session (``shared.approvals.credentials``); ``by`` in the body is only checked against
that identity, never believed. Then, in order:

- 401: no or an invalid / expired credential;
- 403: a token for another invoice or decision, someone who is not the level's approver, or the
  four-eyes rule (whoever uploaded the document or corrected a field may not approve it);
- 409: the invoice or level is no longer open, a token already used, another decision already in;
- a question is audited (``question_asked``) and leaves the level open; approve / reject raises the
  level's event once. The same accepted decision delivered again before the orchestration recorded
  it gets the same 202 and raises nothing.

Every refusal is audited as ``approval_refused`` (status and why) and changes nothing else.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from orchestrators.invoice import approval_event, instance_id_for
from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.approvals.credentials import Credential, Unauthenticated, authenticate
from shared.approvals.tokens import MAX_TOKEN_CHARS, claim_token, release_token, token_use
from shared.auth import Principal
from shared.domain import AuditEntry, DecisionKind, InvoiceRecord, InvoiceStatus, utcnow
from shared.services import Services, get_services

APPROVAL_RECEIVED = "approval_received"
APPROVAL_REFUSED = "approval_refused"
QUESTION_ASKED = "question_asked"
# Runtime states in which an orchestration can still receive the event.
LIVE_STATES = frozenset({"Pending", "Running"})
_LEVEL_DECISIONS = frozenset({DecisionKind.APPROVED, DecisionKind.REJECTED, DecisionKind.EXPIRED})


Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TOKEN_CHARS)]


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approved", "rejected", "question"]
    token: Token | None = None
    by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = Field(
        default=None, description="who the caller says decides: checked against the credential, never trusted")
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    level: int | None = Field(default=None, ge=1, description="the approval level this answers, if known")


class Refusal(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def next_level(record: InvoiceRecord) -> int:
    """The approval level now waiting: one past the highest level decided so far."""
    decided = [d.level for d in record.decisions if d.kind in _LEVEL_DECISIONS and d.level >= 1]
    return max(decided, default=0) + 1


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
        return ApiResponse.error(400, "body must be JSON: {\"decision\": \"approved\"|\"rejected\"|\"question\", ...}")
    if not isinstance(payload, dict):
        return ApiResponse.error(400, "body must be a JSON object")
    try:
        approval = ApprovalRequest.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        return ApiResponse.error(400, f"invalid approval: {problems}")
    if approval.decision == "question" and not approval.comment:
        return ApiResponse.error(400, "invalid approval: comment: a question needs the question as its comment")
    return approval


async def post_approval(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    approval = _parse(request)
    if isinstance(approval, ApiResponse):
        return approval
    invoice_id = request.path_params.get("invoice_id", "").strip()
    services = get_services()
    record = services.repo.get_invoice(invoice_id) if invoice_id else None
    if record is None:
        return ApiResponse.error(404, f"no invoice with id {invoice_id!r}")
    try:
        credential = authenticate(services, token=approval.token, authorization=request.headers.get("authorization"),
                                  principal=request.principal)
    except Unauthenticated as error:
        return _refuse(services, record, None, approval, Refusal(401, error.reason))
    try:
        return await _decide(services, ctx, record, credential, approval)
    except Refusal as refusal:
        return _refuse(services, record, credential, approval, refusal)


async def _decide(services: Services, ctx: ApiContext, record: InvoiceRecord, credential: Credential,
                  approval: ApprovalRequest) -> ApiResponse:
    principal, claims = credential.principal, credential.token
    approvers = [a.strip().lower() for a in (record.route.approvers if record.route else [])]
    if approval.by is not None and approval.by.lower() not in {principal.id, (principal.name or "").lower()}:
        raise Refusal(403, f"'by' names {approval.by!r}, but the credential is {principal.id}'s")
    if claims is not None:
        if claims.invoice_id != record.id:
            raise Refusal(403, "the action token is for another invoice")
        if not claims.allows(approval.decision):
            raise Refusal(403, f"the action token does not allow the decision {approval.decision!r}")
        if claims.level > len(approvers) or approvers[claims.level - 1] != claims.approver:
            raise Refusal(403, f"{claims.approver} is not the approver of level {claims.level}")
        used = token_use(services.repo, claims)
        if used is not None:
            if used.get("decision") == approval.decision and _in_flight(record, claims.level):
                return ApiResponse.of_json(used["response"], status=202)  # the same answer, delivered again
            raise Refusal(409, "the action token was already used")

    if record.status != InvoiceStatus.AWAITING_APPROVAL:
        raise Refusal(409, f"invoice is {record.status.value}, not awaiting approval")
    level = next_level(record)
    if approval.level is not None and approval.level != level:
        raise Refusal(409, f"approval level {approval.level} is not open; level {level} is")
    if claims is not None and claims.level != level:
        raise Refusal(409, f"the action token answers level {claims.level}; level {level} is open")
    expected = approvers[level - 1] if level <= len(approvers) else None
    if principal.id != expected:
        raise Refusal(403, f"{principal.id} is not the approver of level {level} ({expected or 'nobody'})")
    _four_eyes(services, record, principal)

    if approval.decision == "question":
        return _ask(services, record, principal, level, approval.comment or "")
    instance_id = instance_id_for(record.id)
    answer: dict[str, Any] = {"invoice_id": record.id, "instance_id": instance_id, "decision": approval.decision,
                              "level": level, "by": principal.id, "accepted": True}
    received = _received(services, record.id, level)
    if received is not None:
        if received.actor.lower() == principal.id and received.detail.get("decision") == approval.decision:
            return ApiResponse.of_json(answer, status=202)  # re-delivered: nothing new to raise
        raise Refusal(409, f"a decision for approval level {level} was already received")
    state = await ctx.orchestration.status(instance_id)
    if state is None or state.runtime_status not in LIVE_STATES:
        runtime = state.runtime_status if state else "missing"
        raise Refusal(409, f"the invoice's orchestration is not waiting ({runtime})")
    return await _accept(services, ctx, record, credential, approval, answer, expected)


async def _accept(services: Services, ctx: ApiContext, record: InvoiceRecord, credential: Credential,
                  approval: ApprovalRequest, answer: dict[str, Any], expected: str | None) -> ApiResponse:
    claims, level, at = credential.token, int(answer["level"]), utcnow()
    if claims is not None and not claim_token(services.repo, claims, {"decision": approval.decision,
                                                                      "at": at.isoformat(), "response": answer}):
        raise Refusal(409, "the action token was already used")  # a concurrent delivery won
    event = {"decision": approval.decision, "by": credential.principal.id, "comment": approval.comment,
             "at": at.isoformat(), "level": level}
    try:
        # Deliver first: if the audit write then failed, the decision still counts; the other order
        # could leave a recorded decision that never reached the orchestration and blocks a retry.
        await ctx.orchestration.raise_event(str(answer["instance_id"]), approval_event(level), event)
    except Exception:
        if claims is not None:
            release_token(services.repo, claims)
        raise
    detail: dict[str, Any] = {"decision": approval.decision, "comment": approval.comment, "level": level,
                              "expected_approver": expected, "method": credential.principal.method.value}
    if claims is not None:
        detail["token_id"] = claims.token_id
    services.repo.append_audit(record.id, AuditEntry(at=at, actor=credential.principal.id, action=APPROVAL_RECEIVED,
                                                     detail=detail))
    return ApiResponse.of_json(answer, status=202)


def _ask(services: Services, record: InvoiceRecord, principal: Principal, level: int, comment: str) -> ApiResponse:
    """A question leaves the level open; asking the same question twice records it once."""
    answer = {"invoice_id": record.id, "decision": "question", "level": level, "by": principal.id, "accepted": True}
    asked = [e for e in services.repo.audit_trail(record.id)
             if e.action == QUESTION_ASKED and e.detail.get("level") == level and e.actor.lower() == principal.id]
    if not asked or asked[-1].detail.get("comment") != comment:
        services.repo.append_audit(record.id, AuditEntry(actor=principal.id, action=QUESTION_ASKED, detail={
            "level": level, "comment": comment, "method": principal.method.value}))
    return ApiResponse.of_json(answer, status=200)


def _four_eyes(services: Services, record: InvoiceRecord, principal: Principal) -> None:
    if any(c.by.strip().lower() == principal.id for c in record.corrections):
        raise Refusal(403, f"four-eyes rule: {principal.id} corrected a field of this invoice")
    if any(e.action == "uploaded" and e.actor.strip().lower() == principal.id
           for e in services.repo.audit_trail(record.id)):
        raise Refusal(403, f"four-eyes rule: {principal.id} uploaded this invoice")


def _in_flight(record: InvoiceRecord, level: int) -> bool:
    """The level's decision was delivered but the orchestration has not recorded it yet."""
    return record.status == InvoiceStatus.AWAITING_APPROVAL and next_level(record) == level


def _received(services: Services, invoice_id: str, level: int) -> AuditEntry | None:
    """The decision delivered for this level that the orchestration has not recorded yet, if any."""
    trail = services.repo.audit_trail(invoice_id)
    return next((e for e in reversed(trail) if e.action == APPROVAL_RECEIVED and e.detail.get("level") == level), None)


def _refuse(services: Services, record: InvoiceRecord, credential: Credential | None, approval: ApprovalRequest,
            refusal: Refusal) -> ApiResponse:
    detail: dict[str, Any] = {"status": refusal.status, "reason": refusal.reason, "decision": approval.decision}
    actor = "anonymous"
    if credential is not None:
        actor = credential.principal.id
        detail["method"] = credential.principal.method.value
        if credential.token is not None:
            detail["token_id"] = credential.token.token_id
            detail["level"] = credential.token.level
    services.repo.append_audit(record.id, AuditEntry(actor=actor, action=APPROVAL_REFUSED, detail=detail))
    return ApiResponse.error(refusal.status, refusal.reason)
