"""The approval policy file: a good file in YAML and JSON, each kind of bad file with its exact message."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from shared.routing import PolicyError, current_policy, load_policy, parse_policy
from shared.routing.policy_file import policy_to_yaml
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "samples" / "approval-policy.yaml"

GOOD = """
version: 1
timezone: Europe/Berlin
auto_approve_below: 500
risk_threshold: 0.5
fallback_approvers: [admin@x]
timings: {remind_after_hours: 8, escalate_after_hours: 24, escalate_to: [lead@x], expire_after_hours: 200}
rules:
  - name: big
    when: {amount: {min: 10000, currency: eur}}
    levels: [[clerk@x, deputy@x], cfo@x]
  - name: rest
    levels: [clerk@x]
delegations:
  - {approver: cfo@x, delegate: deputy.cfo@x, from: 2025-08-04, until: 2025-08-15}
  - {approver: clerk@x, delegate: deputy@x, from: "2025-08-04T12:00:00+02:00", until: "2025-08-05T12:00:00Z"}
"""


def problems(text: str, source: str = "policy.yaml") -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def with_rules(rules: str, extra: str = "") -> str:
    return f"auto_approve_below: 100\nfallback_approvers: [admin@x]\n{extra}rules:\n{rules}"


def test_a_good_file_reads_into_typed_values() -> None:
    policy = parse_policy(GOOD, "policy.yaml")
    assert policy.auto_approve_below == Decimal(500)
    assert policy.four_eyes is True  # the default
    big, rest = policy.rules
    assert big.when.amount is not None and big.when.amount.currency == "EUR"
    assert big.levels == [["clerk@x", "deputy@x"], ["cfo@x"]]  # one person = a group of one
    assert rest.when.is_catch_all
    assert policy.timings.orchestration_input() == {
        "remind_after_hours": 8.0, "escalate_after_hours": 24.0, "expire_after_hours": 200.0}
    away, half_day = policy.delegations
    assert away.from_ == date(2025, 8, 4)
    assert half_day.from_ == datetime(2025, 8, 4, 12, tzinfo=timezone(timedelta(hours=2)))


def test_json_is_read_the_same_way() -> None:
    as_yaml = parse_policy(GOOD, "policy.yaml")
    as_json = parse_policy(json.dumps(as_yaml.model_dump(mode="json", by_alias=True)), "policy.json")
    assert as_json == as_yaml


def test_the_shipped_sample_is_valid_and_show_writes_it_back() -> None:
    policy = load_policy(SAMPLE)
    assert [rule.name for rule in policy.rules][-1] == "everything else"
    assert parse_policy(policy_to_yaml(policy), "shown.yaml") == policy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            with_rules("  - {name: a, levels: [x@x]}\n  - {name: b, levels: [[]]}\n  - {name: c, levels: [[]]}"),
            ["policy.yaml: rules[1].levels[0]: at least one approver",
             "policy.yaml: rules[2].levels[0]: at least one approver"],
            id="empty-group",
        ),
        pytest.param(
            with_rules("  - {name: a, levels: []}"),
            ["policy.yaml: rules[0].levels: at least one level (one approver or a group of approvers)"],
            id="no-levels",
        ),
        pytest.param(
            with_rules("  - {name: a, levels: [a@x, b@x, c@x]}"),
            ["policy.yaml: rules[0].levels: at most two levels, got 3"],
            id="three-levels",
        ),
        pytest.param(
            with_rules("  - {name: a, levels: [cfo@x, CFO@x]}"),
            ["policy.yaml: rules[0]: both levels are 'cfo@x': two levels need two people"],
            id="same-person-twice",
        ),
        pytest.param(
            with_rules("  - {name: a, levels: [[a@x, A@x]]}"),
            ["policy.yaml: rules[0].levels[0]: 'A@x' is listed twice"],
            id="duplicate-in-group",
        ),
        pytest.param(
            with_rules("  - {name: a, levels: [a@x], approvers: [b@x]}"),
            ["policy.yaml: rules[0].approvers: unknown key (check the spelling; see samples/approval-policy.yaml)"],
            id="unknown-key",
        ),
        pytest.param(
            with_rules("  - {name: all, levels: [a@x]}\n  - {name: big, when: {amount: {min: 5}}, levels: [b@x]}"),
            ["policy.yaml: rules: rules[0] ('all') matches every invoice, so rules[1] and later are never used"],
            id="unreachable-rule",
        ),
        pytest.param(
            with_rules("  - {name: A, when: {mailboxes: [m@x]}, levels: [a@x]}\n  - {name: a, levels: [b@x]}"),
            ["policy.yaml: rules: rules[1] has the same name as rules[0] ('a')"],
            id="duplicate-name",
        ),
        pytest.param(
            with_rules("  - {name: a, when: {amount: {min: 10, max: 5, currency: EUR}}, levels: [a@x]}"),
            ["policy.yaml: rules[0].when.amount: min 10 is above max 5"],
            id="band-upside-down",
        ),
        pytest.param(
            with_rules("  - {name: a, when: {amount: {min: 10, currency: EURO}}, levels: [a@x]}"),
            ["policy.yaml: rules[0].when.amount.currency: 'EURO' is not an ISO 4217 currency code"],
            id="bad-currency",
        ),
        pytest.param(
            with_rules("  - {name: a, when: {amount: {}}, levels: [a@x]}"),
            ["policy.yaml: rules[0].when.amount: give min, max or currency"],
            id="empty-band",
        ),
        pytest.param(
            with_rules("  - {name: a, when: {vendors: []}, levels: [a@x]}"),
            ["policy.yaml: rules[0].when.vendors: must not be empty"],
            id="empty-vendor-list",
        ),
        pytest.param(
            with_rules("  - {name: a, when: {vendors: ['--']}, levels: [a@x]}"),
            ["policy.yaml: rules[0].when.vendors: '--' has no letters or digits to match a vendor by"],
            id="unmatchable-vendor",
        ),
        pytest.param(
            "fallback_approvers: [a@x]\nrules: [{name: a, levels: [a@x]}]",
            ["policy.yaml: auto_approve_below: required"],
            id="missing-key",
        ),
        pytest.param(
            "auto_approve_below: -1\nfallback_approvers: []\nrules: [{name: a, levels: [a@x]}]",
            ["policy.yaml: auto_approve_below: must be at least 0",
             "policy.yaml: fallback_approvers: must not be empty"],
            id="negative-limit-no-fallback",
        ),
        pytest.param(
            with_rules("  - {name: a, levels: [a@x]}", "four_eyes: maybe\nrisk_threshold: 2\nversion: 2\n"),
            ["policy.yaml: version: must be 1", "policy.yaml: risk_threshold: must be at most 1",
             "policy.yaml: four_eyes: must be true or false"],
            id="bad-scalars",
        ),
        pytest.param(
            with_rules("  - {name: a, levels: [a@x]}", "timezone: Mars/Olympus\n"),
            ["policy.yaml: timezone: unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/Berlin)"],
            id="bad-zone",
        ),
        pytest.param(
            with_rules("  - {name: a, levels: [a@x]}", "timings: {remind_after_hours: '24', expire_after_hours: 0}\n"),
            ["policy.yaml: timings.remind_after_hours: must be a number",
             "policy.yaml: timings.expire_after_hours: must be more than 0"],
            id="bad-timings",
        ),
        pytest.param(
            with_rules("  - {name: a, levels: [a@x]}", "timings: {escalate_after_hours: 400}\n"),
            ["policy.yaml: timings: escalate_after_hours (400) must be less than expire_after_hours (336), "
             "or it never happens"],
            id="escalation-after-expiry",
        ),
    ],
)
def test_each_bad_file_gets_its_exact_message(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


def test_delegation_mistakes_are_named_with_their_place() -> None:
    text = with_rules("  - {name: a, levels: [a@x]}", """delegations:
  - {approver: cfo@x, delegate: CFO@x, from: 2025-08-01, until: 2025-08-02}
  - {approver: a@x, delegate: b@x, from: 2025-08-10, until: 2025-08-01}
  - {approver: a@x, delegate: b@x, from: "2025-08-01T09:00", until: soon}
  - {approver: a@x, delegate: b@x, until: 2025-08-01}
