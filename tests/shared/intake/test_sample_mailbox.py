"""The bundled sample mailbox: what intake finds in each message, and that the generator reproduces it."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from shared.intake import parse_message

ROOT = Path(__file__).resolve().parents[3]
MAILBOX = ROOT / "samples" / "mailbox"

EXPECTED = {
    "01-pdf-invoice.eml": [("INV_2023_03_0008.pdf", "application/pdf", "attachment")],
    "02-zugferd-hybrid-pdf.eml": [("Rechnung_471102.pdf", "application/pdf", "attachment")],
    "03-xml-einvoice.eml": [("TX-471102_zugferd-invoice.xml", "application/xml", "attachment")],
    "04-scanned-invoice.eml": [("scan_invoice.jpg", "image/jpeg", "attachment")],
    "05-not-an-invoice.eml": [("style-guide.pdf", "application/pdf", "attachment")],
    "06-resent-duplicate.eml": [("INV_2023_03_0008 (copy).pdf", "application/pdf", "attachment")],
    "07-forwarded-eml.eml": [("Rechnung Nr.30064443.Mai.2014 – QualityHosting.pdf", "application/pdf", "nested-eml")],
}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_mailbox", ROOT / "samples" / "make_mailbox.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mailbox_is_complete_and_small() -> None:
    files = sorted(p.name for p in MAILBOX.glob("*.eml"))
    assert files == sorted(EXPECTED)
    assert sum(p.stat().st_size for p in MAILBOX.glob("*.eml")) < 3 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_carriers_found(name: str) -> None:
    parsed = parse_message((MAILBOX / name).read_bytes(), mailbox="ap@papyr-demo.example")
    assert [(c.filename, c.content_type, c.origin) for c in parsed.carriers] == EXPECTED[name]
    assert parsed.errors == []
    assert parsed.mail.message_id and not parsed.mail.message_id.startswith("sha256:")
    assert parsed.mail.received_at is not None and parsed.mail.received_at.tzinfo is not None


def test_carrier_bytes_are_the_source_files(shared_data: Path) -> None:
    def carrier(name: str) -> bytes:
        return parse_message((MAILBOX / name).read_bytes()).carriers[0].data

    azure = (shared_data / "invoice2data" / "AzureInterior.pdf").read_bytes()
    assert carrier("01-pdf-invoice.eml") == azure
    assert (
        carrier("02-zugferd-hybrid-pdf.eml")
        == (shared_data / "zugferd" / "XML-Rechnung__FX__EN16931_Einfach.pdf").read_bytes()
    )
    assert carrier("07-forwarded-eml.eml") == (shared_data / "invoice2data" / "QualityHosting.pdf").read_bytes()
    assert b"CrossIndustryInvoice" in carrier("03-xml-einvoice.eml")[:4096]


def test_resend_is_same_document_different_message() -> None:
    first = parse_message((MAILBOX / "01-pdf-invoice.eml").read_bytes())
    resend = parse_message((MAILBOX / "06-resent-duplicate.eml").read_bytes())
    assert first.mail.message_id != resend.mail.message_id
    assert resend.mail.subject is not None and resend.mail.subject.startswith("Fwd:")
    assert first.carriers[0].sha256 == resend.carriers[0].sha256


def test_not_an_invoice_skips_with_reasons() -> None:
    parsed = parse_message((MAILBOX / "05-not-an-invoice.eml").read_bytes())
    assert {(s.filename, s.reason) for s in parsed.skipped} == {
        (None, "message body (text/plain)"),
        ("supplier-day.ics", "calendar file"),
    }


def test_generator_reproduces_the_committed_mailbox(shared_data: Path) -> None:
    built = _generator().build(shared_data)
    assert sorted(built) == sorted(EXPECTED)
    for name, raw in built.items():
        if name == "04-scanned-invoice.eml":
            continue  # the rendered scan depends on the pypdfium2 / Pillow build; checked below
        assert hashlib.sha256(raw).hexdigest() == hashlib.sha256((MAILBOX / name).read_bytes()).hexdigest(), name
    scan = parse_message(built["04-scanned-invoice.eml"])
    assert [(c.filename, c.content_type) for c in scan.carriers] == [("scan_invoice.jpg", "image/jpeg")]
