"""functions/mailboxes.py as the Functions host indexes it: the renewal orchestrator, the safety-net
and drain timers, and the push routes registered anonymous (Graph cannot send a function key)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import azure.functions as func
from azure.functions.decorators.function_app import Function

from functions import mailboxes
from shared.api.routes import ROUTES


def test_timers_and_orchestrator_bindings() -> None:
    app = func.FunctionApp()
    app.register_functions(mailboxes.bp)
    functions: dict[str, Function] = {f.get_function_name() or "": f for f in app.get_functions()}
    assert set(functions) == {"mailbox_renewal_orchestrator", "mailbox_safety_net", "mailbox_drain"}
    timers = {name: json.loads(functions[name].get_function_json())["bindings"]
              for name in ("mailbox_safety_net", "mailbox_drain")}
    schedules = {name: next(b["schedule"] for b in bindings if b["type"] == "timerTrigger")
                 for name, bindings in timers.items()}
    assert schedules == {"mailbox_safety_net": "0 */15 * * * *", "mailbox_drain": "*/10 * * * * *"}
    assert all(any(b["type"] == "durableClient" for b in bindings) for bindings in timers.values())
    orchestrator = json.loads(functions["mailbox_renewal_orchestrator"].get_function_json())["bindings"]
    assert orchestrator[0]["type"] == "orchestrationTrigger"


def test_push_routes_are_anonymous_posts() -> None:
    push = {route.path: route for route in ROUTES if route.path.startswith("notifications/")}
    assert set(push) == {"notifications/graph", "notifications/gmail"}
    assert all(route.anonymous and route.methods == ("POST",) for route in push.values())


def test_safety_net_queues_a_reconcile_per_folder_and_starts_the_renewal_loops(tmp_path: Path) -> None:
    from shared.mailboxes.models import Mailbox, MailRules, Provider
    from shared.mailboxes.service import get_mailbox_service
    from shared.services import Services, set_services
    from shared.settings import Settings

    services = Services.from_settings(Settings(data_dir=tmp_path))
    set_services(services)
    try:
        service = get_mailbox_service(services)
        for mailbox_id, provider in (("mb-o", Provider.OUTLOOK), ("mb-i", Provider.IMAP)):
            service.registry.add(Mailbox(id=mailbox_id, provider=provider, address=f"{mailbox_id}@example.com",
                                         rules=MailRules(folders=["Inbox", "Bills"]),
                                         created_at="2025-03-03T09:00:00+00:00"))

        class Starts:
            def __init__(self) -> None:
                self.started: list[tuple[str, str]] = []

            async def start(self, orchestrator: str, instance_id: str, payload: object) -> str:
                self.started.append((orchestrator, instance_id))
                return instance_id

        client = Starts()
        queued = asyncio.run(mailboxes.safety_net(client))  # type: ignore[arg-type]
        assert queued == 4 and service.queue.count() == 4  # type: ignore[attr-defined]
        assert {name for name, _ in client.started} == {"mailbox_renewal_orchestrator"}
        assert len(client.started) == 2  # IMAP has no push subscription to renew
    finally:
        set_services(None)
