"""The approval policy: who approves what, how many levels, who stands in, and how long to wait.

Users write it as YAML or JSON (``PAPYR_APPROVAL_POLICY=path``; ``samples/approval-policy.yaml`` is a
documented example); ``shared.routing.policy_file`` reads and validates it. Without a file, Papyr
uses ``default_policy(settings)``, built from the older ``PAPYR_AUTO_APPROVE_BELOW`` /
``PAPYR_SECOND_APPROVER_ABOVE`` / ``PAPYR_APPROVERS`` settings, so nothing that worked before changes.

People are plain identities (e-mail addresses or sign-in names), compared case-insensitively.
Amounts apply to the invoice total in its own currency (no FX conversion).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    StringConstraints,
    field_validator,
    model_validator,
)

from shared.domain.currencies import is_iso4217
from shared.domain.keys import vendor_key
from shared.settings import Settings

Person = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _group(people: list[str]) -> list[str]:
    if not people:
        raise ValueError("at least one approver")
    seen: list[str] = []
    for person in people:
        if any(same_person(person, earlier) for earlier in seen):
            raise ValueError(f"{person!r} is listed twice")
        seen.append(person)
    return people


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# A level is one person or an ordered group: the first of the group who may approve is asked.
Group = Annotated[list[Person], BeforeValidator(_as_list), AfterValidator(_group)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


class AmountBand(_Strict):
    """``min`` ≤ total ≤ ``max`` (both inclusive, either may be left out), in ``currency`` if given."""

    min: Decimal | None = None
    max: Decimal | None = None
    currency: str | None = None

    @field_validator("currency")
    @classmethod
    def _iso4217(cls, value: str | None) -> str | None:
        if value is not None and not is_iso4217(value.upper()):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return value.upper() if value else None

    @model_validator(mode="after")
    def _ordered(self) -> AmountBand:
        if self.min is None and self.max is None and self.currency is None:
            raise ValueError("give min, max or currency")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    def contains(self, amount: Decimal, currency: str) -> bool:
        if self.currency is not None and self.currency != currency.upper():
            return False
        return (self.min is None or amount >= self.min) and (self.max is None or amount <= self.max)


class Match(_Strict):
    """When a rule applies: every condition given must hold; a list matches any of its values.
    No condition at all = every invoice (a catch-all)."""

    amount: AmountBand | None = None
    vendors: list[Name] | None = Field(default=None, min_length=1)  # names or vendor keys
    cost_centres: list[Name] | None = Field(default=None, min_length=1)  # the vendor master's cost centre
    mailboxes: list[Name] | None = Field(default=None, min_length=1)  # the mailbox the invoice arrived in

    @property
    def is_catch_all(self) -> bool:
        return not (self.amount or self.vendors or self.cost_centres or self.mailboxes)

    @field_validator("vendors")
    @classmethod
    def _vendor_keys(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if not vendor_key(name):
                raise ValueError(f"{name!r} has no letters or digits to match a vendor by")
        return value


class Rule(_Strict):
    name: Name
    when: Match = Field(default_factory=Match)
    levels: list[Group] = Field(min_length=1, max_length=2)

    @field_validator("levels", mode="before")
    @classmethod
    def _levels_given(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("at least one level (one approver or a group of approvers)")
        if isinstance(value, list) and len(value) > 2:
            raise ValueError(f"at most two levels, got {len(value)}")
        return value

    @model_validator(mode="after")
    def _two_people(self) -> Rule:
        singles = [level[0] for level in self.levels if len(level) == 1]
        if len(self.levels) == 2 and len(singles) == 2 and same_person(*singles):
            raise ValueError(f"both levels are {singles[0]!r}: two levels need two people")
        return self


class Delegation(_Strict):
    """``approver`` is away from ``from`` until ``until`` (inclusive); ``delegate`` approves instead.
    Dates mean whole days in the policy's time zone; date-times need an offset (``+02:00``, ``Z``)."""

    approver: Person
    delegate: Person
    from_: datetime | date = Field(alias="from")
    until: datetime | date

    @field_validator("from_", "until")
    @classmethod
    def _aware(cls, value: datetime | date) -> datetime | date:
        if isinstance(value, datetime) and value.utcoffset() is None:
            raise ValueError(
                f"{value.isoformat()} has no time zone: add one (e.g. {value.isoformat()}+02:00) or give a date"
            )
        return value

    @model_validator(mode="after")
    def _sensible(self) -> Delegation:
        if same_person(self.approver, self.delegate):
            raise ValueError(f"{self.approver!r} cannot delegate to themselves")
        if self.starts(UTC) > self.ends(UTC):
            raise ValueError(f"until ({self.until}) is before from ({self.from_})")
        return self

    def starts(self, zone: tzinfo) -> datetime:
        return _moment(self.from_, zone)

    def ends(self, zone: tzinfo) -> datetime:
        """The last moment of the absence: a date runs to the end of that day."""
        if isinstance(self.until, datetime):
            return self.until
        return _moment(self.until, zone) + timedelta(days=1) - timedelta(microseconds=1)

    def covers(self, moment: datetime, zone: tzinfo) -> bool:
        return self.starts(zone) <= moment <= self.ends(zone)


