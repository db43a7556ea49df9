"""The Durable Functions client behind the core's ``OrchestrationClient`` port."""

from __future__ import annotations

import logging
from typing import Any

import azure.durable_functions as df

from shared.ports import OrchestrationStatus

log = logging.getLogger(__name__)

# States in which an instance with the same id may be started again: a run that ended without
# producing its result. A Completed run stays (the document was processed: starting it again would
# process it twice); a live one is never replaced.
RESTARTABLE_STATES = frozenset({"Failed", "Terminated", "Canceled"})


class DurableOrchestrationClientAdapter:
    """Implements ``shared.ports.OrchestrationClient`` over ``df.DurableOrchestrationClient``.

    ``start_new`` with an existing instance id replaces that instance, so ``start`` checks the
    status first; host.json's ``overridableExistingInstanceStates: NonRunningStates`` makes the
    host refuse the replacement when two starters race, and the loser reports the winner's id.
    """

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def start(self, orchestrator: str, instance_id: str, payload: Any) -> str:
        existing = await self.status(instance_id)
        if existing is not None and existing.runtime_status not in RESTARTABLE_STATES:
            log.info("orchestration %s already %s: not started again", instance_id, existing.runtime_status)
            return instance_id
        try:
            started: str = await self._client.start_new(orchestrator, instance_id, payload)
            return started
        except Exception:
            raced = await self.status(instance_id)
            if raced is not None and raced.runtime_status not in RESTARTABLE_STATES:
                log.info("orchestration %s was started concurrently (%s)", instance_id, raced.runtime_status)
                return instance_id
            raise

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None:
        await self._client.raise_event(instance_id, event, data)

    async def status(self, instance_id: str) -> OrchestrationStatus | None:
        found = await self._client.get_status(instance_id)
        # The SDK answers a 404 with an empty, falsy status object.
        if not found or found.runtime_status is None:
            return None
        return OrchestrationStatus(
            instance_id=found.instance_id or instance_id,
            runtime_status=found.runtime_status.value,
            custom_status=found.custom_status,
            output=found.output,
        )
