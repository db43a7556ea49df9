"""Activities run at least once: a retry saves the record again without auditing the step twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.activities import extract_invoice, record_decision
from shared.domain import Extraction, InvoiceRecord, MailContext
from shared.services import Services, set_services
from tests.factories import document
from tests.shared.api.invoice_factory import make_services
from tests.shared.learning.acme_invoices import SENDER, acme_invoice

INVOICE_ID = "c" * 64


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = make_services(tmp_path / "papyr")
    set_services(built)
    built.blobs.put(f"content/{INVOICE_ID}.json", acme_invoice().model_dump_json().encode(), "application/json")
    built.repo.save_invoice(InvoiceRecord(id=INVOICE_ID, document=document(INVOICE_ID, mail=MailContext(sender=SENDER)),
                                          extraction=Extraction()))
    yield built
    set_services(None)


def _actions(services: Services) -> list[str]:
    return [entry.action for entry in services.repo.audit_trail(INVOICE_ID)]


def test_a_retried_step_is_audited_once(services: Services) -> None:
    assert extract_invoice({"invoice_id": INVOICE_ID})["status"] == "ok"
    assert extract_invoice({"invoice_id": INVOICE_ID})["status"] == "ok"  # the host retried the activity
    assert _actions(services) == ["extracted"]


def test_each_approval_level_s_decision_is_audited(services: Services) -> None:
    for level in (1, 2, 2):  # level 2's activity retried
        decision = {"kind": "approved", "by": f"approver{level}@x", "at": "2026-11-02T10:00:00+00:00", "level": level}
        record_decision({"invoice_id": INVOICE_ID, "decision": decision})
    trail = services.repo.audit_trail(INVOICE_ID)
    assert [(entry.action, entry.detail["level"]) for entry in trail] == [
        ("decision_recorded", 1),
        ("decision_recorded", 2),
    ]
