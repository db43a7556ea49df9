"""The invoice domain: what Papyr knows about a document, and what it decided.

Pydantic v2 models, JSON-serialisable, used at every boundary (activities, API, storage).
Field values are kept in the normalised string form of ``../shared/data/LABELS.md`` (ISO dates,
plain decimal strings, upper-case IBAN); typed accessors turn them into ``Decimal``/``Money``/``date``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.domain.currencies import is_iso4217


def utcnow() -> datetime:
    return datetime.now(UTC)


class DocumentType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    RECEIPT = "receipt"
    NOT_INVOICE = "not_invoice"


class Source(StrEnum):
    """Where a field value came from."""

    XML = "xml"
    TEXT = "text"
    OCR = "ocr"
    LLM = "llm"
    USER = "user"
    MAIL = "mail"
    # A value a clerk taught on an earlier invoice of the same vendor (shared.learning), filled in
    # because this document did not show it where it could be read: not read here, not typed here.
    PROFILE = "profile"


# Header fields, in the order and with the names of LABELS.md.
HEADER_FIELDS: tuple[str, ...] = (
    "document_type",
    "vendor_name",
    "vendor_vat_id",
    "vendor_address",
    "buyer_name",
    "invoice_number",
    "invoice_date",
    "due_date",
    "currency",
    "subtotal",
    "tax",
    "total",
    "amount_due",
    "iban",
    "bic",
    "po_number",
)
MONEY_FIELDS: frozenset[str] = frozenset({"subtotal", "tax", "total", "amount_due"})
DATE_FIELDS: frozenset[str] = frozenset({"invoice_date", "due_date"})


class Provenance(BaseModel):
    """Where on the document a value was read: page (1-based) and box (x0, top, x1, bottom) in
    page units (PDF points for text, pixels for images), origin top-left."""

    model_config = ConfigDict(frozen=True)

    source: Source
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    text: str | None = Field(default=None, description="the raw text the value was read from")


class ExtractedField(BaseModel):
    value: str
    confidence: float = Field(ge=0.0, le=1.0)
    provenance: Provenance


class LineItem(BaseModel):
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    provenance: Provenance | None = None

    def as_label(self) -> dict[str, str]:
        """The LABELS.md shape: strings, keys only where known."""
        out: dict[str, str] = {}
        if self.description is not None:
            out["description"] = self.description
        for key in ("quantity", "unit_price", "amount"):
            value = getattr(self, key)
            if value is not None:
                out[key] = decimal_to_str(value)
        return out


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: str

    @field_validator("currency")
    @classmethod
    def _iso4217(cls, value: str) -> str:
        value = value.upper()
        if not is_iso4217(value):
            raise ValueError(f"not an ISO 4217 currency code: {value!r}")
        return value

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"


def decimal_to_str(value: Decimal) -> str:
    """Plain decimal string, no exponent, no thousands separator."""
    text = format(value, "f")
    return text


def parse_decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return None


class ExtractionStatus(StrEnum):
    OK = "ok"
    REJECTED = "rejected"


class Extraction(BaseModel):
    """What extraction read from one document; ``to_contract()`` is the `papyr extract --json` line."""

    status: ExtractionStatus = ExtractionStatus.OK
    reason: str | None = None
    document_type: DocumentType = DocumentType.INVOICE
    classification_reason: str | None = None
    fields: dict[str, ExtractedField] = Field(default_factory=dict)
    line_items: list[LineItem] = Field(default_factory=list)
    method: Source | None = None
    pages: int = 0
    warnings: list[str] = Field(default_factory=list)

    def value(self, name: str) -> str | None:
        field = self.fields.get(name)
        return field.value if field else None

    def decimal(self, name: str) -> Decimal | None:
        return parse_decimal(self.value(name))

    def date_value(self, name: str) -> date | None:
        raw = self.value(name)
        try:
            return date.fromisoformat(raw) if raw else None
        except ValueError:
            return None

    def money(self, name: str) -> Money | None:
        amount = self.decimal(name)
        currency = self.value("currency")
        if amount is None or currency is None or not is_iso4217(currency):
            return None
        return Money(amount=amount, currency=currency)

    def to_contract(self, file: str) -> dict[str, Any]:
        """The stable `papyr extract --json` line."""
        fields = {name: f.value for name, f in self.fields.items()}
        fields.setdefault("document_type", self.document_type.value)
        confidence = {name: round(f.confidence, 3) for name, f in self.fields.items()}
        return {
            "file": file,
            "status": self.status.value,
            "reason": self.reason,
            "document_type": self.document_type.value,
            "fields": fields,
            "confidence": confidence,
            "line_items": [item.as_label() for item in self.line_items],
        }


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


SEVERITY_RANK: dict[Severity, int] = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3}


class Finding(BaseModel):
    code: str = Field(description="stable machine code, e.g. 'arithmetic.total_mismatch'")
    severity: Severity
    message: str = Field(description="plain-language explanation for the approver")
    evidence: dict[str, Any] = Field(default_factory=dict)


class InvoiceStatus(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    REJECTED = "rejected"  # by Papyr, with a reason: not an invoice, unreadable, duplicate...
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    DECLINED = "declined"  # rejected by an approver
    EXPORTED = "exported"
    FAILED = "failed"  # an internal error, recorded; the original is kept


class RouteKind(StrEnum):
    AUTO_APPROVE = "auto_approve"
    APPROVAL = "approval"
    REJECT = "reject"


class Route(BaseModel):
    """Who approves: ``approvers[n]`` at level n + 1, in order (a delegate replaces the person the
    policy named when the request is sent; ``delegated_from[n]`` then names that person)."""

    kind: RouteKind
    approvers: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    policy_rule: str | None = None  # the approval policy's rule that decided the levels
    alternates: list[list[str]] = Field(default_factory=list)  # per level: who else may approve, in order
    delegated_from: list[str | None] = Field(default_factory=list)  # per level, once delegated


class DecisionKind(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    AUTO_APPROVED = "auto_approved"
    EXPIRED = "expired"


class Decision(BaseModel):
    kind: DecisionKind
    by: str
    at: datetime
    comment: str | None = None
    level: int = 1


class AuditEntry(BaseModel):
    """One line of the append-only audit trail."""

    at: datetime = Field(default_factory=utcnow)
    actor: str
    action: str
    detail: dict[str, Any] = Field(default_factory=dict)


def in_time_order(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Audit entries by their time, append order among equal times: how people read a trail. The
    trail itself is kept in append order, and two writers can append out of time order: the approvals
    API stamps a decision when it arrives, delivers it, then appends it, and the orchestration may
    append "decision recorded" in between."""
    return sorted(entries, key=lambda entry: entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC))


