from __future__ import annotations

import json
from datetime import UTC, datetime

from invoice_factory import SAMPLE_PDF, RecordingOrchestration, bank_change_finding, call, make_record

from shared.api.invoices import get_document, get_invoice, get_report, list_invoices
from shared.domain import AuditEntry, InvoiceStatus
from shared.services import Services


def body(response) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(response.body)


def test_list_summarises_each_invoice(services: Services, orchestration: RecordingOrchestration) -> None:
    record = make_record(services, findings=[bank_change_finding()])
    response = call(list_invoices, orchestration)
    assert response.status == 200
    rows = body(response)["invoices"]
    assert rows == [{
        "id": record.id,
        "filename": "invoice.pdf",
        "status": "awaiting_approval",
        "reason": None,
        "vendor": "Lieferant GmbH",
        "invoice_number": "INV-2024-001",
        "total": "1190.00",
        "currency": "EUR",
        "risk_score": 0.4,
        "findings": 1,
        "risk_band": "medium",
        "created_at": "2024-03-02T09:30:00+00:00",
        "mailbox": "ap@example.com",
        "sender": "billing@lieferant.example",
    }]


def test_list_filters_by_status_search_and_limit(services: Services, orchestration: RecordingOrchestration) -> None:
    waiting = make_record(services, vendor="Acme Supplies Ltd", number="A-1")
    make_record(services, vendor="Globex", number="G-77", status=InvoiceStatus.REJECTED,
                reason="rejected: not an invoice", filename="newsletter.pdf")
    make_record(services, vendor="Initech", number="IT-5", status=InvoiceStatus.EXPORTED,
                created_at=datetime(2024, 4, 1, tzinfo=UTC))

    def ids(**query: str) -> list[str]:
        response = call(list_invoices, orchestration, query=query)
        assert response.status == 200
        return [row["vendor"] for row in body(response)["invoices"]]

    assert ids(status="awaiting_approval") == ["Acme Supplies Ltd"]
    assert ids(q="acme") == ["Acme Supplies Ltd"]
    assert ids(q="g-77") == ["Globex"]
    assert ids(q="NEWSLETTER") == ["Globex"]
    assert ids(q="acme", status="rejected") == []
    assert ids(q=waiting.id[:10]) == ["Acme Supplies Ltd"]
    assert len(ids()) == 3
    assert ids(limit="1") == ["Initech"]  # newest first


def test_list_rejects_bad_parameters_with_400(services: Services, orchestration: RecordingOrchestration) -> None:
    for query, message in [({"status": "paid"}, "unknown status"), ({"limit": "ten"}, "integer"),
                           ({"limit": "0"}, "between"), ({"limit": "100000"}, "between")]:
        response = call(list_invoices, orchestration, query=query)
        assert response.status == 400
        assert message in body(response)["error"]


def test_get_returns_the_full_record_and_its_audit_trail(
    services: Services, orchestration: RecordingOrchestration
) -> None:
    record = make_record(services, findings=[bank_change_finding()], audit=[
        AuditEntry(at=datetime(2024, 3, 2, 9, 30, tzinfo=UTC), actor="papyr", action="received"),
        AuditEntry(at=datetime(2024, 3, 2, 9, 31, tzinfo=UTC), actor="papyr", action="extracted",
                   detail={"method": "text"}),
        # appended after an entry it precedes (a decision stamped on arrival, appended late): shown in time order
        AuditEntry(at=datetime(2024, 3, 2, 9, 30, 30, tzinfo=UTC), actor="papyr", action="checked"),
    ])
    response = call(get_invoice, orchestration, path={"invoice_id": record.id})
    assert response.status == 200
    payload = body(response)
    assert payload["invoice"] == json.loads(record.model_dump_json())
    assert payload["invoice"]["findings"][0]["code"] == "bank.iban_changed"
    assert [entry["action"] for entry in payload["audit_trail"]] == ["received", "checked", "extracted"]
    assert payload["audit_trail"][2]["detail"] == {"method": "text"}


def test_unknown_invoice_is_404_on_every_read_route(
    services: Services, orchestration: RecordingOrchestration
) -> None:
    for handler in (get_invoice, get_document, get_report):
        response = call(handler, orchestration, path={"invoice_id": "0" * 64})
        assert response.status == 404
        assert "no invoice" in body(response)["error"]
        assert call(handler, orchestration, path={"invoice_id": "../../etc/passwd"}).status == 404


def test_document_returns_the_original_bytes(services: Services, orchestration: RecordingOrchestration) -> None:
    original = SAMPLE_PDF.read_bytes()
    record = make_record(services, content=original, filename="Rechnung März.pdf")
    response = call(get_document, orchestration, path={"invoice_id": record.id})
    assert response.status == 200
    assert response.body == original
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == "inline; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"


