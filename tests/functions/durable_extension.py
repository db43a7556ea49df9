"""A local stand-in for the Durable Functions extension's HTTP API, the one the Python SDK's
``DurableOrchestrationClient`` calls through its ``rpcBaseUrl`` (start, status, raise event).

It serves the documented request/response shapes so that our client adapter and the function app's
triggers are tested through the SDK's real HTTP transport: the SDK, not our code, is the client.
Like a host with ``overridableExistingInstanceStates: NonRunningStates``, it refuses to replace a
running instance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

RPC_PREFIX = "/runtime/webhooks/durabletask/"
LIVE = frozenset({"Pending", "Running", "Suspended", "ContinuedAsNew"})
CREATED = "2024-05-06T09:00:00Z"


@dataclass
class Instance:
    name: str
    input: Any
    runtime_status: str = "Pending"
    events: list[tuple[str, Any]] = field(default_factory=list)

    def as_status(self, instance_id: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "instanceId": instance_id,
            "runtimeStatus": self.runtime_status,
            "input": self.input,
            "customStatus": None,
            "output": None,
            "createdTime": CREATED,
            "lastUpdatedTime": CREATED,
        }


class FakeDurableExtension:
    def __init__(self, orchestrators: frozenset[str] = frozenset({"invoice_orchestrator"})) -> None:
        self.orchestrators = orchestrators
        self.instances: dict[str, Instance] = {}
        self.starts: list[tuple[str, str, Any]] = []  # accepted start requests: (name, id, input)
        self.refused_starts: list[str] = []
        # Simulates a concurrent starter: the next status query answers 404, then this instance exists.
        self.appear_after_next_status: tuple[str, str] | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeDurableExtension:
        app = web.Application()
        app.router.add_post(RPC_PREFIX + "orchestrators/{name}/{instance_id}", self._start)
        app.router.add_get(RPC_PREFIX + "instances/{instance_id}", self._status)
        app.router.add_post(RPC_PREFIX + "instances/{instance_id}/raiseEvent/{event}", self._raise_event)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        # The SDK keeps one aiohttp session per process; close it while its event loop still runs.
        from azure.durable_functions.models.utils.http_utils import _close_session

        await _close_session()
        if self._runner is not None:
            await self._runner.cleanup()

    def client_binding(self) -> str:
        """The durableClient binding's value, as the host passes it to the worker."""
        rpc = self.base_url + RPC_PREFIX
        return json.dumps(
            {
                "taskHubName": "papyr",
                "creationUrls": {"createNewInstancePostUri": rpc + "orchestrators/{functionName}[/{instanceId}]"},
                "managementUrls": {"id": "INSTANCEID", "statusQueryGetUri": rpc + "instances/INSTANCEID"},
                "rpcBaseUrl": rpc,
                "baseUrl": rpc,
                "requiredQueryStringParameters": "code=test",
            }
        )

    def put(self, instance_id: str, runtime_status: str, name: str = "invoice_orchestrator") -> None:
        self.instances[instance_id] = Instance(name=name, input=None, runtime_status=runtime_status)

    async def _start(self, request: web.Request) -> web.Response:
        name, instance_id = request.match_info["name"], request.match_info["instance_id"]
        if name not in self.orchestrators:
            message = f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function."
            return web.json_response({"ExceptionMessage": message}, status=400)
        existing = self.instances.get(instance_id)
        if existing is not None and existing.runtime_status in LIVE:
            self.refused_starts.append(instance_id)
            return web.json_response(
                {"Message": f"An Orchestration instance with the status {existing.runtime_status} already exists."},
                status=409,
            )
        body = await request.text()
        payload = json.loads(json.loads(body)) if body else None  # the SDK posts a JSON string of JSON
        self.instances[instance_id] = Instance(name=name, input=payload)
        self.starts.append((name, instance_id, payload))
        rpc = self.base_url + RPC_PREFIX
        return web.json_response({"id": instance_id, "statusQueryGetUri": f"{rpc}instances/{instance_id}"}, status=202)

    async def _status(self, request: web.Request) -> web.Response:
        instance_id = request.match_info["instance_id"]
        instance = self.instances.get(instance_id)
        if self.appear_after_next_status is not None:
            raced_id, raced_status = self.appear_after_next_status
            self.appear_after_next_status = None
            self.put(raced_id, raced_status)
        if instance is None:
            return web.Response(status=404)
        code = 202 if instance.runtime_status in LIVE else 200
        return web.json_response(instance.as_status(instance_id), status=code)

    async def _raise_event(self, request: web.Request) -> web.Response:
        instance = self.instances.get(request.match_info["instance_id"])
        if instance is None:
            return web.Response(status=404)
        if instance.runtime_status not in LIVE:
            return web.Response(status=410)
        instance.events.append((request.match_info["event"], json.loads(json.loads(await request.text()))))
        return web.Response(status=202)