def _moment(value: datetime | date, zone: tzinfo) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time.min, tzinfo=zone)


class Timings(_Strict):
    remind_after_hours: PositiveFloat = 24.0
    escalate_after_hours: PositiveFloat = 72.0
    escalate_to: list[Person] | None = Field(default=None, min_length=1)  # unset: the fallback approvers
    expire_after_hours: PositiveFloat = 24.0 * 14

    @model_validator(mode="after")
    def _before_expiry(self) -> Timings:
        for name in ("remind_after_hours", "escalate_after_hours"):
            if getattr(self, name) >= self.expire_after_hours:
                raise ValueError(f"{name} ({getattr(self, name):g}) must be less than expire_after_hours "
                                 f"({self.expire_after_hours:g}), or it never happens")
        return self

    def orchestration_input(self) -> dict[str, float]:
        """What the orchestrator needs (it may not read the policy itself)."""
        return {
            "remind_after_hours": self.remind_after_hours,
            "escalate_after_hours": self.escalate_after_hours,
            "expire_after_hours": self.expire_after_hours,
        }


class ApprovalPolicy(_Strict):
    version: Literal[1] = 1
    timezone: str = "UTC"  # the zone plain dates in delegations are read in
    auto_approve_below: Decimal = Field(ge=0)  # below this, a clean invoice needs nobody
    risk_threshold: float | None = Field(default=None, ge=0, le=1)  # at or above: always a person
    four_eyes: bool = True  # who uploaded or corrected an invoice never approves it
    fallback_approvers: list[Person] = Field(min_length=1)  # when a level's group has nobody left
    timings: Timings = Field(default_factory=Timings)
    rules: list[Rule] = Field(min_length=1)
    delegations: list[Delegation] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
        return value

    @field_validator("rules")
    @classmethod
    def _rules_reachable(cls, rules: list[Rule]) -> list[Rule]:
        names: dict[str, int] = {}
        for index, rule in enumerate(rules):
            key = rule.name.casefold()
            if key in names:
                raise ValueError(f"rules[{index}] has the same name as rules[{names[key]}] ({rule.name!r})")
            names[key] = index
        for index, rule in enumerate(rules[:-1]):
            if rule.when.is_catch_all:
                raise ValueError(f"rules[{index}] ({rule.name!r}) matches every invoice, "
                                 f"so rules[{index + 1}] and later are never used")
        return rules

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)


def default_policy(settings: Settings) -> ApprovalPolicy:
    """The policy the older settings describe: up to ``second_approver_above`` the first approver,
    above it the first two in order; the settings' approvers are also the fallback."""
    approvers = list(settings.approvers)
    if not approvers:
        raise ValueError("PAPYR_APPROVERS is empty: name at least one approver (or set PAPYR_APPROVAL_POLICY)")
    limit = settings.second_approver_above
    if limit < settings.auto_approve_below:
        raise ValueError("PAPYR_SECOND_APPROVER_ABOVE must not be below PAPYR_AUTO_APPROVE_BELOW")
    rules = [Rule(name=f"up to {limit}", when=Match(amount=AmountBand(max=limit)), levels=[[approvers[0]]])]
    rules.append(Rule(name=f"above {limit}", levels=[[person] for person in approvers[:2]]))
    return ApprovalPolicy(
        auto_approve_below=settings.auto_approve_below,
        fallback_approvers=approvers,
        timings=Timings(
            remind_after_hours=settings.remind_after_hours,
            escalate_after_hours=settings.escalate_after_hours,
            expire_after_hours=settings.expire_after_hours,
        ),
        rules=rules,
    )
