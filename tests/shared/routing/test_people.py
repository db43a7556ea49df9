"""Delegation windows (aware date-times, whole days in the policy's zone), who is asked at request time
(delegates, four-eyes on delegates, alternates), and who is reminded or escalated to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.domain import AuditEntry, Correction, Decision, DecisionKind, InvoiceRecord, Route, RouteKind
from shared.routing import (
    assign_approver,
    delegate_for,
    escalation_recipients,
    parse_policy,
    reminder_recipients,
)
from tests.factories import make_record

BERLIN_SUMMER = timezone(timedelta(hours=2))
POLICY = parse_policy(
    """
timezone: Europe/Berlin
auto_approve_below: 100
fallback_approvers: [admin@x]
timings: {escalate_to: [lead@x, clerk@x]}
rules: [{name: r, levels: [[clerk@x, deputy@x], cfo@x]}]
delegations:
  - {approver: cfo@x, delegate: controller@x, from: 2025-08-04, until: 2025-08-15}
  - {approver: clerk@x, delegate: temp@x, from: "2025-08-04T12:00:00+02:00", until: "2025-08-05T12:00:00Z"}
  - {approver: controller@x, delegate: cfo@x, from: 2025-08-10, until: 2025-08-10}
""",
    "policy.yaml",
)


def at(day: int, hour: int = 12, minute: int = 0, zone: timezone = UTC) -> datetime:
    return datetime(2025, 8, day, hour, minute, tzinfo=zone)


@pytest.mark.parametrize(
    ("moment", "delegate"),
    [
        (at(3, 23, 59, BERLIN_SUMMER), None),  # the day before, Berlin time
        (at(3, 22, 0), "controller@x"),  # 00:00 on the 4th in Berlin is 22:00 UTC on the 3rd
        (at(15, 23, 59, BERLIN_SUMMER), "controller@x"),  # a date runs to the end of that day
        (at(15, 22, 0), None),  # = 00:00 on the 16th in Berlin
    ],
)
def test_plain_dates_are_whole_days_in_the_policys_zone(moment: datetime, delegate: str | None) -> None:
    found = delegate_for(POLICY, "CFO@x", moment)
    assert (found.delegate if found else None) == delegate


@pytest.mark.parametrize(
    ("moment", "away"),
    [
        (at(4, 9, 59), False),  # 11:59 Berlin
        (at(4, 10, 0), True),  # 12:00 Berlin = 10:00 UTC
        (at(5, 12, 0), True),  # until is inclusive
        (at(5, 12, 1), False),
    ],
)
def test_date_times_carry_their_own_offsets(moment: datetime, away: bool) -> None:
    assert (delegate_for(POLICY, "clerk@x", moment) is not None) is away


def routed(*approvers: str, alternates: list[list[str]] | None = None) -> InvoiceRecord:
    record = make_record("d" * 64)
    record.route = Route(kind=RouteKind.APPROVAL, approvers=list(approvers),
                         alternates=alternates if alternates is not None else [[] for _ in approvers])
    return record


def test_an_approver_away_is_replaced_by_the_delegate_until_the_end_of_the_absence() -> None:
    asked = assign_approver(routed("clerk@x", "cfo@x"), [], POLICY, 2, at(6))
    assert (asked.approver, asked.delegated_from) == ("controller@x", "cfo@x")
    assert asked.until == datetime(2025, 8, 15, 23, 59, 59, 999999, tzinfo=BERLIN_SUMMER)


def test_an_approver_at_work_is_asked_themselves() -> None:
    asked = assign_approver(routed("clerk@x", "cfo@x"), [], POLICY, 2, at(20))
    assert (asked.approver, asked.delegated_from, asked.notes) == ("cfo@x", None, [])


def test_a_delegate_who_is_away_too_passes_it_on_and_a_cycle_stops_before_repeating() -> None:
    # On the 10th the controller (cfo's delegate) is away and delegates back to the cfo: both away,
    # the cfo's own delegate is asked.
    asked = assign_approver(routed("clerk@x", "cfo@x"), [], POLICY, 2, at(10))
    assert (asked.approver, asked.delegated_from) == ("controller@x", "cfo@x")
    policy = POLICY.model_copy(update={"delegations": [*POLICY.delegations[:2], POLICY.delegations[2].model_copy(
        update={"delegate": "ceo@x"})]})
    asked = assign_approver(routed("clerk@x", "cfo@x"), [], policy, 2, at(10))
    assert (asked.approver, asked.delegated_from) == ("ceo@x", "cfo@x")


def test_four_eyes_applies_to_delegates() -> None:
    record = routed("clerk@x", "cfo@x", alternates=[["deputy@x"], ["admin@x"]])
    record.corrections.append(Correction(field="iban", old_value=None, new_value="DE02", by="Controller@x"))
    asked = assign_approver(record, [], POLICY, 2, at(6))
    assert (asked.approver, asked.delegated_from) == ("admin@x", None)
    assert asked.notes == ["controller@x may not approve level 2: Controller@x corrected iban"]


def test_an_uploader_on_the_route_is_replaced_by_the_next_alternate_at_request_time() -> None:
    record = routed("clerk@x", "cfo@x", alternates=[["deputy@x"], []])
    trail = [AuditEntry(actor="clerk@x", action="uploaded")]
    asked = assign_approver(record, trail, POLICY, 1, at(20))
    assert asked.approver == "deputy@x"


def test_nobody_approves_two_levels_not_even_as_a_delegate() -> None:
    # The clerk (level 1) is away on the 4th afternoon; the delegate would be temp@x, fine; but if
    # the cfo's delegate were the level-1 approver, it must be skipped.
    policy = POLICY.model_copy(update={"delegations": [POLICY.delegations[0].model_copy(
        update={"delegate": "clerk@x"})]})
    record = routed("clerk@x", "cfo@x", alternates=[[], ["admin@x"]])
    record.decisions.append(Decision(kind=DecisionKind.APPROVED, by="clerk@x", at=at(5), level=1))
    asked = assign_approver(record, [], policy, 2, at(6))
    assert asked.approver == "admin@x"


def test_when_nobody_is_left_the_named_approver_is_asked_and_it_says_so() -> None:
    record = routed("clerk@x", alternates=[[]])
    asked = assign_approver(record, [AuditEntry(actor="clerk@x", action="uploaded")], POLICY, 1, at(20))
    assert asked.approver == "clerk@x"
    assert asked.notes[-1] == "nobody else may approve level 1; clerk@x is asked"


def test_a_level_outside_the_route_is_an_error() -> None:
    with pytest.raises(ValueError, match="no approver for level 3"):
        assign_approver(routed("clerk@x", "cfo@x"), [], POLICY, 3, at(6))


def test_reminders_go_to_the_person_asked_and_escalations_to_escalate_to_without_conflicts() -> None:
    record = routed("temp@x", "cfo@x")
    assert reminder_recipients(record, 1) == ["temp@x"]
    assert reminder_recipients(record, 3) == []
    assert escalation_recipients(record, [], POLICY, 1) == ["lead@x", "clerk@x"]
    uploaded = [AuditEntry(actor="clerk@x", action="uploaded")]
    assert escalation_recipients(record, uploaded, POLICY, 1) == ["lead@x"]
    assert escalation_recipients(routed("lead@x"), [], POLICY, 1) == ["clerk@x"]  # not the one already asked
    no_target = POLICY.model_copy(update={"timings": POLICY.timings.model_copy(update={"escalate_to": None})})
    assert escalation_recipients(record, [], no_target, 1) == ["admin@x"]
