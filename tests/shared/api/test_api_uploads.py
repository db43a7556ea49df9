from __future__ import annotations

import json

from invoice_factory import SAMPLE_PDF, RecordingOrchestration, call, make_services

from orchestrators.invoice import ORCHESTRATOR_NAME, instance_id_for
from shared.api.uploads import clean_filename, upload_document
from shared.domain import InvoiceStatus
from shared.intake.service import sha256_hex
from shared.services import Services, set_services


def upload(orchestration: RecordingOrchestration, data: bytes, filename: str | None):  # type: ignore[no-untyped-def]
    query = {"filename": filename} if filename is not None else {}
    return call(upload_document, orchestration, "POST", query=query, body=data)


def test_upload_stores_the_document_and_starts_its_orchestration(
    services: Services, orchestration: RecordingOrchestration
) -> None:
    data = SAMPLE_PDF.read_bytes()
    response = upload(orchestration, data, "C:\\scans\\Einfach.pdf")

    assert response.status == 202
    payload = json.loads(response.body)
    digest = sha256_hex(data)
    assert payload["outcome"] == "new"
    assert payload["documents"] == [{"id": digest, "filename": "Einfach.pdf", "content_type": "application/pdf",
                                     "size": len(data), "instance_id": instance_id_for(digest)}]
    [(orchestrator, instance_id, started_with)] = orchestration.started
    assert (orchestrator, instance_id) == (ORCHESTRATOR_NAME, instance_id_for(digest))
    assert started_with["document"]["sha256"] == digest

    record = services.repo.get_invoice(digest)
    assert record is not None and record.status == InvoiceStatus.RECEIVED
    assert services.blobs.get(record.document.blob_name) == data


def test_same_bytes_again_start_nothing_new(services: Services, orchestration: RecordingOrchestration) -> None:
    data = SAMPLE_PDF.read_bytes()
    assert upload(orchestration, data, "a.pdf").status == 202
    again = upload(orchestration, data, "copy-of-a.pdf")
    assert again.status == 200
    payload = json.loads(again.body)
    assert payload["outcome"] == "duplicate document"
    assert payload["documents"] == [] and payload["duplicates"] == [sha256_hex(data)]
    assert len(orchestration.started) == 1


def test_mail_message_upload_starts_one_orchestration_per_attachment(
    services: Services, orchestration: RecordingOrchestration
) -> None:
    pdf = SAMPLE_PDF.read_bytes()
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "billing@lieferant.example"
    message["To"] = "ap@example.com"
    message["Subject"] = "Rechnung"
    message["Message-ID"] = "<upload-test-1@lieferant.example>"
    message.set_content("Anbei die Rechnung.")
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="Rechnung.pdf")
    response = upload(orchestration, message.as_bytes(), "mail.eml")
    assert response.status == 202
    payload = json.loads(response.body)
    assert [doc["id"] for doc in payload["documents"]] == [sha256_hex(pdf)]
    record = services.repo.get_invoice(sha256_hex(pdf))
    assert record is not None and record.document.mail.sender == "billing@lieferant.example"


def test_client_mistakes_are_4xx(services: Services, orchestration: RecordingOrchestration) -> None:
    missing_name = upload(orchestration, b"%PDF-1.4", None)
    assert missing_name.status == 400 and "filename" in json.loads(missing_name.body)["error"]
    assert upload(orchestration, b"%PDF-1.4", "../..").status == 400
    empty = upload(orchestration, b"", "a.pdf")
    assert empty.status == 400 and "empty" in json.loads(empty.body)["error"]
    assert orchestration.started == []


def test_oversized_upload_is_413(tmp_path, orchestration: RecordingOrchestration) -> None:  # type: ignore[no-untyped-def]
    small = make_services(tmp_path / "small", max_document_bytes=1000)
    set_services(small)
    try:
        response = upload(orchestration, b"%PDF-1.4" + b"0" * 2000, "big.pdf")
    finally:
        set_services(None)
    assert response.status == 413
    assert small.repo.list_invoices() == []


def test_clean_filename_keeps_only_the_last_component() -> None:
    assert clean_filename("invoice.2024.03.pdf") == "invoice.2024.03.pdf"
    assert clean_filename("/etc/passwd") == "passwd"
    assert clean_filename("..\\..\\x.pdf") == "x.pdf"
    assert clean_filename("a\x00b.pdf") is None
    assert clean_filename("  ") is None
    assert clean_filename(None) is None
    shortened = clean_filename("n" * 400 + ".pdf") or ""
    assert len(shortened) == 255 and shortened.endswith("n.pdf")


def test_a_signed_in_uploader_is_recorded_for_the_four_eyes_rule(
    services: Services, orchestration: RecordingOrchestration
) -> None:
    import asyncio

    from shared.api.http import ApiContext, ApiRequest
    from shared.auth import AuthMethod, Principal, Role

    clerk = Principal(id="Clerk@Example.com", roles=frozenset({Role.CLERK}), method=AuthMethod.PASSWORD)
    data = SAMPLE_PDF.read_bytes()
    request = ApiRequest(method="POST", query={"filename": "a.pdf"}, body=data, principal=clerk)
    assert asyncio.run(upload_document(request, ApiContext(orchestration=orchestration))).status == 202

    trail = services.repo.audit_trail(sha256_hex(data))
    assert [(e.actor, e.action, e.detail) for e in trail if e.action == "uploaded"] == [
        ("clerk@example.com", "uploaded", {"filename": "a.pdf"})]
