"""Issue 5's done-when tests through the CLI: a changed bank account routes to a person; the same
invoice re-sent with a reformatted number, or re-scanned, is a duplicate."""

from __future__ import annotations

import json
import re
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pikepdf
import pytest

from tests.papyr.test_cli_process import REPO, papyr, run_papyr

SOURCE = "zugferd/XML-Rechnung__FX__XRECHNUNG_Einfach.pdf"  # Lieferant GmbH, 471102, IBAN DE02120300000000202051
MASTER = (
    "name,vat_id,iban,email_domains,country\n"
    "Lieferant GmbH,DE123456789,DE89 3704 0044 0532 0130 00,lieferant.example,DE\n"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith("PAPYR_")}
    environment["PAPYR_DATA_DIR"] = str(tmp_path / "data")
    environment["PAPYR_PARSE_TIMEOUT_S"] = "300"  # OCR of the re-scan on a busy 2-core box
    return environment


def _status(invoice_id: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        papyr("status", invoice_id, "--json"), env=env, capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert done.returncode == 0, done.stderr[-2000:]
    record: dict[str, object] = json.loads(done.stdout)["invoice"]
    return record


def _master(tmp_path: Path, env: dict[str, str]) -> None:
    vendors = tmp_path / "vendors.csv"
    vendors.write_text(MASTER)
    run_papyr("vendors", "import", str(vendors), env=env)


def test_iban_differing_from_the_master_is_high_and_goes_to_a_person(
    shared_data: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    _master(tmp_path, env)
    [line] = run_papyr("process", str(shared_data / SOURCE), "--json", env=env)
    assert line["status"] == "awaiting_approval"
    record = _status(str(line["invoice_id"]), env)
    findings = record["findings"]
    assert isinstance(findings, list)
    [bank] = [f for f in findings if f["code"].startswith("bank.")]
    assert (bank["code"], bank["severity"]) == ("bank.iban_changed", "high")
    assert bank["evidence"]["master_iban"] == "DE89370400440532013000"
    assert bank["evidence"]["invoice_iban"]["value"] == "DE02120300000000202051"
    route = record["route"]
    assert isinstance(route, dict) and route["kind"] == "approval" and route["approvers"]
    high = [f["message"] for f in findings if f["severity"] == "high"]
    assert bank["message"] in route["reasons"][: len(high)]  # high findings are listed first
    assert float(str(record["risk_score"])) >= 0.6


def _resent_with_reformatted_number(source: Path, folder: Path) -> Path:
    """The invoice's own e-invoice XML, number 471102 written as INV-0471102, re-sent by mail."""
    with pikepdf.open(source) as pdf:
        xml = next(iter(pdf.attachments.values())).get_file().read_bytes().decode()
    changed, count = re.subn(r"(<rsm:ExchangedDocument>\s*<ram:ID>)471102(</ram:ID>)", r"\1INV-0471102\2", xml)
    assert count == 1
    message = EmailMessage()
    message["From"] = "Lieferant Buchhaltung <rechnung@lieferant.example>"
    message["To"] = "ap@papyr.example"
    message["Subject"] = "Rechnung INV-0471102 (Erinnerung)"
    message["Message-ID"] = "<resent-471102@lieferant.example>"
    message.set_content("Anbei nochmals unsere Rechnung.")
    message.add_attachment(changed.encode(), maintype="application", subtype="xml", filename="INV-0471102.xml")
    path = folder / "resent.eml"
    path.write_bytes(message.as_bytes())
    return path


def _rescanned(source: Path, folder: Path) -> Path:
    """The first page rasterised to a greyscale JPEG, as a scanner would deliver it (no text layer)."""
    subprocess.run(
        ["pdftoppm", "-r", "110", "-gray", "-jpeg", "-f", "1", "-l", "1", str(source), str(folder / "scan")], check=True
    )
    return next(folder.glob("scan*.jpg"))


@pytest.mark.slow
def test_resent_with_a_reformatted_number_and_rescanned_are_duplicates(
    shared_data: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    _master(tmp_path, env)
    source = shared_data / SOURCE
    [original] = run_papyr("process", str(source), "--json", env=env)
    resent, scan = _resent_with_reformatted_number(source, tmp_path), _rescanned(source, tmp_path)
    lines = {
        Path(str(line["file"])).name: line for line in run_papyr("process", str(resent), str(scan), "--json", env=env)
    }

    near = lines["resent.eml"]
    assert near["invoice_number"] == "INV-0471102" and near["invoice_id"] != original["invoice_id"]
    [duplicate] = [f for f in _status(str(near["invoice_id"]), env)["findings"] if f["code"].startswith("duplicate.")]  # type: ignore[attr-defined]
    assert (duplicate["code"], duplicate["severity"]) == ("duplicate.near", "high")
    assert original["invoice_id"] in [o["id"] for o in duplicate["evidence"]["others"]]
    assert near["status"] == "awaiting_approval"

    rescan = lines[scan.name]
    found = _status(str(rescan["invoice_id"]), env)["findings"]
    [duplicate] = [f for f in found if f["code"].startswith("duplicate.")]  # type: ignore[attr-defined]
    assert (duplicate["code"], duplicate["severity"]) == ("duplicate.rescan", "high")
    assert duplicate["evidence"]["read_by_ocr"] is True
    assert rescan["status"] == "awaiting_approval"
