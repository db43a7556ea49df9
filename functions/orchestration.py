"""The invoice orchestrator and one activity trigger per verb of ``shared.activities.ACTIVITIES``.

The orchestrator is the host-neutral generator of ``orchestrators.invoice``; the Durable SDK wraps
it (``Orchestrator.create``) when it is registered. Activities are the same functions the embedded
engine runs: payload dict in, small dict out.

No ``from __future__ import annotations``: the Functions worker reads these annotations.
"""

from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from orchestrators.invoice import ORCHESTRATOR_NAME, invoice_orchestrator
from shared.activities import ACTIVITIES
from shared.telemetry import activity_span

Activity = Callable[[dict[str, Any]], dict[str, Any]]

ACTIVITY_INPUT = "payload"

bp = df.Blueprint()

bp.function_name(ORCHESTRATOR_NAME)(
    bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR_NAME)(invoice_orchestrator)
)


def activity_function(name: str, activity: Activity) -> Callable[[dict], dict]:  # type: ignore[type-arg]
    """A distinct Python function per activity (the worker indexes functions by name)."""

    # Plain ``dict`` annotations: the worker rejects annotations that are not types (``dict[str, Any]``).
    def run(payload: dict) -> dict:  # type: ignore[type-arg]
        # The payload carries the invoice's trace: this span joins it, across workers and replays.
        with activity_span(name, payload):
            return activity(payload)

    run.__name__ = run.__qualname__ = name
    return run


def register_activities(blueprint: df.Blueprint, activities: dict[str, Activity]) -> None:
    for name, activity in activities.items():
        trigger = blueprint.activity_trigger(input_name=ACTIVITY_INPUT, activity=name)
        blueprint.function_name(name)(trigger(activity_function(name, activity)))


register_activities(bp, ACTIVITIES)
