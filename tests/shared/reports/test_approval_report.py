from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pdfplumber
import pytest
from sample_record import SHA, sample_record

from shared.domain import DocumentRef, ExtractedField, Extraction, InvoiceRecord, InvoiceStatus, Provenance, Source
from shared.reports import render_approval_html, render_approval_report


def pdf_text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return "\n".join(page.extract_text() or "" for page in document.pages)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, str]:
    record, audit = sample_record(tmp_path_factory.mktemp("report"))
    pdf = render_approval_report(record, audit)
    return pdf, pdf_text(pdf)


def test_report_is_a_pdf_with_the_header(rendered: tuple[bytes, str]) -> None:
    pdf, text = rendered
    assert pdf.startswith(b"%PDF-")
    assert "Papyr approval report" in text
    assert "Lieferant GmbH · invoice RE-2024-0815" in text
    assert "14,399.00 EUR" in text
    assert "APPROVED" in text  # status pill
    assert "0.64" in text  # risk score of one high and one low finding


def test_report_shows_route_and_findings_with_evidence(rendered: tuple[bytes, str]) -> None:
    _, text = rendered
    assert "Route: approval — clerk@example.com, cfo@example.com" in text
    assert "bank.iban_changed" in text and "bic.country_mismatch" in text
    assert "differs from the one on file for Lieferant GmbH" in text
    assert "master iban DE89370400440532013000" in text
    assert "GB82WEST12345698765432 (text, page 1, at (380, 600)–(520, 612), 72% confident)" in text


def test_report_shows_fields_lines_decisions_and_audit(rendered: tuple[bytes, str]) -> None:
    _, text = rendered
    assert re.search(r"Total 14399\.00 97% text, page 1, at \(450, 640\)", text)
    assert re.search(r"IBAN GB82WEST12345698765432 72%", text)
    assert "Kunstrasen grün 3m breit 300 33.00 9900.00" in text
    assert "Verlegung <inkl. Material> & Anfahrt" in text  # escaped in HTML, shown verbatim
    assert "Called vendor: new bank account confirmed" in text
    assert "2 approved cfo@example.com 2024-05-06 13:30:00 UTC" in text
    assert text.count("decision recorded") == 2
    assert "2024-05-06 08:30:00 UTC papyr received mailbox: ap@example.com" in text


def test_report_names_the_document_and_its_hash(rendered: tuple[bytes, str]) -> None:
    _, text = rendered
    assert f"SHA-256 {SHA}" in text
    assert "File name Rechnung RE-2024-0815.pdf" in text
    assert "From billing@lieferant.example" in text
    assert "Report as of 2024-05-06 13:30:00 UTC" in text  # the latest audit entry, not the wall clock
    assert "Page 1 of 2" in text


def test_same_inputs_give_the_same_report(tmp_path: Path, rendered: tuple[bytes, str]) -> None:
    record, audit = sample_record(tmp_path)
    assert render_approval_html(record, audit) == render_approval_html(record, audit)
    assert pdf_text(render_approval_report(record, audit)) == rendered[1]
    with pdfplumber.open(io.BytesIO(rendered[0])) as document:
        assert document.metadata["CreationDate"] == "D:20240506133000Z"


def test_explicit_generation_time(tmp_path: Path) -> None:
    record, audit = sample_record(tmp_path)
    at = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
    assert "Report as of 2024-07-01 12:00:00 UTC" in pdf_text(render_approval_report(record, audit, generated_at=at))


def test_bare_rejected_record_renders() -> None:
    record = InvoiceRecord(
        id="f" * 64,
        document=DocumentRef(
            sha256="f" * 64, blob_name="documents/f.pdf", filename="scan.pdf", content_type="application/pdf", size=10
        ),
        status=InvoiceStatus.REJECTED,
        reason="rejected: encrypted PDF",
        updated_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    text = pdf_text(render_approval_report(record, []))
    assert "Unknown vendor" in text
    assert "REJECTED" in text and "rejected: encrypted PDF" in text
    assert "No fields were extracted." in text and "The audit trail is empty." in text
    assert "Report as of 2024-01-02 03:04:05 UTC" in text


def test_hostile_field_values_are_text_not_markup(tmp_path: Path) -> None:
    record, audit = sample_record(tmp_path)
    assert record.extraction is not None
    hostile = '<img src="http://attacker.example/x.png"><b>ACME</b>'
    record.extraction = Extraction(
        fields={"vendor_name": ExtractedField(value=hostile, confidence=0.5, provenance=Provenance(source=Source.OCR))}
    )
    html = render_approval_html(record, audit)
    assert "<img" not in html and "&lt;img" in html
    assert "ACME</b>" in pdf_text(render_approval_report(record, audit))


def test_audit_trail_prints_approvals_questions_refusals_and_views(tmp_path: Path) -> None:
    from shared.domain import AuditEntry

    record, _ = sample_record(tmp_path)
    at = record.updated_at
    trail = [
        AuditEntry(at=at, actor="papyr", action="approval_card_sent", detail={"channel": "power_automate"}),
        AuditEntry(at=at, actor="ap.clerk@example.com", action="viewed", detail={"what": "document"}),
        AuditEntry(at=at, actor="ap.clerk@example.com", action="question_asked", detail={"comment": "PO?"}),
        AuditEntry(at=at, actor="anonymous", action="approval_refused",
                   detail={"status": 401, "reason": "no credential"}),
        AuditEntry(at=at, actor="ap.clerk@example.com", action="approval_received", detail={"decision": "approved"}),
    ]
    html = render_approval_html(record, trail)
    for action, detail in (("approval card sent", "channel: power_automate"), ("viewed", "what: document"),
                           ("question asked", "comment: PO?"), ("approval refused", "reason: no credential"),
                           ("approval received", "decision: approved")):
        assert f"<td>{action}</td>" in html and detail in html, action
