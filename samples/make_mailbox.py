"""Regenerate the bundled sample mailbox (samples/mailbox/*.eml) from ../shared/data, deterministically.

Fixed dates, Message-IDs and MIME boundaries: running it twice gives the same bytes (for the same
pypdfium2 / Pillow versions, which render the scanned invoice).

    .venv/bin/python samples/make_mailbox.py [--data ../shared/data] [--out samples/mailbox]
"""

from __future__ import annotations

import argparse
import hashlib
import io
from email.message import EmailMessage, Message
from email.policy import SMTP
from pathlib import Path

import pikepdf
import pypdfium2
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BUYER = "AP Team <ap@papyr-demo.example>"


def _message(subject: str, sender: str, date: str, message_id: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = BUYER
    message["Subject"] = subject
    message["Date"] = date
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(body)
    return message


def _fix_boundaries(message: Message, seed: str) -> None:
    """Replace the random MIME boundaries (attached messages included) with ones derived from a seed."""
    for index, part in enumerate(message.walk()):
        if part.get_content_maintype() == "multipart":
            part.set_boundary(f"=_papyr_{hashlib.sha256(f'{seed}/{index}'.encode()).hexdigest()[:24]}")


def _pdf_attachment(message: EmailMessage, data: bytes, filename: str) -> None:
    message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)


def _embedded_xml(pdf_path: Path) -> tuple[str, bytes]:
    with pikepdf.open(pdf_path) as pdf:
        name, spec = next(iter(pdf.attachments.items()))
        return name, spec.get_file().read_bytes()


def _scan(pdf_path: Path) -> bytes:
    """A 'scanned' first page: 150 dpi greyscale, rotated a little, JPEG."""
    document = pypdfium2.PdfDocument(str(pdf_path))
    try:
        bitmap = document[0].render(scale=150 / 72, grayscale=True)
        image = bitmap.to_pil().convert("L")
    finally:
        document.close()
    image = image.rotate(0.8, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80, dpi=(150, 150))
    return out.getvalue()


