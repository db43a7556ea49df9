"""The routing policy: the amounts and people that decide who approves what."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, model_validator

from shared.settings import Settings


class RoutingPolicy(BaseModel):
    """Thresholds apply to the invoice total in its own currency (no FX conversion in this version).

    ``approvers[0]`` approves at level 1, ``approvers[1]`` at level 2 (above ``second_approver_above``).
    """

    auto_approve_below: Decimal = Field(ge=0)
    second_approver_above: Decimal = Field(ge=0)
    approvers: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands_in_order(self) -> RoutingPolicy:
        if self.second_approver_above < self.auto_approve_below:
            raise ValueError("second_approver_above must not be below auto_approve_below")
        return self

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingPolicy:
        return cls(
            auto_approve_below=settings.auto_approve_below,
            second_approver_above=settings.second_approver_above,
            approvers=list(settings.approvers),
        )
