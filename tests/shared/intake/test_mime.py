"""parse_message on real MIME built with the email package, one carrier case per test."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP
from pathlib import Path

import pikepdf
import pytest

from shared.intake import ParsedMessage, parse_message
from shared.intake.mime import MAX_MESSAGE_BYTES, MAX_PART_BYTES, MAX_PARTS

UBL_INVOICE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>INV-1</cbc:ID>
</Invoice>
"""


@pytest.fixture(scope="module")
def pdf_bytes(shared_data: Path) -> bytes:
    return (shared_data / "invoice2data" / "SammyMaystoneLinesTest.pdf").read_bytes()


@pytest.fixture(scope="module")
def jpeg_bytes(shared_data: Path) -> bytes:
    return min((shared_data / "sroie").glob("*.jpg"), key=lambda p: p.stat().st_size).read_bytes()


@pytest.fixture(scope="module")
def cii_xml(shared_data: Path) -> bytes:
    with pikepdf.open(shared_data / "zugferd" / "XML-Rechnung__FX__XRECHNUNG_Einfach.pdf") as pdf:
        return pdf.attachments["xrechnung.xml"].get_file().read_bytes()


def _mail(*parts: MIMEBase | MIMEText, subject: str = "Invoice", **headers: str) -> MIMEMultipart:
    message = MIMEMultipart("mixed")
    message["From"] = headers.get("From", "Acme Billing <Billing@Acme.example>")
    message["To"] = "ap@buyer.example"
    message["Subject"] = subject
    message["Date"] = headers.get("Date", "Tue, 05 Mar 2024 09:30:00 +0100")
    message["Message-ID"] = headers.get("Message_ID", "<inv-1@acme.example>")
    message.attach(MIMEText("Please find our invoice attached.", "plain", "utf-8"))
    for part in parts:
        message.attach(part)
    return message


def _pdf_part(data: bytes, subtype: str = "pdf", **disposition: str) -> MIMEApplication:
    part = MIMEApplication(data, subtype)
    kind = disposition.pop("kind", "attachment")
    part.add_header("Content-Disposition", kind, **disposition)
    return part


def _raw_part(headers: str, data: bytes) -> str:
    body = base64.encodebytes(data).decode()
    return f"{headers}\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}"


def _raw_mail(*parts: str) -> bytes:
    boundary = "b0undary"
    text = (
        "From: a@b.example\r\nSubject: raw\r\nMessage-ID: <raw@b.example>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
    )
    for part in parts:
        text += f"--{boundary}\r\n{part}\r\n"
    return (text + f"--{boundary}--\r\n").encode()


def _parse(message: EmailMessage | MIMEBase) -> ParsedMessage:
    return parse_message(message.as_bytes(policy=SMTP), mailbox="ap@buyer.example")


# --- carriers -------------------------------------------------------------------------------------------


def test_pdf_attachment_is_a_carrier_with_exact_bytes(pdf_bytes: bytes) -> None:
    parsed = _parse(_mail(_pdf_part(pdf_bytes, filename="invoice.pdf")))
    assert [(c.filename, c.content_type, c.origin) for c in parsed.carriers] == [
        ("invoice.pdf", "application/pdf", "attachment")
    ]
    assert parsed.carriers[0].data == pdf_bytes
    assert parsed.carriers[0].sha256 == hashlib.sha256(pdf_bytes).hexdigest()
    assert parsed.errors == []


def test_inline_disposition_pdf_is_a_carrier(pdf_bytes: bytes) -> None:
    parsed = _parse(_mail(_pdf_part(pdf_bytes, kind="inline", filename="Rechnung.pdf")))
    assert [(c.filename, c.origin) for c in parsed.carriers] == [("Rechnung.pdf", "inline")]


def test_octet_stream_pdf_without_extension_is_found_by_magic(pdf_bytes: bytes) -> None:
    parsed = _parse(_mail(_pdf_part(pdf_bytes, subtype="octet-stream", filename="scan0001")))
    assert [(c.filename, c.content_type) for c in parsed.carriers] == [("scan0001", "application/pdf")]


def test_pdf_with_junk_before_header_is_found(pdf_bytes: bytes) -> None:
    data = b"\r\n" * 100 + pdf_bytes
    parsed = _parse(_mail(_pdf_part(data, subtype="octet-stream", filename="x.dat")))
    assert [c.content_type for c in parsed.carriers] == ["application/pdf"]


