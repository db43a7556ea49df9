"""load_content on real files: hybrid PDFs, stripped PDFs, encrypted PDFs, scans, images, XML."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from shared.documents.content import ContentKind, DocumentRejected, Word
from shared.documents.loader import load_content

HYBRID = "XML-Rechnung__FX__EN16931_Einfach.pdf"


class BoxOcr:
    """An OcrEngine that reports one word covering the middle of whatever image it is shown."""

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []

    def recognize(self, image: Image.Image) -> list[Word]:
        self.sizes.append(image.size)
        w, h = image.size
        return [Word(text="Rechnung", x0=w / 4, top=h / 4, x1=w * 3 / 4, bottom=h / 2, confidence=0.9)]


def _pdf_bytes(pdf: pikepdf.Pdf, **save_options: object) -> bytes:
    out = io.BytesIO()
    pdf.save(out, **save_options)
    return out.getvalue()


def _strip_attachments(path: Path) -> bytes:
    """The evaluation's text-path variant: no EmbeddedFiles, no /AF, no attachment annotations."""
    with pikepdf.open(path) as pdf:
        del pdf.Root.Names.EmbeddedFiles
        if "/AF" in pdf.Root:
            del pdf.Root.AF
        return _pdf_bytes(pdf)


def _scan_pdf(pages: int = 1) -> bytes:
    images = [Image.new("L", (850, 1100), 255) for _ in range(pages)]
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=100.0, save_all=True, append_images=images[1:])
    return out.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size: the header is all a bomb needs to be refused."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _image_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


# --- PDF --------------------------------------------------------------------------------------------


def test_hybrid_pdf_gives_its_embedded_invoice_and_text(shared_data: Path) -> None:
    data = (shared_data / "zugferd" / HYBRID).read_bytes()
    content = load_content(data, HYBRID, "application/octet-stream", ocr=None)
    assert content.kind is ContentKind.PDF
    assert content.xml_name == "factur-x.xml"
    assert content.xml is not None and b"CrossIndustryInvoice" in content.xml
    assert content.page_count == len(content.pages) >= 1
    assert "471102" in content.text  # the invoice number is printed on the page
    assert not any(page.ocr for page in content.pages)


def test_zugferd_1_names_and_a_second_xml_attachment(shared_data: Path) -> None:
    name = "ZUGFeRDv1__correct__4s4u__additional-data-sample-1.pdf"
    content = load_content((shared_data / "zugferd" / name).read_bytes(), name, None, ocr=None)
    assert content.xml_name == "ZUGFeRD-invoice.xml"  # not the logistics XML beside it
    assert content.xml is not None and b"CrossIndustryDocument" in content.xml


def test_stripped_pdf_has_text_but_no_xml(shared_data: Path) -> None:
    content = load_content(_strip_attachments(shared_data / "zugferd" / HYBRID), "x.pdf", None, ocr=None)
    assert content.xml is None
    assert "471102" in content.text


