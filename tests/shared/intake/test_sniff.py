"""Content sniffing by magic bytes and lexical XML root detection."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from shared.intake import is_einvoice_xml, sniff_content_type, xml_root_name


def test_real_files(shared_data: Path) -> None:
    assert sniff_content_type((shared_data / "invoice2data" / "oyo.pdf").read_bytes()) == "application/pdf"
    jpeg = next((shared_data / "sroie").glob("*.jpg")).read_bytes()
    assert sniff_content_type(jpeg, "whatever.pdf") == "image/jpeg"  # the bytes decide, not the name


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x00" * 500 + b"%PDF-1.4", "application/pdf"),
        (b"\x00" * 1100 + b"%PDF-1.4", None),  # beyond the first 1024 bytes
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"II*\x00\x08\x00", "image/tiff"),
        (b"MM\x00*\x00\x08", "image/tiff"),
        (b"GIF89a", None),
        (b'<?xml version="1.0"?><a/>', "application/xml"),
        (b"\xef\xbb\xbf<?xml version='1.0'?>\n<Invoice xmlns='x'/>", "application/xml"),
        ('<?xml version="1.0" encoding="UTF-16"?><Invoice/>'.encode("utf-16"), "application/xml"),
        (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">', "application/xml"),
        (b"<div>hello</div>", None),  # an HTML fragment is not XML
        (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">', None),
        (b"<!DOCTYPE html><html><body>", None),
        (b"plain text", None),
        (b"", None),
    ],
)
def test_magic(data: bytes, expected: str | None) -> None:
    assert sniff_content_type(data, None) == expected


@pytest.mark.parametrize(
    ("text", "root", "einvoice"),
    [
        ('<?xml version="1.0"?>\n<!-- c --><ubl:Invoice xmlns:ubl="u">', "Invoice", True),
        ('<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2">', "CreditNote", True),
        ('<?xml version="1.0"?><rsm:CrossIndustryInvoice xmlns:rsm="r">', "CrossIndustryInvoice", True),
        ('<?xml version="1.0"?><rsm:CrossIndustryDocument xmlns:rsm="r">', "CrossIndustryDocument", True),
        ('<?xml version="1.0"?><StandardBusinessDocument xmlns="s"><h/><Invoice xmlns="i">', None, True),
        ('<?xml version="1.0"?><StandardBusinessDocument xmlns="s"><Order/>', "StandardBusinessDocument", False),
        ('<?xml version="1.0"?><Order xmlns="o">', "Order", False),
    ],
)
def test_einvoice_roots(text: str, root: str | None, einvoice: bool) -> None:
    data = text.encode()
    if root is not None:
        assert xml_root_name(data) == root
    assert is_einvoice_xml(data) is einvoice


def test_entity_bomb_is_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10))
        + b"]>\n<Invoice xmlns='u'>&lol9;</Invoice>"
    )
    assert xml_root_name(bomb) == "Invoice"
    assert is_einvoice_xml(bomb)


def test_embedded_zugferd_xml_is_an_einvoice(shared_data: Path) -> None:
    pdf_path = shared_data / "zugferd" / "ZUGFeRDv1__correct__Intarsys__ZUGFeRD_1p0_BASIC_Einfach.pdf"
    with pikepdf.open(pdf_path) as pdf:
        xml = pdf.attachments["ZUGFeRD-invoice.xml"].get_file().read_bytes()
    assert sniff_content_type(xml) == "application/xml"
    assert xml_root_name(xml) == "CrossIndustryDocument"
    assert is_einvoice_xml(xml)
