"""`papyr policy check|show`, the vendor master's cost centre column, and commands that refuse to start
with a broken policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from papyr.cli import app
from shared.adapters.local.sqlite import SqliteRepository
from shared.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "approval-policy.yaml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PAPYR_APPROVAL_POLICY", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_check_accepts_the_sample() -> None:
    result = runner.invoke(app, ["policy", "check", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{SAMPLE}: valid: 4 rules (5 levels), 1 delegations, four-eyes on\n"


def test_check_lists_every_problem_with_its_place_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("auto_approve_below: 10\nfallback_approvers: [a@x]\nrules:\n"
                   "  - {name: a, when: {mailboxes: [m@x]}, levels: [a@x]}\n  - {name: b, levels: [[]]}\n"
                   "  - {name: c, levels: [b@x], approver: c@x}\n")
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{bad}: rules[1].levels[0]: at least one approver",
        f"{bad}: rules[2].approver: unknown key (check the spelling; see samples/approval-policy.yaml)",
    ]


def test_show_prints_the_settings_policy_or_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["policy", "show"])
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)
    assert [rule["name"] for rule in shown["rules"]] == ["up to 10000", "above 10000"]
    assert "PAPYR_APPROVAL_POLICY is not set" in result.stderr

    monkeypatch.setenv("PAPYR_APPROVAL_POLICY", str(SAMPLE))
    get_settings.cache_clear()
    result = runner.invoke(app, ["policy", "show", "--json"])
    assert result.exit_code == 0, result.output
    assert '"name": "hosting and IT"' in result.stdout


def test_process_refuses_to_start_with_a_broken_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("rules: []\n")
    monkeypatch.setenv("PAPYR_APPROVAL_POLICY", str(bad))
    get_settings.cache_clear()
    result = runner.invoke(app, ["process", str(tmp_path), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 2
    assert f"{bad}: auto_approve_below: required" in result.stderr


def test_vendor_import_reads_the_cost_centre(tmp_path: Path) -> None:
    csv = tmp_path / "vendors.csv"
    csv.write_text("name,vat_id,iban,email_domains,cost_centre\nQualityHosting AG,,,qh.example,IT\nPlain Ltd,,,,\n")
    result = runner.invoke(app, ["vendors", "import", str(csv), "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    vendors = SqliteRepository(tmp_path / "data" / "papyr.sqlite3").list_vendors()
    assert sorted((v.name, v.cost_centre) for v in vendors) == [("Plain Ltd", None), ("QualityHosting AG", "IT")]
