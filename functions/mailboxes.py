"""Mailboxes on Azure: the subscription renewal orchestration, the safety-net reconcile timer and
the drain of accepted notifications. (The push endpoints themselves are HTTP routes of
``shared.api.routes``, registered by ``functions/http_api.py``.)

The queue is Service Bus when the settings name a namespace (``shared.adapters.azure.servicebus``,
over its REST API), else the embedded SQLite queue; a timer drains it every 10 seconds with the same
``MailboxService.drain`` the local host runs. (A Service Bus session trigger would give each mailbox
an exclusive receiver; the REST drain cannot read session queues, and concurrent reconciles of one
mailbox are safe because intake dedupes messages and documents.)

No ``from __future__ import annotations``: the Functions worker reads these annotations.
"""

import logging
import time

import azure.durable_functions as df
import azure.functions as func

from functions.durable_client import DurableOrchestrationClientAdapter
from orchestrators.mailbox_renewal import (
    ORCHESTRATOR_NAME,
    mailbox_renewal_orchestrator,
    renewal_input,
    renewal_instance_id,
)
from shared.telemetry import CountableQueue, observe_queue_depth

log = logging.getLogger(__name__)

SAFETY_NET_SCHEDULE = "0 */15 * * * *"  # every 15 minutes
DRAIN_SCHEDULE = "*/10 * * * * *"  # every 10 seconds
DRAIN_BUDGET_S = 50.0  # stop taking new batches well before the next tick

bp = df.Blueprint()

bp.function_name(ORCHESTRATOR_NAME)(
    bp.orchestration_trigger(context_name="context", orchestration=ORCHESTRATOR_NAME)(mailbox_renewal_orchestrator)
)


async def drain_notifications(client: DurableOrchestrationClientAdapter, budget_s: float = DRAIN_BUDGET_S) -> int:
    """Drain until the queue is empty or the budget is spent; returns how many were handled."""
    from shared.mailboxes.connectors import build_connectors, push_subscribers
    from shared.mailboxes.service import get_mailbox_service

    service = get_mailbox_service()
    if isinstance(service.queue, CountableQueue):  # the queue-depth gauge, exported with the other metrics
        observe_queue_depth("notifications", service.queue)
    connectors = build_connectors(service.registry)
    deadline = time.monotonic() + budget_s
    handled = 0
    while time.monotonic() < deadline:
        done = await service.drain(connectors, client, subscribers=push_subscribers(connectors))
        if not done:
            break
        handled += done
    return handled


async def safety_net(client: DurableOrchestrationClientAdapter) -> int:
    """Queue a reconcile of every watched folder and make sure each push folder has its renewal loop."""
    from shared.mailboxes.models import Provider
    from shared.mailboxes.service import get_mailbox_service

    service = get_mailbox_service()
    queued = 0
    for mailbox in service.registry.list():
        for folder in mailbox.rules.folders:
            queued += service.request_reconcile(mailbox.id, folder)
            if mailbox.provider is not Provider.IMAP:
                await client.start(ORCHESTRATOR_NAME, renewal_instance_id(mailbox.id, folder),
                                   renewal_input(mailbox, folder))
    return queued


async def mailbox_safety_net(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    adapter = DurableOrchestrationClientAdapter(client)
    queued = await safety_net(adapter)
    log.info("safety net: %d reconciles queued; %d notifications handled", queued, await drain_notifications(adapter))


async def mailbox_drain(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    handled = await drain_notifications(DurableOrchestrationClientAdapter(client))
    if handled:
        log.info("drain: %d notifications handled", handled)


bp.function_name("mailbox_safety_net")(
    bp.timer_trigger(arg_name="timer", schedule=SAFETY_NET_SCHEDULE, run_on_startup=False)(
        bp.durable_client_input(client_name="client")(mailbox_safety_net)
    )
)
bp.function_name("mailbox_drain")(
    bp.timer_trigger(arg_name="timer", schedule=DRAIN_SCHEDULE, run_on_startup=False)(
        bp.durable_client_input(client_name="client")(mailbox_drain)
    )
)
