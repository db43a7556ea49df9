"""The e-invoice inside a ZUGFeRD / Factur-X PDF against its own page, on real public samples edited
the way a forger would: the page rewritten whole (no incremental trail), or only the embedded XML."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest

from shared.checks.einvoice_page import check_einvoice_against_page
from shared.documents.loader import load_content
from shared.domain import Finding
from shared.pipeline import classify_and_extract

EINFACH = "XML-Rechnung__FX__EN16931_Einfach.pdf"
UTILITIES = "XML-Rechnung__FX__EN16931_Betriebskostenabrechnung.pdf"
UTILITIES_XRECHNUNG = "XML-Rechnung__FX__XRECHNUNG_Betriebskostenabrechnung.pdf"
FAULTY = "ZUGFeRDv1__correct__Mustangproject__MustangGnuaccountingBeispielRE-20150613_503.pdf"


def findings(data: bytes) -> list[Finding]:
    content = load_content(data, "invoice.pdf", "application/pdf", ocr=None)
    return check_einvoice_against_page(classify_and_extract(content), content)


def page_rewritten(data: bytes, old: bytes, new: bytes) -> bytes:
    """``old`` replaced by ``new`` in the page's content stream, the file saved whole (no trail)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        contents = [page.obj.Contents for page in pdf.pages]
        streams = [s for c in contents for s in (list(c) if isinstance(c, pikepdf.Array) else [c])]
        [stream] = [s for s in streams if old in s.read_bytes()]
        stream.write(stream.read_bytes().replace(old, new))
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


def xml_rewritten(data: bytes, name: str, old: bytes, new: bytes) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        xml = pdf.attachments[name].get_file().read_bytes()
        assert old in xml
        pdf.attachments[name] = pikepdf.AttachedFileSpec(
            pdf, xml.replace(old, new), filename=name, mime_type="text/xml"
        )
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


@pytest.mark.parametrize("name", [EINFACH, UTILITIES, UTILITIES_XRECHNUNG])
def test_an_untouched_einvoice_agrees_with_its_page(shared_data: Path, name: str) -> None:
    assert findings((shared_data / "zugferd" / name).read_bytes()) == []


def test_a_page_rewritten_whole_with_a_new_amount_due_is_caught(shared_data: Path) -> None:
    data = page_rewritten((shared_data / "zugferd" / UTILITIES).read_bytes(), b"(502,63)", b"(302,63)")
    [finding] = findings(data)
    assert finding.code == "einvoice.amount_not_on_page" and finding.severity.value == "high"
    assert "amount due 502.63" in finding.message
    assert finding.evidence["einvoice"]["amount_due"] == "502.63"


def test_an_iban_changed_only_in_the_embedded_xml_is_caught(shared_data: Path) -> None:
    original = (shared_data / "zugferd" / UTILITIES_XRECHNUNG).read_bytes()
    data = xml_rewritten(original, "xrechnung.xml", b"DE02120300000000202051", b"DE89370400440532013000")
    [finding] = findings(data)
    assert finding.code == "einvoice.iban_not_on_page"
    assert finding.evidence == {"einvoice_iban": "DE89370400440532013000", "page_ibans": ["DE02120300000000202051"]}


def test_a_public_sample_whose_xml_and_page_disagree_is_shown_to_the_approver(shared_data: Path) -> None:
    [finding] = findings((shared_data / "zugferd" / FAULTY).read_bytes())
    assert "total 571.04 where the page reads 406.82" in finding.message
    assert finding.evidence["locations"]  # the page's total is boxed on the page image