def test_pdf_encrypted_with_a_password_is_rejected(shared_data: Path) -> None:
    with pikepdf.open(shared_data / "zugferd" / HYBRID) as pdf:
        data = _pdf_bytes(pdf, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    with pytest.raises(DocumentRejected) as caught:
        load_content(data, "locked.pdf", "application/pdf", ocr=None)
    assert caught.value.reason == "encrypted PDF"


def test_pdf_with_only_an_owner_password_is_read(shared_data: Path) -> None:
    with pikepdf.open(shared_data / "zugferd" / HYBRID) as pdf:
        data = _pdf_bytes(pdf, encryption=pikepdf.Encryption(user="", owner="owner"))
    content = load_content(data, "restricted.pdf", None, ocr=None)
    assert "471102" in content.text
    assert content.xml_name == "factur-x.xml"


def test_scanned_pdf_pages_are_ocred_in_pdf_points() -> None:
    ocr = BoxOcr()
    content = load_content(_scan_pdf(pages=2), "scan.pdf", None, ocr=ocr)
    assert len(ocr.sizes) == 2
    # 8.5 x 11 in at 100 dpi -> 612 x 792 pt; rendered at 200 dpi for OCR -> 1700 x 2200 px
    assert ocr.sizes[0] == (1700, 2200)
    page = content.pages[0]
    assert page.ocr and (page.width, page.height) == pytest.approx((612, 792))
    word = page.words[0]
    assert (word.x0, word.top, word.x1, word.bottom) == pytest.approx((153, 198, 459, 396))
    assert word.confidence == 0.9


def test_ocr_is_capped_and_says_so() -> None:
    ocr = BoxOcr()
    content = load_content(_scan_pdf(pages=3), "scan.pdf", None, ocr=ocr, max_ocr_pages=1)
    assert len(ocr.sizes) == 1
    assert [page.ocr for page in content.pages] == [True, False, False]
    assert "OCR limited to 1 of 3 pages without text" in content.warnings


def test_a_picture_holding_text_on_a_text_page_is_ocred(shared_data: Path) -> None:
    """saeco.pdf prints the issuer's block (name, VAT id, IBAN) as a 445 x 87 pt image under a text
    layer; its 198 x 72 pt logo (2.8 % of the page) is not read."""
    ocr = BoxOcr()
    path = shared_data / "invoice2data" / "saeco.pdf"
    content = load_content(path.read_bytes(), path.name, None, ocr=ocr)
    page = content.pages[0]
    assert not page.ocr and len(ocr.sizes) == 1
    # The picture at PDF (39, 33)-(484, 120) on an 842 pt page, rendered at 200 dpi and cropped.
    assert ocr.sizes[0] == pytest.approx((1236, 242), abs=3)
    [word] = [w for w in page.words if w.confidence < 1.0]
    assert (word.x0, word.top, word.x1, word.bottom) == pytest.approx((150, 744, 373, 766), abs=1.5)
    assert len(page.words) > 50  # the text layer is kept


def test_pictures_are_read_within_the_ocr_budget(shared_data: Path) -> None:
    ocr = BoxOcr()
    path = shared_data / "invoice2data" / "saeco.pdf"
    content = load_content(path.read_bytes(), path.name, None, ocr=ocr, max_ocr_pages=0)
    assert ocr.sizes == [] and all(w.confidence == 1.0 for w in content.pages[0].words)


def test_logos_are_not_ocred(shared_data: Path) -> None:
    ocr = BoxOcr()
    for name in ("coolblue1.pdf", "NetpresseInvoice.pdf", "AmazonWebServices.pdf"):
        load_content((shared_data / "invoice2data" / name).read_bytes(), name, None, ocr=ocr)
    assert ocr.sizes == []


def test_scanned_pdf_without_ocr_engine_keeps_empty_pages() -> None:
    content = load_content(_scan_pdf(), "scan.pdf", None, ocr=None)
    assert content.page_count == 1 and content.pages[0].words == []


def test_page_cap_reads_the_first_pages_and_warns(shared_data: Path) -> None:
    path = shared_data / "robustness" / "pdf_edgecases" / "009-pdflatex-geotopo" / "GeoTopo-komprimiert.pdf"
    content = load_content(path.read_bytes(), path.name, None, ocr=None, max_pages=2)
    assert len(content.pages) == 2 and content.page_count == 117
    assert content.warnings == ["read first 2 of 117 pages"]


def test_corrupt_pdf_is_rejected_as_unreadable() -> None:
    with pytest.raises(DocumentRejected) as caught:
        load_content(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog", "broken.pdf", "application/pdf", ocr=None)
    assert caught.value.reason.startswith("unreadable PDF: ")


# --- images -----------------------------------------------------------------------------------------


def test_png_is_ocred_in_pixels() -> None:
    ocr = BoxOcr()
    content = load_content(_image_bytes(Image.new("RGB", (400, 200), "white"), "PNG"), "a.png", None, ocr=ocr)
    assert content.kind is ContentKind.IMAGE
    assert (content.pages[0].width, content.pages[0].height) == (400, 200)
    assert content.pages[0].ocr and content.pages[0].words[0].x1 == 300


def test_multipage_tiff_gives_one_page_per_frame() -> None:
    frames = [Image.new("L", (300, 300), 255) for _ in range(3)]
    data = _image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    content = load_content(data, "fax.tif", "image/tiff", ocr=BoxOcr())
    assert [page.number for page in content.pages] == [1, 2, 3]
    assert content.page_count == 3


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (400, 200), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: the page is really 200 x 400
    ocr = BoxOcr()
    load_content(_image_bytes(image, "JPEG", exif=exif), "photo.jpg", None, ocr=ocr)
    assert ocr.sizes == [(200, 400)]


def test_large_image_is_downscaled_for_ocr() -> None:
    data = _image_bytes(Image.new("L", (9000, 5000), 255), "PNG")  # 45 MP
    ocr = BoxOcr()
    content = load_content(data, "big.png", None, ocr=ocr)
    width, height = ocr.sizes[0]
    assert width * height <= 40_000_000 and width / height == pytest.approx(1.8, rel=0.01)
    assert "page 1: 9000x5000 image downscaled for OCR" in content.warnings


def test_image_bomb_is_refused_from_its_header() -> None:
    with pytest.raises(DocumentRejected) as caught:
        load_content(_png_header_only(20000, 20000), "bomb.png", "image/png", ocr=BoxOcr())
    assert caught.value.reason == "image too large: 20000x20000"


def test_image_without_ocr_engine_is_rejected() -> None:
    data = _image_bytes(Image.new("RGB", (10, 10)), "PNG")
    with pytest.raises(DocumentRejected, match="image needs OCR"):
        load_content(data, "a.png", None, ocr=None)


def test_truncated_image_is_rejected() -> None:
    data = _image_bytes(Image.new("RGB", (500, 500), "white"), "JPEG")[:300]
    with pytest.raises(DocumentRejected, match="unreadable image"):
        load_content(data, "cut.jpg", None, ocr=BoxOcr())


# --- XML and the rest -------------------------------------------------------------------------------


def test_xml_einvoice_is_kept_as_xml() -> None:
    xml = b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'
    content = load_content(xml, "inv.xml", "application/xml", ocr=None)
    assert content.kind is ContentKind.XML and content.xml == xml and content.xml_name == "inv.xml"


def test_xml_with_entities_is_unsafe() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<Invoice>&lol2;</Invoice>"
    )
    with pytest.raises(DocumentRejected) as caught:
        load_content(laughs, "lol.xml", "text/xml", ocr=None)
    assert caught.value.reason.startswith("unsafe XML: ")


def test_other_xml_is_not_an_invoice_carrier() -> None:
    with pytest.raises(DocumentRejected, match=r"not an e-invoice: XML root <rss>"):
        load_content(b'<?xml version="1.0"?><rss version="2.0"/>', "feed.xml", None, ocr=None)


def test_empty_and_unsupported_files() -> None:
    with pytest.raises(DocumentRejected, match="empty file"):
        load_content(b"", "a.pdf", "application/pdf", ocr=None)
    with pytest.raises(DocumentRejected, match=r"unsupported file type: application/msword"):
        load_content(b"\xd0\xcf\x11\xe0 word", "a.doc", "application/msword", ocr=None)


def test_declared_type_does_not_override_the_bytes(shared_data: Path) -> None:
    data = (shared_data / "zugferd" / HYBRID).read_bytes()
    content = load_content(data, "invoice.jpg", "image/jpeg", ocr=None)
    assert content.kind is ContentKind.PDF