def test_rfc2047_encoded_multi_dot_filename(pdf_bytes: bytes) -> None:
    name = "Rechnung Müller 2024.03.15.pdf"
    encoded = "=?utf-8?B?" + base64.b64encode(name.encode()).decode() + "?="
    raw = _raw_mail(
        _raw_part(f'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="{encoded}"', pdf_bytes)
    )
    parsed = parse_message(raw)
    assert [c.filename for c in parsed.carriers] == [name]


def test_rfc2231_filename(pdf_bytes: bytes) -> None:
    header = (
        "Content-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment; filename*=utf-8''Rechnung%20Nr.%202024.01.pdf"
    )
    parsed = parse_message(_raw_mail(_raw_part(header, pdf_bytes)))
    assert [(c.filename, c.content_type) for c in parsed.carriers] == [("Rechnung Nr. 2024.01.pdf", "application/pdf")]


def test_rfc2231_continuations_and_name_parameter(pdf_bytes: bytes) -> None:
    header = (
        "Content-Type: application/pdf; name*0*=utf-8''Fa; name*1*=ktura%20%C3%9F.v2.pdf\r\n"
        "Content-Disposition: attachment"
    )
    parsed = parse_message(_raw_mail(_raw_part(header, pdf_bytes)))
    assert [c.filename for c in parsed.carriers] == ["Faktura ß.v2.pdf"]


def test_path_in_filename_is_stripped(pdf_bytes: bytes) -> None:
    parsed = _parse(_mail(_pdf_part(pdf_bytes, filename="..\\..\\windows\\inv.pdf")))
    assert [c.filename for c in parsed.carriers] == ["inv.pdf"]


def test_attached_message_rfc822_is_opened(pdf_bytes: bytes) -> None:
    inner = _mail(_pdf_part(pdf_bytes, filename="inner.invoice.pdf"), subject="original", Message_ID="<in@x>")
    parsed = _parse(_mail(MIMEMessage(inner), subject="Fwd: original"))
    assert [(c.filename, c.origin) for c in parsed.carriers] == [("inner.invoice.pdf", "nested-eml")]
    assert parsed.carriers[0].data == pdf_bytes
    assert parsed.mail.subject == "Fwd: original"  # the context is the mail that arrived


def test_eml_attachment_as_octet_stream_is_opened(pdf_bytes: bytes) -> None:
    inner = _mail(_pdf_part(pdf_bytes, filename="a.pdf"))
    parsed = _parse(_mail(_pdf_part(inner.as_bytes(), subtype="octet-stream", filename="forwarded.eml")))
    assert [(c.filename, c.origin) for c in parsed.carriers] == [("a.pdf", "nested-eml")]


def test_nested_messages_stop_at_depth_three(pdf_bytes: bytes) -> None:
    message: MIMEMultipart = _mail(_pdf_part(pdf_bytes, filename="deep.pdf"))
    for level in range(3):
        message = _mail(MIMEMessage(message), subject=f"level {level}")
    assert [c.filename for c in _parse(message).carriers] == ["deep.pdf"]  # exactly 3 levels deep
    parsed = _parse(_mail(MIMEMessage(message)))
    assert parsed.carriers == []
    assert any("nested message deeper than 3" in s.reason for s in parsed.skipped)


def test_ubl_xml_einvoice_is_a_carrier() -> None:
    part = _pdf_part(UBL_INVOICE, subtype="octet-stream", filename="INV-1.xml")
    parsed = _parse(_mail(part))
    assert [(c.filename, c.content_type) for c in parsed.carriers] == [("INV-1.xml", "application/xml")]


def test_cii_xml_from_a_zugferd_pdf_is_a_carrier(cii_xml: bytes) -> None:
    part = MIMEText(cii_xml.decode("utf-8"), "xml", "utf-8")
    part.add_header("Content-Disposition", "attachment", filename="xrechnung.xml")
    parsed = _parse(_mail(part))
    assert [(c.filename, c.content_type) for c in parsed.carriers] == [("xrechnung.xml", "application/xml")]
    assert parsed.carriers[0].data.replace(b"\r\n", b"\n") == cii_xml.replace(b"\r\n", b"\n")


def test_other_xml_is_skipped_with_its_root() -> None:
    part = _pdf_part(b'<?xml version="1.0"?><config><a/></config>', subtype="xml", filename="settings.xml")
    parsed = _parse(_mail(part))
    assert parsed.carriers == []
    assert [s.reason for s in parsed.skipped if s.filename == "settings.xml"] == [
        "XML is not an e-invoice (root element <config>)"
    ]


def test_jpeg_attachment_is_a_carrier(jpeg_bytes: bytes) -> None:
    part = MIMEBase("image", "jpeg")
    part.set_payload(jpeg_bytes)
    from email import encoders

    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename="receipt.jpg")
    parsed = _parse(_mail(part))
    assert [(c.filename, c.content_type, c.data) for c in parsed.carriers] == [
        ("receipt.jpg", "image/jpeg", jpeg_bytes)
    ]


