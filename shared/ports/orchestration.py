from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel


class OrchestrationStatus(BaseModel):
    instance_id: str
    runtime_status: str  # Pending | Running | Completed | Failed | Terminated | ContinuedAsNew
    custom_status: Any = None
    output: Any = None


class OrchestrationClient(Protocol):
    """Start orchestrations and raise events into them: the Durable Functions client in Azure,
    the embedded engine locally. Implementations are async because the Durable client is."""

    async def start(self, orchestrator: str, instance_id: str, payload: Any) -> str:
        """Start unless an instance with this id exists (idempotent); returns the instance id."""
        ...

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None: ...

    async def status(self, instance_id: str) -> OrchestrationStatus | None: ...
