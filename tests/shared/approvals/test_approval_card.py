"""The approval card: valid against the official Adaptive Card 1.5 schema, findings before fields,
and actions that carry what the callback needs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.approvals.card import CARD_VERSION, CardLinks, build_approval_card, comment_input_id
from shared.domain import Finding, InvoiceRecord, Severity
from shared.services import Services
from tests.shared.api import invoice_factory as factory
from tests.shared.approvals.card_schema import schema_errors

LINKS = CardLinks.for_invoice("https://papyr.example.com/", "abc")
TOKEN = "pat1.claims.mac"


def findings() -> list[Finding]:
    return [
        Finding(code="arithmetic.tax_rounding", severity=Severity.LOW, message="Tax differs by 0.01."),
        factory.bank_change_finding(),
        Finding(code="duplicates.business_key", severity=Severity.MEDIUM, message="Looks like invoice INV-7."),
    ]


def record(services: Services, **overrides: Any) -> InvoiceRecord:
    defaults: dict[str, Any] = {"findings": findings(), "approvers": ["ap.clerk@example.com", "cfo@example.com"]}
    return factory.make_record(services, **{**defaults, **overrides})


def texts(element: Any) -> list[str]:
    """Every TextBlock text and fact, in document order."""
    if isinstance(element, list):
        return [t for item in element for t in texts(item)]
    if not isinstance(element, dict):
        return []
    found = [element["text"]] if element.get("type") == "TextBlock" else []
    found += [f"{fact['title']}: {fact['value']}" for fact in element.get("facts", [])]
    for key in ("body", "items"):
        found += texts(element.get(key, []))
    return found


@pytest.mark.parametrize("reason", ["request", "reminder", "escalation"])
@pytest.mark.parametrize("actions", ["submit", "open_url"])
def test_every_card_validates_against_the_adaptive_card_1_5_schema(services: Services, reason: str,
                                                                   actions: str) -> None:
    card = build_approval_card(record(services), level=1, approver="ap.clerk@example.com", links=LINKS,
                               token=TOKEN if actions == "submit" else None, reason=reason,  # type: ignore[arg-type]
                               actions=actions)  # type: ignore[arg-type]
    assert card["version"] == CARD_VERSION == "1.5"
    assert schema_errors(card) == []


def test_sparse_record_without_findings_or_fields_still_validates(services: Services) -> None:
    sparse = record(services, findings=[], vendor=None, number=None)
    sparse.extraction = None
    card = build_approval_card(sparse, level=1, approver="a@example.com", links=LINKS, token=TOKEN)
    assert schema_errors(card) == []
    assert "Risk score 0.05 · no findings" in texts(card["body"])


def test_the_schema_check_is_strict(services: Services) -> None:
    card = build_approval_card(record(services), level=1, approver="a@example.com", links=LINKS, token=TOKEN)
    typo = copy.deepcopy(card)
    typo["body"][0]["txt"] = typo["body"][0].pop("text")
    http_action = copy.deepcopy(card)
    http_action["actions"].append({"type": "Action.Http", "title": "Approve", "url": "https://x"})
    bad_color = copy.deepcopy(card)
    bad_color["body"][1]["color"] = "purple"
    for broken in (typo, http_action, bad_color):
        assert schema_errors(broken), broken


def test_header_then_risk_and_findings_most_severe_first_then_fields(services: Services) -> None:
    card = build_approval_card(record(services), level=2, approver="cfo@example.com", links=LINKS, token=TOKEN)
    lines = texts(card["body"])
    assert lines[0] == "Approval needed: Lieferant GmbH, 1,190.00 EUR"
    assert lines[1] == "Invoice INV-2024-001 · due not stated · level 2 of 2 · for cfo@example.com"
    assert lines[2] == "Risk score 0.40 · 3 findings"
    assert lines[3:6] == ["**HIGH** The IBAN differs from the vendor master.",
                          "**MEDIUM** Looks like invoice INV-7.", "**LOW** Tax differs by 0.01."]
    kinds = [element["type"] for element in card["body"]]
    assert kinds.index("Container") < kinds.index("FactSet")  # findings first, the fields after
    facts = dict(fact.split(": ", 1) for fact in lines[6:])
    assert facts["Vendor"] == "Lieferant GmbH"
    assert facts["Total"] == "1190.00"
    assert facts["IBAN"] == "DE89370400440532013000"
    assert facts["Sender"] == "billing@lieferant.example"
    assert card["body"][2]["style"] == "attention"  # a high finding colours the risk box
    assert card["body"][2]["items"][1]["color"] == "attention"


def test_reminder_and_escalation_say_so_in_the_title(services: Services) -> None:
    stored = record(services)
    titles = {reason: build_approval_card(stored, level=1, approver="a@example.com", links=LINKS, token=TOKEN,
                                          reason=reason)["body"][0]["text"]  # type: ignore[arg-type]
              for reason in ("reminder", "escalation")}
    assert titles["reminder"].startswith("Reminder: approval still needed: Lieferant GmbH")
    assert titles["escalation"].startswith("Escalated: approval overdue: Lieferant GmbH")


def test_submit_actions_carry_invoice_level_decision_and_token_with_a_comment_box(services: Services) -> None:
    stored = record(services)
    card = build_approval_card(stored, level=1, approver="ap.clerk@example.com", links=LINKS, token=TOKEN)
    shown = [a for a in card["actions"] if a["type"] == "Action.ShowCard"]
    assert [a["title"] for a in shown] == ["Approve", "Reject", "Ask a question"]
    for action, decision in zip(shown, ("approved", "rejected", "question"), strict=True):
        [box] = action["card"]["body"]
        [submit] = action["card"]["actions"]
        assert (box["type"], box["id"]) == ("Input.Text", comment_input_id(decision))
        assert submit["type"] == "Action.Submit"
        assert submit["data"] == {"papyr": "approval", "invoice_id": stored.id, "level": 1, "decision": decision,
                                  "token": TOKEN}
    assert shown[2]["card"]["body"][0]["isRequired"] is True  # a question needs its text
    links = {a["title"]: a["url"] for a in card["actions"] if a["type"] == "Action.OpenUrl"}
    assert links == {"Invoice PDF": "https://papyr.example.com/api/invoices/abc/document",
                     "Approval report": "https://papyr.example.com/api/invoices/abc/report",
                     "Open in Papyr": f"https://papyr.example.com/invoices/abc#token={TOKEN}"}
    assert len(card["actions"]) <= 6  # Teams shows at most six actions


def test_channel_cards_only_open_papyr_and_carry_no_token(services: Services) -> None:
    card = build_approval_card(record(services), level=1, approver="a@example.com", links=LINKS, token=None,
                               actions="open_url")
    assert {a["type"] for a in card["actions"]} == {"Action.OpenUrl"}
    assert card["actions"][0] == {"type": "Action.OpenUrl", "title": "Review and decide in Papyr",
                                  "url": "https://papyr.example.com/invoices/abc", "style": "positive"}
    assert "pat1." not in str(card)
    with pytest.raises(ValueError, match="action token"):
        build_approval_card(record(services, number="X-2"), level=1, approver="a@example.com", links=LINKS,
                            token=None, actions="submit")