def _png(size: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\x00" * (size - 8)


def _html_with_logo(logo: bytes, cid: str, referenced: bool) -> MIMEMultipart:
    related = MIMEMultipart("related")
    src = f"cid:{cid}" if referenced else "https://example.com/x.png"
    related.attach(MIMEText(f'<html><body><img src="{src}"> Invoice attached</body></html>', "html"))
    image = MIMEBase("image", "png")
    image.set_payload(base64.encodebytes(logo).decode())
    image["Content-Transfer-Encoding"] = "base64"
    image["Content-ID"] = f"<{cid}>"
    image.add_header("Content-Disposition", "inline", filename="logo.png")
    related.attach(image)
    return related


def test_small_cid_referenced_logo_is_skipped() -> None:
    parsed = _parse(_mail(_html_with_logo(_png(2000), "logo@acme", referenced=True)))
    assert parsed.carriers == []
    reasons = {(s.filename, s.reason) for s in parsed.skipped}
    assert ("logo.png", "small inline image referenced by the HTML body (logo)") in reasons
    assert (None, "HTML body") in reasons


def test_large_or_unreferenced_inline_images_are_carriers() -> None:
    big = _parse(_mail(_html_with_logo(_png(20_000), "scan@acme", referenced=True)))
    assert [(c.filename, c.origin) for c in big.carriers] == [("logo.png", "inline")]
    unreferenced = _parse(_mail(_html_with_logo(_png(2000), "x@acme", referenced=False)))
    assert [c.filename for c in unreferenced.carriers] == ["logo.png"]


def test_signature_and_calendar_are_skipped(pdf_bytes: bytes) -> None:
    signature = MIMEApplication(b"0\x82\x05\x00fake-der", "pkcs7-signature")
    signature.add_header("Content-Disposition", "attachment", filename="smime.p7s")
    calendar = MIMEText("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "calendar")
    calendar.add_header("Content-Disposition", "attachment", filename="invite.ics")
    parsed = _parse(_mail(_pdf_part(pdf_bytes, filename="i.pdf"), signature, calendar))
    assert [c.filename for c in parsed.carriers] == ["i.pdf"]
    reasons = {s.filename: s.reason for s in parsed.skipped}
    assert reasons["smime.p7s"] == "signature"
    assert reasons["invite.ics"] == "calendar file"
    assert reasons[None] == "message body (text/plain)"


def test_same_bytes_twice_in_one_mail_is_one_carrier(pdf_bytes: bytes) -> None:
    parsed = _parse(_mail(_pdf_part(pdf_bytes, filename="a.pdf"), _pdf_part(pdf_bytes, filename="copy.pdf")))
    assert [c.filename for c in parsed.carriers] == ["a.pdf"]
    assert any(s.reason == "duplicate of a.pdf in the same message" for s in parsed.skipped)


def test_fake_pdf_is_still_handed_on_for_a_recorded_rejection() -> None:
    zip_bytes = b"PK\x03\x04" + b"\x00" * 200
    parsed = _parse(_mail(_pdf_part(zip_bytes, subtype="octet-stream", filename="Invoice 0042.pdf")))
    assert [(c.filename, c.content_type) for c in parsed.carriers] == [("Invoice 0042.pdf", "application/pdf")]


def test_other_attachments_are_skipped_with_reason() -> None:
    part = _pdf_part(b"PK\x03\x04" + b"\x00" * 50, subtype="zip", filename="archive.zip")
    parsed = _parse(_mail(part))
    assert parsed.carriers == []
    assert {s.filename: s.reason for s in parsed.skipped}["archive.zip"] == "not an invoice carrier (application/zip)"


def test_single_part_pdf_message_body_is_a_carrier(pdf_bytes: bytes) -> None:
    message = EmailMessage()
    message["From"] = "scanner@office.example"
    message["Subject"] = "scan"
    message.set_content(pdf_bytes, maintype="application", subtype="pdf")
    parsed = _parse(message)
    assert [(c.content_type, c.origin, c.filename) for c in parsed.carriers] == [
        ("application/pdf", "body", "part-1.pdf")
    ]


def test_winmail_dat_attachments_are_carriers(shared_data: Path) -> None:
    tnef_dir = shared_data / "robustness" / "emails_mimekit" / "tnef"
    part = MIMEApplication((tnef_dir / "MAPI_ATTACH_DATA_OBJ.tnef").read_bytes(), "ms-tnef")
    part.add_header("Content-Disposition", "attachment", filename="winmail.dat")
    parsed = _parse(_mail(part))
    assert [(c.filename, c.content_type, c.origin) for c in parsed.carriers] == [
        ("VIA_Nytt_1402.pdf", "application/pdf", "tnef")
    ]
    assert parsed.carriers[0].data == (tnef_dir / "MAPI_ATTACH_DATA_OBJ" / "VIA_Nytt_1402.pdf").read_bytes()
    skipped = {s.filename for s in parsed.skipped}
    assert {"VIA_Nytt_1402.doc", "VIA_Nytt_14021.htm"} <= skipped


# --- mail context -------------------------------------------------------------------------------------


def test_mail_context_from_headers(pdf_bytes: bytes) -> None:
    message = _mail(_pdf_part(pdf_bytes, filename="a.pdf"), subject="=?utf-8?q?Rechnung_f=C3=BCr_M=C3=A4rz?=")
    message["Reply-To"] = "Accounts <Accounts@Acme.example>"
    parsed = _parse(message)
    mail = parsed.mail
    assert mail.mailbox == "ap@buyer.example"
    assert mail.message_id == "inv-1@acme.example"
    assert mail.sender == "billing@acme.example"
    assert mail.sender_name == "Acme Billing"
    assert mail.reply_to == "accounts@acme.example"
    assert mail.subject == "Rechnung für März"
    assert mail.received_at == datetime(2024, 3, 5, 9, 30, tzinfo=timezone(timedelta(hours=1)))


def test_missing_message_id_gets_deterministic_hash_id() -> None:
    raw = b"From: x@y.example\r\nSubject: hi\r\n\r\nbody\r\n"
    parsed = parse_message(raw)
    assert parsed.mail.message_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert parse_message(raw).mail.message_id == parsed.mail.message_id


def test_encoded_display_name_and_odd_dates() -> None:
    raw = (
        b"From: =?iso-8859-1?q?J=F6rg_Kr=E4mer?= <JK@Example.COM>\r\n"
        b"Date: Mon, 4 Mar 2024 10:00:00 -0000\r\nSubject: x\r\n\r\nbody\r\n"
    )
    mail = parse_message(raw).mail
    assert (mail.sender, mail.sender_name) == ("jk@example.com", "Jörg Krämer")
    assert mail.received_at == datetime(2024, 3, 4, 10, 0, tzinfo=UTC)
    bad = parse_message(b"From: a@b.example\r\nDate: the day after tomorrow\r\n\r\nx").mail
    assert bad.received_at is None


# --- hostile input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff" * 500,
        b"From: <<<\r\nTo: ,,,@@@\r\nSubject: =?bogus?x?zzz?=\r\nDate: 99 Foo 99999\r\n\r\n",
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: application/pdf\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n",
        b"Content-Type: multipart/mixed\r\n\r\nno boundary at all",
        b"Subject: \xe4\xf6\xfc raw 8-bit\r\nFrom: \xc3\xa4 <x@y>\r\n\r\nbody",
    ],
)
def test_garbage_never_raises(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    assert parsed.mail.message_id
    parsed.model_dump_json()  # serialisable: no lone surrogates left in any text


def test_too_many_parts_stops_with_error() -> None:
    parts = [MIMEText(f"part {i}", "plain") for i in range(MAX_PARTS + 20)]
    parsed = _parse(_mail(*parts))
    assert any(f"more than {MAX_PARTS} MIME parts" in e for e in parsed.errors)
    assert len(parsed.skipped) <= MAX_PARTS


def test_message_over_size_limit_is_an_error_not_parsed() -> None:
    raw = b"From: big@x.example\r\nSubject: huge\r\nMessage-ID: <big@x>\r\n\r\n" + b"A" * (MAX_MESSAGE_BYTES + 1)
    parsed = parse_message(raw)
    assert parsed.carriers == []
    assert parsed.errors and "message too large" in parsed.errors[0]
    assert (parsed.mail.message_id, parsed.mail.subject) == ("big@x", "huge")


def test_attachment_over_size_limit_is_skipped() -> None:
    # 8-bit transfer encoding keeps the mail itself under the message limit.
    data = b"%PDF-1.4\n" + b"0" * MAX_PART_BYTES
    raw = (
        b"From: a@b.example\r\nMessage-ID: <big-part@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\n'
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: binary\r\n"
        b'Content-Disposition: attachment; filename="huge.pdf"\r\n\r\n' + data + b"\r\n--zz--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.carriers == []
    assert [s.reason.split(":")[0] for s in parsed.skipped if s.filename == "huge.pdf"] == ["attachment too large"]
