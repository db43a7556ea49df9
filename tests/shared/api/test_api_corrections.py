from __future__ import annotations

import asyncio
import json

from invoice_factory import RecordingOrchestration, make_record

from shared.api.corrections import correct_field, normalise_value
from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.auth import AuthMethod, Principal, Role
from shared.domain import InvoiceStatus, Source
from shared.services import Services

CLERK = Principal(id="clerk@example.com", roles=frozenset({Role.CLERK}), method=AuthMethod.PASSWORD)


def correct(invoice_id: str, field: str, value: object, *, content_type: str = "application/json",
            principal: Principal | None = CLERK) -> ApiResponse:
    request = ApiRequest(method="POST", path_params={"invoice_id": invoice_id, "field": field},
                         headers={"content-type": content_type}, body=json.dumps({"value": value}).encode(),
                         principal=principal)
    return asyncio.run(correct_field(request, ApiContext(orchestration=RecordingOrchestration())))


def test_a_correction_is_recorded_with_who_and_when_and_the_checks_run_again(services: Services) -> None:
    record = make_record(services, confidences={"total": 0.6})
    assert not any(f.code.startswith("arithmetic") for f in record.findings)

    wrong = correct(record.id, "total", "1.200,00 €")  # typed the way the document prints it
    assert wrong.status == 200, wrong.body
    saved = services.repo.get_invoice(record.id)
    assert saved is not None and saved.extraction is not None
    field = saved.extraction.fields["total"]
    assert (field.value, field.confidence, field.provenance.source) == ("1200.00", 1.0, Source.USER)
    assert field.provenance.bbox == (10, 20, 110, 32) and field.provenance.text == "1.200,00 €"  # box kept
    [correction] = saved.corrections
    assert (correction.field, correction.old_value, correction.new_value, correction.by) == (
        "total", "1190.00", "1200.00", "clerk@example.com")
    raised = {f.code for f in saved.findings}
    assert any(code.startswith("arithmetic") for code in raised), raised
    assert saved.risk_score > 0
    entry = services.repo.audit_trail(record.id)[-1]
    assert (entry.action, entry.actor) == ("field_corrected", "clerk@example.com")
    assert (entry.detail["field"], entry.detail["old"], entry.detail["new"]) == ("total", "1190.00", "1200.00")
    assert entry.detail["raised"] == sorted(raised - {f.code for f in record.findings})

    fixed = correct(record.id, "total", "1190")
    assert json.loads(fixed.body)["changed"] is True
    saved = services.repo.get_invoice(record.id)
    assert saved is not None and not any(f.code.startswith("arithmetic") for f in saved.findings)
    assert services.repo.audit_trail(record.id)[-1].detail["resolved"]
    assert [c.new_value for c in saved.corrections] == ["1200.00", "1190.00"]
    # the same value again changes nothing and records nothing
    again = correct(record.id, "total", "1190.00")
    assert json.loads(again.body)["changed"] is False and len(services.repo.audit_trail(record.id)) == 3


def test_values_are_normalised_or_refused() -> None:
    assert normalise_value("invoice_date", "31.03.2024") == "2024-03-31"
    assert normalise_value("due_date", "2024-04-30") == "2024-04-30"
    assert normalise_value("iban", "de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    assert normalise_value("currency", "eur") == "EUR"
    assert normalise_value("vendor_name", "  ACME   GmbH ") == "ACME GmbH"


def test_bad_corrections_are_clear_errors(services: Services) -> None:
    record = make_record(services)
    assert correct(record.id, "total", "about twelve").status == 400
    assert "not a date" in json.loads(correct(record.id, "invoice_date", "soon").body)["error"]
    assert correct(record.id, "currency", "EURO").status == 400
    assert correct(record.id, "document_type", "receipt").status == 404
    assert correct(record.id, "colour", "blue").status == 404
    assert correct(record.id, "total", "1.00", content_type="application/x-www-form-urlencoded").status == 415
    assert correct(record.id, "total", "").status == 400
    assert correct("0" * 64, "total", "1.00").status == 404
    assert correct(record.id, "total", "1.00", principal=None).status == 401
    exported = make_record(services, number="X-2", status=InvoiceStatus.EXPORTED)
    assert correct(exported.id, "total", "1.00").status == 409
    assert services.repo.get_invoice(record.id).corrections == []  # type: ignore[union-attr]


def test_a_clerk_s_correction_teaches_the_vendor_s_next_invoice(services: Services, shared_data) -> None:  # type: ignore[no-untyped-def]
    """Issue 6: a buyer name corrected through the API on one dev invoice comes out right on the same
    vendor's next invoice (two ZUGFeRD samples of one vendor, read through their text layer)."""
    from pathlib import Path

    from shared.documents.content import content_blob_name
    from shared.documents.loader import load_content
    from shared.domain import DocumentRef, InvoiceRecord, MailContext
    from shared.extraction import extract
    from shared.learning import apply_profile

    folder = Path(shared_data) / "zugferd"

    def read(stem: str):  # type: ignore[no-untyped-def]
        pdf = folder / f"{stem}.pdf"
        content = load_content(pdf.read_bytes(), pdf.name, "application/pdf", ocr=None)
        content.xml = None  # read the page, not the embedded e-invoice
        return content, json.loads((folder / f"{stem}.json").read_text())

    first_content, first_label = read("ZUGFeRDv2__correct__FNFE-factur-x-examples__Avoir_FR_type381_BASIC")
    next_content, next_label = read("ZUGFeRDv2__correct__FNFE-factur-x-examples__Facture_DOM_BASICWL")
    first_id = "f" * 64
    record = InvoiceRecord(
        id=first_id, status=InvoiceStatus.AWAITING_APPROVAL, extraction=extract(first_content),
        document=DocumentRef(sha256=first_id, blob_name=f"documents/{first_id}.pdf", filename="first.pdf",
                             content_type="application/pdf", size=1))
    services.repo.save_invoice(record)
    services.blobs.put(content_blob_name(first_id), first_content.model_dump_json().encode(), "application/json")
    before = extract(next_content)
    assert before.value("buyer_name") != next_label["buyer_name"]  # wrong without learning

    response = correct(first_id, "buyer_name", first_label["buyer_name"])
    assert response.status == 200, response.body
    [entry] = [e for e in services.repo.audit_trail(first_id) if e.action == "field_corrected"]
    assert entry.detail["learned"]["fields"] == ["buyer_name"]

    after = apply_profile(before, next_content, MailContext(), services.repo)
    assert after.value("buyer_name") == next_label["buyer_name"]
