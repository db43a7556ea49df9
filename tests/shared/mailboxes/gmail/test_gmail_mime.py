"""Rebuilding RFC 5322 bytes from Gmail's format=full MIME tree (the path for mail too large for raw)."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from pathlib import Path

import pytest

from shared.intake import parse_message
from shared.mailboxes.gmail import GmailPayloadError, decode_base64url, rebuild_mime


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_an_attached_mail_with_a_pdf_and_a_non_ascii_subject_survive(shared_data: Path) -> None:
    pdf = (shared_data / "invoice2data" / "AzureInterior.pdf").read_bytes()
    inner = EmailMessage()
    inner["From"] = "billing@azureinterior.example"
    inner["Subject"] = "Invoice"
    inner.set_content("see attachment")
    inner.add_attachment(pdf, maintype="application", subtype="pdf", filename="AzureInterior.pdf")
    payload = {
        "mimeType": "multipart/mixed",
        "headers": [
            {"name": "From", "value": "Forwarder <fw@example.com>"},
            {"name": "Subject", "value": "Rechnung für März"},
            {"name": "Message-ID", "value": "<fw-1@example.com>"},
            {"name": "Content-Type", "value": 'multipart/mixed; boundary="b1"'},
        ],
        "body": {"size": 0},
        "parts": [
            {
                "mimeType": "text/plain",
                "headers": [{"name": "Content-Type", "value": "text/plain; charset=UTF-8"}],
                "body": {"data": b64url("Weitergeleitet – bitte zahlen.".encode())},
            },
            {
                "mimeType": "message/rfc822",
                "filename": "invoice.eml",
                "headers": [{"name": "Content-Type", "value": "message/rfc822"}],
                "body": {"attachmentId": "att-1"},
            },
        ],
    }
    fetched: list[str] = []

    def attachment(attachment_id: str) -> bytes:
        fetched.append(attachment_id)
        return inner.as_bytes()

    parsed = parse_message(rebuild_mime(payload, attachment))

    assert fetched == ["att-1"]
    assert parsed.mail.subject == "Rechnung für März"
    assert [(c.data, c.origin) for c in parsed.carriers if c.content_type == "application/pdf"] == [(pdf, "nested-eml")]


def test_base64url_without_padding_decodes_and_garbage_is_refused() -> None:
    assert decode_base64url(b64url(b"\xff\xfe invoice")) == b"\xff\xfe invoice"
    with pytest.raises(GmailPayloadError):
        decode_base64url("a")