""")
    assert problems(text) == [
        "policy.yaml: delegations[0]: 'cfo@x' cannot delegate to themselves",
        "policy.yaml: delegations[1]: until (2025-08-01) is before from (2025-08-10)",
        "policy.yaml: delegations[2].from: 2025-08-01T09:00:00 has no time zone: add one "
        "(e.g. 2025-08-01T09:00:00+02:00) or give a date",
        "policy.yaml: delegations[2].until: must be a date (2025-08-01) or a date-time with an offset "
        "(2025-08-01T09:00:00+02:00)",
        "policy.yaml: delegations[3].from: required",
    ]


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ("rules: [a\n", "policy.yaml", "policy.yaml: line 2, column 1: not valid YAML: expected ',' or ']', "
                                       "but got '<stream end>'"),
        ('{"rules": 3', "policy.json", "policy.json: line 1, column 12: not valid JSON: Expecting ',' delimiter"),
        ("- a\n- b\n", "policy.yaml", "policy.yaml: the policy must be a mapping of keys (auto_approve_below, "
                                      "rules, ...), got list"),
        ("", "policy.yaml", "policy.yaml: the policy must be a mapping of keys (auto_approve_below, rules, ...), "
                            "got nothing"),
    ],
    ids=["yaml-syntax", "json-syntax", "a-list", "empty"],
)
def test_syntax_errors_say_where(text: str, source: str, expected: str) -> None:
    assert problems(text, source) == [expected]


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"policy\.yaml: no such file$"):
        load_policy(tmp_path / "policy.yaml")


def test_the_policy_in_force_is_the_file_when_set_and_follows_its_edits(tmp_path: Path) -> None:
    assert current_policy(Settings(approvers=["a@x"])).fallback_approvers == ["a@x"]  # no file: the settings'
    path = tmp_path / "policy.yaml"
    path.write_text(GOOD)
    settings = Settings(approval_policy=path)
    assert current_policy(settings).auto_approve_below == Decimal(500)
    assert current_policy(settings) is current_policy(settings)  # read once while unchanged

    path.write_text(GOOD.replace("auto_approve_below: 500", "auto_approve_below: 750"))
    later = datetime.now(UTC).timestamp() + 5
    os.utime(path, (later, later))
    assert current_policy(settings).auto_approve_below == Decimal(750)

    path.write_text(GOOD.replace("four_eyes: true", "").replace("version: 1", "version: one"))
    os.utime(path, (later + 5, later + 5))
    with pytest.raises(PolicyError, match=r"policy\.yaml: version: must be 1"):
        current_policy(settings)  # a broken edit is an error, never a silent fallback


def test_an_empty_setting_means_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPYR_APPROVAL_POLICY", " ")
    assert Settings().approval_policy is None
