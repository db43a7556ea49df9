"""Each PDF tampering detector on small PDFs built here: a clean one, and one per kind of edit."""

from __future__ import annotations

import io

import pikepdf

from bench.fraud.pdf_edit import add_overlay, edit_digits_in_stream, find_amount, incremental_update
from shared.domain import Finding, Severity
from shared.domain.models import SEVERITY_RANK
from shared.forensics.findings import pdf_findings
from shared.forensics.pdf import analyse_pdf, parse_pdf_date
from tests.shared.forensics.pdfs import invoice_pdf


def serious(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings if SEVERITY_RANK[f.severity] >= SEVERITY_RANK[Severity.MEDIUM]}


def edited_incrementally(data: bytes, how: str) -> bytes:
    amount = find_amount(data, "1234.50")
    assert amount is not None and amount.text == "1,234.50"
    with pikepdf.open(io.BytesIO(data)) as pdf:
        changed = (
            edit_digits_in_stream(pdf, amount, "7,234.50")
            if how == "digits"
            else add_overlay(pdf, amount, "7,234.50", cover=True)
        )
        assert changed is not None
        return incremental_update(data, pdf, changed)


def test_a_clean_pdf_has_no_serious_finding() -> None:
    result = analyse_pdf(invoice_pdf())
    assert result.revisions == 1
    assert result.producer == "Papyr Test Writer 1.0"
    assert serious(pdf_findings(result)) == {}


def test_digits_changed_in_an_incremental_update_show_before_and_after() -> None:
    edited = edited_incrementally(invoice_pdf(), "digits")
    result = analyse_pdf(edited)

    assert result.revisions == 2
    finding = serious(pdf_findings(result))["tamper.pdf.revision_text_changed"]
    assert finding.severity is Severity.HIGH
    assert finding.evidence["before"] == ["1,234.50"]
    assert finding.evidence["after"] == ["7,234.50"]
    assert "page content" in finding.evidence["objects_rewritten"]
    box = finding.evidence["locations"][0]["bbox"]  # around the changed digit, in points from the top
    assert box[0] <= 451 <= box[2] <= 470 and 190 <= box[1] <= 205


def test_an_update_that_changes_no_pixel_is_only_information() -> None:
    data = invoice_pdf()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.docinfo["/Subject"] = "archived"
        updated = incremental_update(data, pdf, [pdf.trailer.Info])
    findings = pdf_findings(analyse_pdf(updated))
    assert [(f.code, f.severity) for f in findings] == [("tamper.pdf.incremental_update", Severity.INFO)]


def test_a_white_box_and_a_new_amount_drawn_over_the_old_one() -> None:
    data = invoice_pdf()
    amount = find_amount(data, "1234.50")
    assert amount is not None
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        add_overlay(pdf, amount, "9,234.50", cover=True)
        pdf.save(out)  # rewritten whole: no revision trail to compare
    result = analyse_pdf(out.getvalue())

    assert result.revisions == 1
    overprint = serious(pdf_findings(result))["tamper.pdf.overprint"]
    assert "1" in overprint.evidence["under"] and "9" in overprint.evidence["over"]
    assert overprint.evidence["locations"][0]["page"] == 1


def test_an_amount_covered_by_a_white_box_is_hidden_text() -> None:
    cover = b"q 1 1 1 rg 445 636 60 16 re f Q\n"  # over "1,234.50" (baseline 640)
    finding = serious(pdf_findings(analyse_pdf(invoice_pdf(extra=cover))))["tamper.pdf.hidden_text"]
    assert finding.evidence["text_layer"] == "1,234.50"
    assert finding.evidence["cause"] == "covered"
    assert len(finding.evidence["locations"]) == 2  # the hidden amount and the box drawn over it


def test_an_amount_set_in_two_fonts_is_a_glyph_run_inconsistency() -> None:
    mixed = b"BT /F1 11 Tf 450 560 Td (2,) Tj /F2 11 Tf (345.00) Tj ET\n"
    data = invoice_pdf(extra=mixed)
    with pikepdf.open(io.BytesIO(data)) as pdf:
        fonts = pdf.pages[0].obj.Resources.Font
        fonts["/F2"] = pdf.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name("/Courier"))
        )
        out = io.BytesIO()
        pdf.save(out)
    runs = analyse_pdf(out.getvalue()).glyph_runs
    assert [(run.text, run.reason) for run in runs] == [("2,345.00", "mixed_font")]
    finding = serious(pdf_findings(analyse_pdf(out.getvalue())))["tamper.pdf.glyph_inconsistent"]
    assert set(finding.evidence["fonts"]) == {"Courier", "Helvetica"}


def test_a_signature_covering_the_whole_file_is_quiet() -> None:
    result = analyse_pdf(invoice_pdf(signature_field=True))
    assert [s.signed and s.well_formed and s.covers_to == result.size for s in result.signatures] == [True]
    assert serious(pdf_findings(result)) == {}


def test_a_visible_change_after_signing_is_high() -> None:
    signed = invoice_pdf(signature_field=True)
    edited = edited_incrementally(signed, "overlay")
    findings = serious(pdf_findings(analyse_pdf(edited)))
    assert findings["tamper.pdf.modified_after_signing"].severity is Severity.HIGH
    assert findings["tamper.pdf.modified_after_signing"].evidence["signed_bytes_end"] == len(signed)


def test_a_signature_removed_in_an_update_is_stripped() -> None:
    signed = invoice_pdf(signature_field=True)
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        widget = pdf.Root.AcroForm.Fields[0]
        del widget["/V"]
        stripped = incremental_update(signed, pdf, [widget])
    findings = serious(pdf_findings(analyse_pdf(stripped)))
    assert findings["tamper.pdf.signature_stripped"].evidence == {"signature_records": 1, "attached_signatures": 0}


def test_modification_long_after_creation_is_low() -> None:
    data = invoice_pdf(created="D:20240101090000Z", modified="D:20240601090000+02'00'")
    findings = {f.code: f for f in pdf_findings(analyse_pdf(data))}
    assert findings["tamper.pdf.modified_later"].severity is Severity.LOW
    assert findings["tamper.pdf.modified_later"].evidence["days"] == 151.9


def test_pdf_dates_parse_with_and_without_zones() -> None:
    assert parse_pdf_date("D:20240501090000+02'00'").isoformat() == "2024-05-01T09:00:00+02:00"  # type: ignore[union-attr]
    assert parse_pdf_date("D:2024").isoformat() == "2024-01-01T00:00:00+00:00"  # type: ignore[union-attr]
    assert parse_pdf_date("yesterday") is None


def test_garbage_is_a_warning_not_a_crash() -> None:
    result = analyse_pdf(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n%%EOF\n" + b"\x00" * 100)
    assert result.warnings
    assert pdf_findings(result) == [] or all(f.severity is not Severity.HIGH for f in pdf_findings(result))
