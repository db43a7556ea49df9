"""Small invoice PDFs built in the tests (pikepdf, Helvetica or another standard font), and a signer
that fills a real ByteRange."""

from __future__ import annotations

import io
import re

import pikepdf
from pikepdf import Dictionary, Name

LINES = [
    (50, 780, 16, "ACME Supplies GmbH"),
    (50, 740, 11, "Invoice INV-2024-001"),
    (50, 700, 11, "Office chairs"),
    (450, 700, 11, "1,150.00"),
    (50, 680, 11, "Desk lamps"),
    (450, 680, 11, "84.50"),
    (50, 640, 11, "Total EUR"),
    (450, 640, 11, "1,234.50"),
    (50, 600, 11, "IBAN DE89 3704 0044 0532 0130 00"),
]


def _content(lines: list[tuple[int, int, int, str]]) -> bytes:
    parts = [f"BT /F1 {size} Tf {x} {y} Td ({text}) Tj ET" for x, y, size, text in lines]
    return ("\n".join(parts) + "\n").encode("latin-1")


def invoice_pdf(
    *,
    lines: list[tuple[int, int, int, str]] | None = None,
    extra: bytes = b"",
    producer: str = "Papyr Test Writer 1.0",
    created: str = "D:20240501090000+02'00'",
    modified: str | None = None,
    signature_field: bool = False,
    font_name: str = "Helvetica",
) -> bytes:
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name(f"/{font_name}"), Encoding=Name.WinAnsiEncoding)
    )
    page = pikepdf.Page(
        Dictionary(
            Type=Name.Page,
            MediaBox=[0, 0, 595, 842],
            Resources=Dictionary(Font=Dictionary(F1=font)),
            Contents=pdf.make_stream(_content(lines or LINES) + extra),
        )
    )
    pdf.pages.append(page)
    pdf.docinfo["/Producer"] = producer
    pdf.docinfo["/CreationDate"] = created
    pdf.docinfo["/ModDate"] = modified or created
    if signature_field:
        value = pdf.make_indirect(
            Dictionary(
                Type=Name.Sig,
                Filter=Name("/Adobe.PPKLite"),
                SubFilter=Name("/adbe.pkcs7.detached"),
                ByteRange=[0, 1111111111, 2222222222, 3333333333],
                Contents=pikepdf.String(b"\x00" * 64),
            )
        )
        widget = pdf.make_indirect(
            Dictionary(Type=Name.Annot, Subtype=Name.Widget, FT=Name.Sig, T="Signature1", Rect=[0, 0, 0, 0], V=value)
        )
        pdf.pages[0].obj["/Annots"] = pikepdf.Array([widget])
        pdf.Root["/AcroForm"] = Dictionary(Fields=pikepdf.Array([widget]), SigFlags=3)
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable, compress_streams=False, deterministic_id=True)
    data = out.getvalue()
    return _fill_byte_range(data) if signature_field else data


def _fill_byte_range(data: bytes) -> bytes:
    """Give the placeholder signature the ByteRange a signer writes: everything but /Contents."""
    contents = re.search(rb"/Contents <0+>", data)
    assert contents is not None
    start = contents.start() + len(b"/Contents ")
    end = contents.end()
    values = [0, start, end, len(data) - end]
    placeholder = re.search(rb"1111111111 2222222222 3333333333", data)
    assert placeholder is not None
    filled = f"{values[1]:010d} {values[2]:010d} {values[3]:010d}".encode()
    return data[: placeholder.start()] + filled + data[placeholder.end() :]