def build(data: Path) -> dict[str, bytes]:
    i2d = data / "invoice2data"
    zugferd = data / "zugferd"
    mails: dict[str, EmailMessage] = {}

    azure_pdf = (i2d / "AzureInterior.pdf").read_bytes()
    m = _message(
        "Invoice INV/2023/03/0008",
        "Azure Interior Billing <billing@azure-interior.example>",
        "Mon, 20 Mar 2023 09:15:00 +0000",
        "01-invoice@azure-interior.example",
        "Hello,\n\nplease find attached our invoice INV/2023/03/0008.\n\nAzure Interior\n",
    )
    _pdf_attachment(m, azure_pdf, "INV_2023_03_0008.pdf")
    mails["01-pdf-invoice.eml"] = m

    m = _message(
        "Rechnung 471102",
        "Lieferant GmbH <rechnung@lieferant.example>",
        "Mon, 05 Mar 2018 10:00:00 +0100",
        "02-facturx@lieferant.example",
        "Sehr geehrte Damen und Herren,\n\nanbei unsere Rechnung 471102 (ZUGFeRD / Factur-X).\n",
    )
    _pdf_attachment(m, (zugferd / "XML-Rechnung__FX__EN16931_Einfach.pdf").read_bytes(), "Rechnung_471102.pdf")
    mails["02-zugferd-hybrid-pdf.eml"] = m

    xml_name, xml = _embedded_xml(zugferd / "ZUGFeRDv2__correct__intarsys__BASIC__zugferd_2p0_BASIC_Taxifahrt.pdf")
    m = _message(
        "E-Rechnung TX-471102",
        "Taxiunternehmen TX GmbH <buchhaltung@taxi-tx.example>",
        "Tue, 30 Oct 2018 18:20:00 +0100",
        "03-xml@taxi-tx.example",
        "Guten Tag,\n\nim Anhang die elektronische Rechnung TX-471102 als XML.\n",
    )
    m.add_attachment(xml, maintype="application", subtype="xml", filename=f"TX-471102_{xml_name}")
    mails["03-xml-einvoice.eml"] = m

    m = _message(
        "Scanned invoice BLR_WFLD20151000982590",
        "Flipkart Seller Accounts <invoices@flipkart-seller.example>",
        "Wed, 21 Oct 2015 12:00:00 +0530",
        "04-scan@flipkart-seller.example",
        "Please find the scanned invoice attached.\n",
    )
    m.add_attachment(_scan(i2d / "FlipkartInvoice.pdf"), maintype="image", subtype="jpeg", filename="scan_invoice.jpg")
    mails["04-scanned-invoice.eml"] = m

    m = _message(
        "Notes from Tuesday's planning meeting",
        "Dana Schmidt <dana.schmidt@papyr-demo.example>",
        "Tue, 12 Mar 2024 16:40:00 +0100",
        "05-meeting@papyr-demo.example",
        "Hi all,\n\nnotes from today: Q2 budget review moves to April; the supplier day is on the 28th.\n"
        "The style guide we discussed and a calendar invite are attached.\n\nDana\n",
    )
    # A PDF that is not a bill: intake passes it on, classification rejects it with a reason.
    guide = data / "robustness" / "pdf_edgecases" / "011-google-doc-document" / "google-doc-document.pdf"
    _pdf_attachment(m, guide.read_bytes(), "style-guide.pdf")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Papyr samples//EN\r\nBEGIN:VEVENT\r\n"
        "UID:05-meeting@papyr-demo.example\r\nDTSTAMP:20240312T154000Z\r\nDTSTART:20240328T090000Z\r\n"
        "DTEND:20240328T100000Z\r\nSUMMARY:Supplier day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    m.add_attachment(ics.encode(), maintype="text", subtype="calendar", filename="supplier-day.ics")
    mails["05-not-an-invoice.eml"] = m

    m = _message(
        "Fwd: Invoice INV/2023/03/0008",
        "Azure Interior Billing <billing@azure-interior.example>",
        "Mon, 03 Apr 2023 08:00:00 +0000",
        "06-resend@azure-interior.example",
        "Reminder: the invoice below is still open. Attached again for your convenience.\n",
    )
    _pdf_attachment(m, azure_pdf, "INV_2023_03_0008 (copy).pdf")
    mails["06-resent-duplicate.eml"] = m

    inner = _message(
        "Rechnung 30064443",
        "QualityHosting AG <rechnung@qualityhosting.example>",
        "Wed, 07 May 2014 07:30:00 +0200",
        "07-inner@qualityhosting.example",
        "Ihre Rechnung 30064443 vom 07.05.2014.\n",
    )
    _pdf_attachment(
        inner, (i2d / "QualityHosting.pdf").read_bytes(), "Rechnung Nr.30064443.Mai.2014 – QualityHosting.pdf"
    )
    m = _message(
        "WG: Rechnung 30064443",
        "Jörg Krämer <joerg.kraemer@papyr-demo.example>",
        "Thu, 08 May 2014 11:00:00 +0200",
        "07-forward@papyr-demo.example",
        "Hallo AP-Team,\n\nbitte die angehängte Mail mit der Rechnung bearbeiten.\n\nJörg\n",
    )
    m.add_attachment(inner, filename="WG Rechnung Nr. 30064443 – Mai.2014.eml")
    mails["07-forwarded-eml.eml"] = m

    out: dict[str, bytes] = {}
    for name, message in mails.items():
        _fix_boundaries(message, name)
        out[name] = message.as_bytes(policy=SMTP)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "samples" / "mailbox")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, raw in build(args.data).items():
        (args.out / name).write_bytes(raw)
        print(f"{name}: {len(raw):,} bytes")


if __name__ == "__main__":
    main()
