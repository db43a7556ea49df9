"""The review dashboard rendered by the real app over real local adapters, read back as HTML."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from papyr.server import create_app
from shared.auth import Role
from shared.domain import AuditEntry, Finding, InvoiceStatus, Severity
from shared.services import Services, set_services
from tests.papyr.session_support import add_user, sign_in
from tests.shared.api import invoice_factory as factory


class Tables(HTMLParser):
    """Rows of every <table class=...> as (row class, [cell texts]); plus ids and forms seen."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[str, list[str]]]] = {}
        self.ids: set[str] = set()
        self.links: list[str] = []
        self._table: str | None = None
        self._row: tuple[str, list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        if tag == "a" and attributes.get("href"):
            self.links.append(str(attributes["href"]))
        if tag == "table":
            self._table = attributes.get("class") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = (attributes.get("class") or "", [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row[1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def body_rows(self, table: str) -> list[tuple[str, list[str]]]:
        return self.tables[table][1:]  # first row is the header


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built: Services = factory.make_services(tmp_path / "papyr")
    yield built
    set_services(None)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    """Signed in as a clerk."""
    add_user(services, "clerk@example.com", Role.CLERK, name="Cleo Clerk")
    with TestClient(create_app(services, factory.RecordingOrchestration())) as test_client:
        sign_in(test_client, "clerk@example.com")
        yield test_client


def seed_queue(services: Services) -> None:
    factory.make_record(services, vendor="Acme Supplies Ltd", number="A-1",
                        created_at=datetime(2024, 3, 3, tzinfo=UTC))
    factory.make_record(services, vendor="Globex", number="G-77", status=InvoiceStatus.REJECTED,
                        reason="rejected: not an invoice")
    factory.make_record(services, vendor="Initech", number="IT-5", status=InvoiceStatus.EXPORTED,
                        created_at=datetime(2024, 4, 1, tzinfo=UTC))


def test_queue_lists_invoices_with_badges_and_counts(client: TestClient, services: Services) -> None:
    seed_queue(services)
    response = client.get("/")
    assert response.status_code == 200
    page = Tables(response.text)
    rows = page.body_rows("queue")
    assert [cells[2] for _, cells in rows] == ["Initech", "Acme Supplies Ltd", "Globex"]
    assert rows[2][1][1] == "rejected rejected: not an invoice"
    assert rows[1][1][4] == "1190.00 EUR"
    assert 'class="badge badge-awaiting_approval"' in response.text
    counts = {link: None for link in page.links if link.startswith("/?status=")}
    assert "/?status=awaiting_approval" in counts
    assert "awaiting approval</span><span class=\"number\">1</span>" in response.text
    assert "all</span><span class=\"number\">3</span>" in response.text
    # each row links to its invoice page
    assert sum(link.startswith("/invoices/") for link in page.links) == 3


def test_queue_filters_by_status_and_search(client: TestClient, services: Services) -> None:
    seed_queue(services)
    exported = Tables(client.get("/", params={"status": "exported"}).text).body_rows("queue")
    assert [cells[2] for _, cells in exported] == ["Initech"]
    found = Tables(client.get("/", params={"q": "g-77"}).text).body_rows("queue")
    assert [cells[2] for _, cells in found] == ["Globex"]
    nothing = client.get("/", params={"q": "no such vendor"})
    assert nothing.status_code == 200 and "No invoices match this filter." in nothing.text
    bad = client.get("/", params={"status": "paid"})
    assert bad.status_code == 400 and "unknown status" in bad.text


def test_queue_escapes_what_documents_say(client: TestClient, services: Services) -> None:
    factory.make_record(services, vendor="<script>alert(1)</script> Evil Corp")
    response = client.get("/")
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Evil Corp" in response.text


def test_invoice_page_shows_fields_findings_route_and_audit(client: TestClient, services: Services) -> None:
    pdf = factory.SAMPLE_PDF.read_bytes()
    findings = [
        factory.bank_change_finding(),
        Finding(code="arithmetic.total_mismatch", severity=Severity.MEDIUM,
                message="Subtotal plus tax does not equal the total.",
                evidence={"expected": "1190.00", "found": "1200.00"}),
    ]
    record = factory.make_record(
        services, content=pdf, report=pdf, findings=findings, confidences={"invoice_number": 0.55},
        audit=[
            AuditEntry(at=datetime(2024, 3, 2, 9, 30, tzinfo=UTC), actor="papyr", action="received",
                       detail={"filename": "invoice.pdf"}),
            AuditEntry(at=datetime(2024, 3, 2, 9, 31, tzinfo=UTC), actor="papyr", action="approval_requested",
                       detail={"approver": "ap.clerk@example.com", "level": 1}),
        ],
    )
    response = client.get(f"/invoices/{record.id}")
    assert response.status_code == 200
    page = Tables(response.text)

    fields = {cells[0]: (css, cells) for css, cells in page.body_rows("fields")}
    assert fields["vendor name"][1][1:] == ["Lieferant GmbH", "97%", "text", "1", "Edit"]
    assert fields["invoice number"][0] == "field-row low-confidence"
    assert fields["invoice number"][1][2] == "55% check"
    assert fields["total"][0] == "field-row"
    # "please check" first, then LABELS.md order
    assert list(fields)[:3] == ["invoice number", "vendor name", "invoice date"]
    assert "Please check 1 field read with less than 90% confidence" in response.text

    assert page.body_rows("lines") == [("", ["Consulting, March", "10", "100.00", "1000.00"])]

    finding_rows = [cells for _, cells in page.body_rows("findings")]
    assert finding_rows[0][:3] == ["high", "bank.iban_changed", "The IBAN differs from the vendor master."]
    assert "master iban DE02120300000000202051" in finding_rows[0][3]
    assert finding_rows[1][:2] == ["medium", "arithmetic.total_mismatch"]

    audit = [cells for _, cells in page.body_rows("audit")]
    assert audit[0][:3] == ["2024-03-02 09:30:00 UTC", "papyr", "received"]
    assert audit[1][2] == "approval requested"
    assert "approver ap.clerk@example.com" in audit[1][3]

    assert "approvers: ap.clerk@example.com" in response.text
    assert "<dd>billing@lieferant.example</dd>" in response.text  # no sender name: no empty "<...>"
    assert f"/api/invoices/{record.id}/document" in page.links
    assert f"/api/invoices/{record.id}/report" in page.links
    assert "approval-form" in page.ids
    assert f'data-invoice-id="{record.id}"' in response.text and 'data-level="1"' in response.text


def test_decided_invoice_has_no_approval_form_and_shows_decisions(client: TestClient, services: Services) -> None:
    record = factory.make_record(services, status=InvoiceStatus.EXPORTED,
                                 decisions=[factory.approved_at_level(1, "jane@example.com")])
    response = client.get(f"/invoices/{record.id}")
    page = Tables(response.text)
    assert "approval-form" not in page.ids
    assert page.body_rows("decisions")[0][1][:3] == ["1", "approved", "jane@example.com"]
    assert "approval report not rendered yet" in response.text
    assert f"/api/invoices/{record.id}/report" not in page.links


def test_unknown_invoice_page_is_404(client: TestClient) -> None:
    response = client.get(f"/invoices/{'0' * 64}")
    assert response.status_code == 404
    assert "Invoice not found" in response.text


def test_static_assets_are_served_locally(client: TestClient) -> None:
    css = client.get("/static/style.css")
    js = client.get("/static/dashboard.js")
    assert css.status_code == 200 and ".badge" in css.text
    assert js.status_code == 200 and "/api/approvals/" in js.text
    page = client.get("/").text
    assert "http://" not in page and "https://" not in page  # no CDN: the dashboard runs offline
