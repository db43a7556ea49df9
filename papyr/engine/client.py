"""The OrchestrationClient port over the embedded engine (the local host's twin of the Durable client)."""

from __future__ import annotations

import asyncio
from typing import Any

from papyr.engine.engine import EmbeddedEngine
from shared.ports.orchestration import OrchestrationStatus


class EngineClient:
    """Async, like the Durable client; each call runs its short SQLite transaction off the event loop."""

    def __init__(self, engine: EmbeddedEngine) -> None:
        self._engine = engine

    async def start(self, orchestrator: str, instance_id: str, payload: Any) -> str:
        """Idempotent: an existing instance with this id (running or finished) is kept as it is."""
        await asyncio.to_thread(self._engine.start, orchestrator, instance_id, payload)
        return instance_id

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None:
        """Raises LookupError when the instance is unknown or finished (the Durable client's 404/410)."""
        if not await asyncio.to_thread(self._engine.raise_event, instance_id, event, data):
            raise LookupError(f"orchestration {instance_id} is unknown or no longer running")

    async def status(self, instance_id: str) -> OrchestrationStatus | None:
        return await asyncio.to_thread(self._engine.status, instance_id)
