"""The approval request as an Adaptive Card (schema 1.5): a pure function of the record and its links.

What the approver reads first: the header (vendor, amount, due date, invoice number), then the risk
score and every finding, most severe first, then the extracted fields, then links and actions.

Two kinds of actions, because the two channels differ (see docs/teams.md):
- ``submit``: Approve / Reject / Ask a question each open a comment box (``Action.ShowCard`` with an
  ``Input.Text``) and an ``Action.Submit`` whose ``data`` carries the invoice id, level, decision and
  the action token. Power Automate's "Post adaptive card and wait for a response" collects these.
- ``open_url``: a Teams incoming webhook or Workflows post supports no ``Action.Submit``, and its
  card lands in a channel anyone there can read, so it carries no token: the buttons open the
  invoice in Papyr, where the approver signs in and decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.domain import InvoiceRecord, Severity
from shared.domain.models import SEVERITY_RANK

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
Reason = Literal["request", "reminder", "escalation"]
ActionStyle = Literal["submit", "open_url"]
MAX_FINDINGS = 10
MAX_TEXT = 400
# Facts after the header, in reading order.
FACT_FIELDS = ("vendor_name", "vendor_vat_id", "invoice_number", "invoice_date", "due_date", "subtotal", "tax",
               "total", "amount_due", "iban", "bic", "po_number")
_TITLE = {"request": "Approval needed", "reminder": "Reminder: approval still needed",
          "escalation": "Escalated: approval overdue"}
_SEVERITY_COLOR = {Severity.HIGH: "attention", Severity.MEDIUM: "warning", Severity.LOW: "default",
                   Severity.INFO: "default"}
_DECISIONS: tuple[tuple[str, str, str, str], ...] = (
    # decision, button, confirm button, action style
    ("approved", "Approve", "Confirm approval", "positive"),
    ("rejected", "Reject", "Confirm rejection", "destructive"),
    ("question", "Ask a question", "Send question", "default"),
)


@dataclass(frozen=True)
class CardLinks:
    document: str
    report: str
    dashboard: str

    @classmethod
    def for_invoice(cls, public_base_url: str, invoice_id: str) -> CardLinks:
        base = public_base_url.rstrip("/")
        return cls(document=f"{base}/api/invoices/{invoice_id}/document",
                   report=f"{base}/api/invoices/{invoice_id}/report",
                   dashboard=f"{base}/invoices/{invoice_id}")


def comment_input_id(decision: str) -> str:
    """The id of the comment box under one decision's button (ids are unique per card)."""
    return f"comment_{decision}"


def build_approval_card(
    record: InvoiceRecord,
    *,
    level: int,
    approver: str,
    links: CardLinks,
    token: str | None,
    reason: Reason = "request",
    actions: ActionStyle = "submit",
) -> dict[str, Any]:
    if actions == "submit" and not token:
        raise ValueError("a card with submit actions needs an action token")
    levels = len(record.route.approvers) if record.route else level
    body: list[dict[str, Any]] = [
        *_header(record, level, levels, approver, reason),
        _risk(record),
        {"type": "FactSet", "facts": _facts(record), "separator": True},
    ]
    card: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": f"{_title(record, reason)}: open {links.dashboard}",
        "body": body,
        "actions": (_submit_actions(record, level, token) + _link_actions(links, token) if token and actions == "submit"
                    else _open_actions(links) + _link_actions(links, None)),
    }
    return card


def _title(record: InvoiceRecord, reason: Reason) -> str:
    amount = str(record.total) if record.total else "amount unknown"
    return f"{_TITLE[reason]}: {record.vendor or 'unknown vendor'}, {amount}"


def _value(record: InvoiceRecord, name: str) -> str | None:
    return record.extraction.value(name) if record.extraction else None


def _header(record: InvoiceRecord, level: int, levels: int, approver: str, reason: Reason) -> list[dict[str, Any]]:
    number = _value(record, "invoice_number") or "no number"
    due = _value(record, "due_date") or "not stated"
    return [
        {"type": "TextBlock", "text": _clip(_title(record, reason)), "style": "heading", "size": "large",
         "weight": "bolder", "wrap": True},
        {"type": "TextBlock", "wrap": True, "isSubtle": True,
         "text": _clip(f"Invoice {number} · due {due} · level {level} of {levels} · for {approver}")},
    ]


def _risk(record: InvoiceRecord) -> dict[str, Any]:
    findings = sorted(record.findings, key=lambda f: SEVERITY_RANK[f.severity], reverse=True)
    worst = findings[0].severity if findings else None
    items: list[dict[str, Any]] = [
        {"type": "TextBlock", "weight": "bolder", "wrap": True,
         "text": f"Risk score {record.risk_score:.2f} · "
                 + (f"{len(findings)} finding{'s' if len(findings) != 1 else ''}" if findings else "no findings")},
    ]
    for finding in findings[:MAX_FINDINGS]:
        items.append({"type": "TextBlock", "wrap": True, "color": _SEVERITY_COLOR[finding.severity],
                      "text": _clip(f"**{finding.severity.value.upper()}** {finding.message}")})
    if len(findings) > MAX_FINDINGS:
        items.append({"type": "TextBlock", "isSubtle": True, "wrap": True,
                      "text": f"… and {len(findings) - MAX_FINDINGS} more in Papyr."})
    style = "attention" if worst is Severity.HIGH else "warning" if worst is Severity.MEDIUM else "emphasis"
    return {"type": "Container", "id": "risk", "style": style, "items": items}


def _facts(record: InvoiceRecord) -> list[dict[str, str]]:
    from shared.reports.view import FIELD_LABELS  # the report's labels; its package loads WeasyPrint

    facts = [{"title": FIELD_LABELS[name], "value": _clip(value)}
             for name in FACT_FIELDS if (value := _value(record, name))]
    if record.document.mail.sender:
        facts.append({"title": "Sender", "value": _clip(record.document.mail.sender)})
    if record.route and record.route.reasons:
        facts.append({"title": "Why a person decides", "value": _clip("; ".join(record.route.reasons))})
    return facts


def _submit_actions(record: InvoiceRecord, level: int, token: str) -> list[dict[str, Any]]:
    actions = []
    for decision, button, confirm, style in _DECISIONS:
        required = decision == "question"
        box = {"type": "Input.Text", "id": comment_input_id(decision), "isMultiline": True, "maxLength": 2000,
               "label": "Your question" if required else "Comment (optional)", "isRequired": required}
        if required:
            box["errorMessage"] = "Write the question for the sender or the AP team."
        data = {"papyr": "approval", "invoice_id": record.id, "level": level, "decision": decision, "token": token}
        submit = {"type": "Action.Submit", "title": confirm, "style": style, "data": data}
        actions.append({"type": "Action.ShowCard", "title": button,
                        "card": {"type": "AdaptiveCard", "body": [box], "actions": [submit]}})
    return actions


def _open_actions(links: CardLinks) -> list[dict[str, Any]]:
    return [{"type": "Action.OpenUrl", "title": "Review and decide in Papyr", "url": links.dashboard,
             "style": "positive"}]


def _link_actions(links: CardLinks, token: str | None) -> list[dict[str, Any]]:
    out = [{"type": "Action.OpenUrl", "title": "Invoice PDF", "url": links.document},
           {"type": "Action.OpenUrl", "title": "Approval report", "url": links.report}]
    if token:  # a personal card: the page decides with the same token, read from the fragment
        # (a fragment never reaches a server or its logs)
        out.append({"type": "Action.OpenUrl", "title": "Open in Papyr", "url": f"{links.dashboard}#token={token}"})
    return out


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
