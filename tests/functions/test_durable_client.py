"""The OrchestrationClient adapter over the SDK's DurableOrchestrationClient, against a local
stand-in for the Durable extension's HTTP API."""

from __future__ import annotations

import azure.durable_functions as df
import pytest
from durable_extension import FakeDurableExtension

from functions.durable_client import DurableOrchestrationClientAdapter
from shared.ports import OrchestrationClient

NAME, ID = "invoice_orchestrator", "invoice-" + "ab" * 32
PAYLOAD = {"document": {"sha256": "ab" * 32}, "approval": {"remind_after_hours": 24.0}}


def adapter(extension: FakeDurableExtension) -> DurableOrchestrationClientAdapter:
    return DurableOrchestrationClientAdapter(df.DurableOrchestrationClient(extension.client_binding()))


@pytest.mark.asyncio
async def test_starts_a_new_instance_with_its_id_and_input() -> None:
    async with FakeDurableExtension() as extension:
        client: OrchestrationClient = adapter(extension)
        assert await client.status(ID) is None
        assert await client.start(NAME, ID, PAYLOAD) == ID
        assert extension.starts == [(NAME, ID, PAYLOAD)]
        status = await client.status(ID)
        assert status is not None
        assert (status.instance_id, status.runtime_status) == (ID, "Pending")


@pytest.mark.asyncio
@pytest.mark.parametrize("state", ["Pending", "Running", "Suspended", "Completed"])
async def test_does_not_replace_a_live_or_completed_instance(state: str) -> None:
    async with FakeDurableExtension() as extension:
        extension.put(ID, state)
        assert await adapter(extension).start(NAME, ID, PAYLOAD) == ID
        assert extension.starts == []
        assert extension.refused_starts == [], "status was checked before asking the host"


@pytest.mark.asyncio
@pytest.mark.parametrize("state", ["Failed", "Terminated"])
async def test_restarts_an_instance_that_ended_without_a_result(state: str) -> None:
    async with FakeDurableExtension() as extension:
        extension.put(ID, state)
        assert await adapter(extension).start(NAME, ID, PAYLOAD) == ID
        assert extension.starts == [(NAME, ID, PAYLOAD)]


@pytest.mark.asyncio
async def test_starting_twice_starts_once() -> None:
    async with FakeDurableExtension() as extension:
        client = adapter(extension)
        await client.start(NAME, ID, PAYLOAD)
        await client.start(NAME, ID, PAYLOAD)
        assert len(extension.starts) == 1


@pytest.mark.asyncio
async def test_losing_a_start_race_reports_the_winner_instead_of_failing() -> None:
    async with FakeDurableExtension() as extension:
        # Both starters saw no instance; the other one's start lands right after our check.
        extension.appear_after_next_status = (ID, "Running")
        assert await adapter(extension).start(NAME, ID, PAYLOAD) == ID
        assert extension.refused_starts == [ID]
        assert extension.starts == []


@pytest.mark.asyncio
async def test_a_start_the_host_rejects_for_another_reason_raises() -> None:
    async with FakeDurableExtension() as extension:
        with pytest.raises(Exception, match="doesn't exist"):
            await adapter(extension).start("no_such_orchestrator", ID, PAYLOAD)
        assert extension.starts == []


@pytest.mark.asyncio
async def test_raises_events_into_a_live_instance_and_refuses_a_finished_one() -> None:
    async with FakeDurableExtension() as extension:
        client = adapter(extension)
        extension.put(ID, "Running")
        await client.raise_event(ID, "approval", {"decision": "approved", "by": "cfo@example.com"})
        assert extension.instances[ID].events == [("approval", {"decision": "approved", "by": "cfo@example.com"})]

        extension.put(ID, "Completed")
        with pytest.raises(Exception, match="gone"):
            await client.raise_event(ID, "approval", {"decision": "approved"})
