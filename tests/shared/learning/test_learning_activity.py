"""The extract_invoice activity applies the vendor's profile after template-free extraction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from acme_invoices import SENDER, acme_invoice, corrected_record
from factories import document

from shared.activities import extract_invoice
from shared.adapters.local.blobs import LocalBlobStore
from shared.adapters.local.sqlite import SqliteRepository
from shared.domain import Extraction, InvoiceRecord, MailContext
from shared.learning import learn_from
from shared.services import Services, set_services
from shared.settings import Settings


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    settings = Settings(data_dir=tmp_path)
    built = Services(settings=settings, blobs=LocalBlobStore(tmp_path / "blobs"),
                     repo=SqliteRepository(settings.database_path))
    set_services(built)
    yield built
    set_services(None)


def test_extract_invoice_reads_the_taught_field_on_the_vendor_s_next_invoice(services: Services) -> None:
    taught = corrected_record("a" * 64, {"vendor_name": "ACME Widgets GmbH"}, {"invoice_number": "AW-10023"})
    learn_from(taught, services.repo, acme_invoice())
    invoice_id = "b" * 64
    content = acme_invoice(number="AW-10311", rows=4)
    services.blobs.put(f"content/{invoice_id}.json", content.model_dump_json().encode(), "application/json")
    services.repo.save_invoice(
        InvoiceRecord(id=invoice_id, document=document(invoice_id, mail=MailContext(sender=SENDER)),
                      extraction=Extraction())
    )

    assert extract_invoice({"invoice_id": invoice_id})["status"] == "ok"

    record = services.repo.get_invoice(invoice_id)
    assert record is not None and record.extraction is not None
    assert record.extraction.value("invoice_number") == "AW-10311"
    assert record.extraction.fields["invoice_number"].provenance.bbox == (420.0, 150.0, 460.0, 160.0)
