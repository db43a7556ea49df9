"""Intake service: message and document dedupe, originals kept, orchestration input."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from shared.adapters.local.blobs import LocalBlobStore
from shared.adapters.local.sqlite import SqliteRepository
from shared.intake.service import Outcome, ingest_file, ingest_message, is_message, orchestration_input
from shared.services import Services
from shared.settings import Settings


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = Settings(data_dir=tmp_path)
    return Services(settings=settings, blobs=LocalBlobStore(tmp_path / "blobs"),
                    repo=SqliteRepository(tmp_path / "db.sqlite3"))


@pytest.fixture
def invoice_pdf(shared_data: Path) -> bytes:
    return (shared_data / "invoice2data" / "AzureInterior.pdf").read_bytes()


def mail(message_id: str, pdf: bytes | None, name: str = "invoice.pdf") -> bytes:
    message = EmailMessage()
    message["From"] = "Billing <billing@vendor.example>"
    message["To"] = "ap@papyr.example"
    message["Subject"] = "Invoice"
    message["Message-ID"] = f"<{message_id}>"
    message["Date"] = "Mon, 20 Mar 2023 10:00:00 +0000"
    message.set_content("Please find our invoice attached.")
    if pdf is not None:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes(policy=SMTP)


def test_a_message_is_ingested_once_and_its_original_kept(services: Services, invoice_pdf: bytes) -> None:
    raw = mail("m1@vendor.example", invoice_pdf)
    first = ingest_message(raw, mailbox="ap", services=services)
    assert first.outcome is Outcome.NEW and len(first.documents) == 1
    ref = first.documents[0]
    assert services.blobs.get(ref.blob_name) == invoice_pdf
    assert ref.mail.sender == "billing@vendor.example" and ref.mail.message_id == "m1@vendor.example"
    assert services.blobs.list("messages/")  # the raw message, kept
    assert services.repo.message_claimed("ap", "m1@vendor.example")

    again = ingest_message(raw, mailbox="ap", services=services)
    assert again.outcome is Outcome.DUPLICATE_MESSAGE and not again.documents
    # The same Message-ID in another mailbox is another delivery and is read.
    assert ingest_message(raw, mailbox="other", services=services).outcome is Outcome.DUPLICATE_DOCUMENT


def test_the_same_bytes_in_a_new_message_are_a_duplicate_document(services: Services, invoice_pdf: bytes) -> None:
    first = ingest_message(mail("m1@vendor.example", invoice_pdf), mailbox="ap", services=services)
    resent = ingest_message(mail("m2@vendor.example", invoice_pdf, "copy.pdf"), mailbox="ap", services=services)
    assert resent.outcome is Outcome.DUPLICATE_DOCUMENT
    assert resent.duplicates == [first.documents[0].sha256]
    trail = [entry.action for entry in services.repo.audit_trail(first.documents[0].sha256)]
    assert trail == ["received", "duplicate_received"]


def test_a_message_without_carriers_is_reported_not_dropped(services: Services) -> None:
    result = ingest_message(mail("m3@vendor.example", None), mailbox="ap", services=services)
    assert result.outcome is Outcome.NO_CARRIER
    assert "message body" in result.detail
    assert services.repo.message_claimed("ap", "m3@vendor.example")


def test_files_are_told_apart_from_messages(services: Services, invoice_pdf: bytes) -> None:
    assert is_message(mail("m4@x", None), "upload.bin")
    assert not is_message(invoice_pdf, "invoice.pdf")
    result = ingest_file(invoice_pdf, "dir/invoice.pdf", "ap", services=services)
    assert result.outcome is Outcome.NEW
    ref = result.documents[0]
    assert (ref.filename, ref.content_type, ref.blob_name) == ("invoice.pdf", "application/pdf",
                                                              f"documents/{ref.sha256}.pdf")
    payload = orchestration_input(ref, services.settings)
    assert payload["document"]["sha256"] == ref.sha256
    assert payload["approval"]["remind_after_hours"] == services.settings.remind_after_hours


def test_same_bytes_arriving_after_the_checks_show_on_the_record(services: Services, invoice_pdf: bytes) -> None:
    from shared.domain import Extraction, InvoiceStatus

    first = ingest_message(mail("c1@example.com", invoice_pdf), mailbox="ap@example.com", services=services)
    [ref] = first.documents
    record = services.repo.get_invoice(ref.sha256)
    assert record is not None
    record.status, record.extraction = InvoiceStatus.EXPORTED, Extraction()
    services.repo.save_invoice(record)
    ingest_message(mail("c2@example.com", invoice_pdf), mailbox="ap2@example.com", services=services)
    checked = services.repo.get_invoice(ref.sha256)
    assert checked is not None
    [exact] = [f for f in checked.findings if f.code == "duplicate.exact"]
    assert "ap2@example.com" in exact.message
