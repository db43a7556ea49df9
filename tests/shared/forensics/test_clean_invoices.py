"""No serious tamper finding on a sample of the clean dev invoices (the structural analysis; the
whole corpus, with OCR, is the benchmark's job: bench/tamper_suite.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.domain import Severity
from shared.forensics.findings import pdf_findings
from shared.forensics.pdf import analyse_pdf

SAMPLE = [
    "zugferd/XML-Rechnung__FX__EN16931_Betriebskostenabrechnung.pdf",  # 3 versions: XML attached in updates
    "zugferd/ZUGFeRDv1__correct__Intarsys__ZUGFeRD_1p0_BASIC_Einfach.pdf",
    "zugferd/ZUGFeRDv2__correct__intarsys__MINIMUM__zugferd_2p0_MINIMUM.pdf",
    "invoice2data/NetpresseInvoice.pdf",  # 1 pt "Powered by TCPDF" footer
    "invoice2data/free_fiber.pdf",  # overlapping label and number in the source layout
    "invoice2data/QualityHosting.pdf",
    "invoice2data/FlipkartInvoice.pdf",
]


@pytest.mark.parametrize("name", SAMPLE)
def test_clean_dev_invoice(shared_data: Path, name: str) -> None:
    path = shared_data / name
    if not path.exists():
        pytest.fail(f"missing dev invoice {name}")
    findings = pdf_findings(analyse_pdf(path.read_bytes()))
    assert [f.code for f in findings if f.severity in (Severity.MEDIUM, Severity.HIGH)] == []