def test_report_is_404_until_rendered_then_served(services: Services, orchestration: RecordingOrchestration) -> None:
    pending = make_record(services, number="P-1")
    response = call(get_report, orchestration, path={"invoice_id": pending.id})
    assert response.status == 404
    assert "not been rendered" in body(response)["error"]

    report = SAMPLE_PDF.read_bytes()
    rendered = make_record(services, number="R-1", report=report, status=InvoiceStatus.EXPORTED)
    response = call(get_report, orchestration, path={"invoice_id": rendered.id})
    assert response.status == 200
    assert response.body == report
    assert response.content_type == "application/pdf"
    assert "invoice-approval-report.pdf" in response.headers["Content-Disposition"]


def test_missing_blob_is_404_not_500(services: Services, orchestration: RecordingOrchestration) -> None:
    record = make_record(services)
    services.repo.save_invoice(record.model_copy(update={"report_blob": "reports/never-written.pdf"}))
    response = call(get_report, orchestration, path={"invoice_id": record.id})
    assert response.status == 404
    assert "missing" in body(response)["error"]


def test_signed_in_views_are_audited_anonymous_ones_are_not(services: Services,
                                                             orchestration: RecordingOrchestration) -> None:
    import asyncio

    from shared.api.http import ApiContext, ApiRequest
    from shared.auth import AuthMethod, Principal, Role

    record = make_record(services, content=SAMPLE_PDF.read_bytes(), report=SAMPLE_PDF.read_bytes())
    reviewer = Principal(id="Jane@Example.com", roles=frozenset({Role.CLERK}), method=AuthMethod.PASSWORD)
    for handler in (get_invoice, get_document, get_report):
        assert call(handler, orchestration, path={"invoice_id": record.id}).status == 200  # anonymous: no entry
        request = ApiRequest(method="GET", path_params={"invoice_id": record.id}, principal=reviewer)
        assert asyncio.run(handler(request, ApiContext(orchestration=orchestration))).status == 200
    views = [e for e in services.repo.audit_trail(record.id) if e.action == "viewed"]
    assert [(e.actor, e.detail) for e in views] == [
        ("jane@example.com", {"what": what, "method": "password"}) for what in ("invoice", "document", "report")]


def test_queue_filters_by_mailbox_vendor_risk_age_and_sorts_and_pages(
        services: Services, orchestration: RecordingOrchestration) -> None:
    from datetime import timedelta

    from shared.api.invoices import QueueQuery, search_invoices

    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    fresh = make_record(services, vendor="Acme Supplies Ltd", number="A-1", total="50.00",
                        created_at=now - timedelta(hours=2))
    risky = make_record(services, vendor="Globex", number="G-1", total="9000.00", findings=[bank_change_finding()],
                        created_at=now - timedelta(days=3), sender="Billing <pay@globex.example>")
    old = make_record(services, vendor="Initech", number="I-1", total="700.00", created_at=now - timedelta(days=45))
    eu_mail = old.document.mail.model_copy(update={"mailbox": "eu@x.example"})
    other_box = old.document.model_copy(update={"mail": eu_mail})
    services.repo.save_invoice(old.model_copy(update={"document": other_box}))

    def ids(**filters: object) -> list[str]:
        return [r.id for r in search_invoices(QueueQuery(**filters), now=now).records]  # type: ignore[arg-type]

    assert ids() == [fresh.id, risky.id, old.id]
    assert ids(mailbox="EU@x.example") == [old.id]
    assert ids(vendor="glob") == [risky.id]
    assert ids(risk="medium") == [risky.id] and ids(risk="low") == [fresh.id, old.id] and ids(risk="high") == []
    assert ids(age="today") == [fresh.id] and ids(age="week") == [fresh.id, risky.id] and ids(age="older") == [old.id]
    assert ids(q="pay@globex") == [risky.id]
    assert ids(sort="risk")[0] == risky.id and ids(sort="total") == [risky.id, old.id, fresh.id]
    assert ids(sort="oldest") == [old.id, risky.id, fresh.id]
    page = search_invoices(QueueQuery(sort="oldest", limit=2, offset=1), now=now)
    assert [r.id for r in page.records] == [risky.id, fresh.id] and page.matched == 3

    listed = body(call(list_invoices, orchestration, query={"risk": "low", "sort": "total", "limit": "1"}))
    assert [row["id"] for row in listed["invoices"]] == [old.id] and listed["matched"] == 2
    for bad in ({"risk": "scary"}, {"age": "ancient"}, {"sort": "random"}, {"offset": "-1"}):
        response = call(list_invoices, orchestration, query=bad)
        assert response.status == 400, bad