class MailContext(BaseModel):
    """Where a document came from: the mail that carried it (empty for uploads / files)."""

    mailbox: str | None = None
    message_id: str | None = None
    sender: str | None = None
    sender_name: str | None = None
    reply_to: str | None = None
    subject: str | None = None
    received_at: datetime | None = None
    source_path: str | None = None
    # Raw authentication verdicts the receiving servers stamped on the mail (RFC 8601 / RFC 7208),
    # topmost first: parsed by shared.checks.mail_auth for the sender checks.
    authentication_results: list[str] = Field(default_factory=list)
    received_spf: list[str] = Field(default_factory=list)


class DocumentRef(BaseModel):
    """A stored original: content hash and where its bytes are. What flows through orchestrations."""

    sha256: str
    blob_name: str
    filename: str
    content_type: str
    size: int
    mail: MailContext = Field(default_factory=MailContext)


class Correction(BaseModel):
    """A person's fix of one extracted field: kept on the record (and in the audit trail as
    ``field_corrected``); the field itself then carries ``Source.USER``. What teaches vendor profiles."""

    field: str
    old_value: str | None
    new_value: str
    by: str
    at: datetime = Field(default_factory=utcnow)


class InvoiceRecord(BaseModel):
    """The state of one document through the flow; id = the document's SHA-256."""

    id: str
    document: DocumentRef
    status: InvoiceStatus = InvoiceStatus.RECEIVED
    reason: str | None = None
    extraction: Extraction | None = None
    findings: list[Finding] = Field(default_factory=list)
    risk_score: float = 0.0
    route: Route | None = None
    decisions: list[Decision] = Field(default_factory=list)
    corrections: list[Correction] = Field(default_factory=list)
    report_blob: str | None = None
    export_paths: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def vendor(self) -> str | None:
        return self.extraction.value("vendor_name") if self.extraction else None

    @property
    def total(self) -> Money | None:
        return self.extraction.money("total") if self.extraction else None


class Vendor(BaseModel):
    """A vendor master entry."""

    name: str
    vat_id: str | None = None
    iban: str | None = None
    email_domains: list[str] = Field(default_factory=list)
    country: str | None = None
    cost_centre: str | None = None  # an invoice's cost centre is its vendor's (approval policy rules)
