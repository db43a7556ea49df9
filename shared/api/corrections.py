"""A person corrects an extracted field: ``POST /api/invoices/{id}/fields/{name}`` ``{"value": ...}``.

The value is normalised like extraction's (LABELS.md forms: plain decimals, ISO dates, compact
IBAN), stored on the record as a ``Correction`` (who, when, old, new) and in the field itself with
``Source.USER`` and confidence 1.0 (the box where it was read stays, so the page still shows it).
The checks run again so findings and risk reflect the fix; the route is not redone: the approval
already waiting stays with its approver, who now sees the corrected values and findings.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.checks import risk_score, run_checks
from shared.checks.policy import CheckPolicy
from shared.documents.content import DocumentContent, read_cached_content
from shared.domain import (
    DATE_FIELDS,
    HEADER_FIELDS,
    MONEY_FIELDS,
    AuditEntry,
    Correction,
    ExtractedField,
    InvoiceRecord,
    InvoiceStatus,
    Provenance,
    Source,
    utcnow,
)
from shared.domain.currencies import is_iso4217
from shared.domain.models import decimal_to_str
from shared.extraction.normalize import normalize_bic, normalize_iban, normalize_vat_id, parse_amount, parse_date
from shared.learning import learn_from
from shared.services import Services, get_services

FIELD_CORRECTED = "field_corrected"
# Corrections while a person can still act on them; later the record is decided and exported.
CORRECTABLE = frozenset({InvoiceStatus.AWAITING_APPROVAL})
# document_type is the classifier's call, made before routing: not a field to type over.
EDITABLE_FIELDS = tuple(name for name in HEADER_FIELDS if name != "document_type")


class CorrectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class InvalidValue(ValueError):
    pass


def normalise_value(name: str, raw: str) -> str:
    """The stored form of a typed value, or InvalidValue saying what was expected."""
    if name in MONEY_FIELDS:
        amount = parse_amount(raw)
        if amount is None:
            raise InvalidValue(f"{name}: {raw!r} is not an amount (e.g. 1190.00)")
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent > -2:  # "1190" is written 1190.00, like the extractor's
            amount = amount.quantize(Decimal("0.01"))
        return decimal_to_str(amount)
    if name in DATE_FIELDS:
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            parsed = parse_date(raw)
        if parsed is None:
            raise InvalidValue(f"{name}: {raw!r} is not a date (e.g. 2024-03-31)")
        return parsed.isoformat()
    if name == "currency":
        if not is_iso4217(raw.upper()):
            raise InvalidValue(f"currency: {raw!r} is not an ISO 4217 code (e.g. EUR)")
        return raw.upper()
    normalisers = {"iban": normalize_iban, "bic": normalize_bic, "vendor_vat_id": normalize_vat_id}
    if name in normalisers:
        value = normalisers[name](raw)
        if value is None:
            raise InvalidValue(f"{name}: {raw!r} does not have the shape of a {name.replace('_', ' ')}")
        return value
    return " ".join(raw.split())


def _parse(request: ApiRequest) -> CorrectionRequest | ApiResponse:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":  # no cross-site form can send JSON without a preflight
        return ApiResponse.error(415, "send the correction as application/json")
    try:
        return CorrectionRequest.model_validate_json(request.body or b"null")
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors())
        return ApiResponse.error(400, f"invalid correction: {problems}")


def _learn(services: Services, record: InvoiceRecord, content: DocumentContent | None) -> dict[str, Any]:
    """Teach the vendor's profile what this correction says (the next invoice of the vendor uses it)."""
    if content is None:  # nothing was read from the page (never classified): nothing positional to learn
        return {"learned": None}
    learned = learn_from(record, services.repo, content)
    if not learned.changed:
        return {"learned": None}
    return {"learned": {"profile": learned.profile, "fields": sorted([*learned.constants, *learned.positions])}}


async def correct_field(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    principal = request.principal
    if principal is None:  # the route table requires a role; a handler called directly still refuses
        return ApiResponse.error(401, "sign in first")
    name = request.path_params.get("field", "").strip()
    if name not in EDITABLE_FIELDS:
        return ApiResponse.error(404, f"no editable field {name!r}; fields: {', '.join(EDITABLE_FIELDS)}")
    body = _parse(request)
    if isinstance(body, ApiResponse):
        return body
    try:
        value = normalise_value(name, body.value)
    except InvalidValue as error:
        return ApiResponse.error(400, str(error))

    services = get_services()
    invoice_id = request.path_params.get("invoice_id", "").strip()
    record = services.repo.get_invoice(invoice_id) if invoice_id else None
    if record is None:
        return ApiResponse.error(404, f"no invoice with id {invoice_id!r}")
    if record.status not in CORRECTABLE or record.extraction is None:
        return ApiResponse.error(
            409, f"invoice is {record.status.value}; fields can be corrected while it awaits approval")

    old = record.extraction.fields.get(name)
    old_value = old.value if old else None
    if old_value == value:
        return ApiResponse.of_json({"invoice_id": record.id, "field": name, "value": value, "changed": False})
    at = utcnow()
    where = old.provenance if old else None
    record.extraction.fields[name] = ExtractedField(
        value=value, confidence=1.0,
        provenance=Provenance(source=Source.USER, page=where.page if where else None,
                              bbox=where.bbox if where else None, text=body.value),
    )
    record.corrections.append(Correction(field=name, old_value=old_value, new_value=value, by=principal.id, at=at))
    before = {f.code for f in record.findings}
    content = read_cached_content(services.blobs, record.id)
    record.findings = run_checks(record, repo=services.repo, policy=CheckPolicy.from_settings(services.settings),
                                 content=content)
    record.risk_score = risk_score(record.findings)
    record.updated_at = at
    services.repo.save_invoice(record)
    after = {f.code for f in record.findings}
    detail = {"field": name, "old": old_value, "new": value, "resolved": sorted(before - after),
              "raised": sorted(after - before), "risk_score": record.risk_score, **_learn(services, record, content)}
    services.repo.append_audit(record.id, AuditEntry(at=at, actor=principal.id, action=FIELD_CORRECTED, detail=detail))
    return ApiResponse.of_json({"invoice_id": record.id, "field": name, "value": value, "changed": True,
                                "findings": [f.model_dump(mode="json") for f in record.findings],
                                "risk_score": record.risk_score})
