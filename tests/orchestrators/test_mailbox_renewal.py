"""The subscription renewal loop: replayed through the real azure.durable_functions SDK, and run by the
embedded engine against the real activities with a fake provider subscriber."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.durable_functions import DurableOrchestrationContext, Orchestrator
from azure.durable_functions.models.actions.ActionType import ActionType
from durable_history import DurableHistory

from orchestrators.mailbox_renewal import (
    MAX_TIMER,
    ORCHESTRATOR_NAME,
    mailbox_renewal_orchestrator,
    next_renewal,
    renewal_instance_id,
)
from papyr.engine import EmbeddedEngine
from shared.activities import ACTIVITIES
from shared.mailboxes.activities import set_push_subscribers
from shared.mailboxes.models import Mailbox, MailRules, Provider
from shared.mailboxes.service import get_mailbox_service
from shared.services import Services, set_services
from shared.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared" / "mailboxes"))
from mailbox_fakes import FakeSubscriber, ManualClock

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
STATE = {"mailbox_id": "mb1", "folder": "Inbox", "provider": "outlook"}
REF = {"mailbox_id": "mb1", "folder": "Inbox"}


def history(provider: str = "outlook") -> DurableHistory:
    return DurableHistory(mailbox_renewal_orchestrator, {**STATE, "provider": provider}, start=T0,
                          instance_id=renewal_instance_id("mb1", "Inbox"))


def test_renews_sleeps_half_the_lifetime_reconciles_and_continues_as_new() -> None:
    run = history()
    assert run.replay().activities == [("renew_subscription", REF)]
    expires = T0 + timedelta(days=2)
    renewed = {"status": "renewed", "subscription_id": "s1", "expires_at": expires.isoformat()}
    run.complete("renew_subscription", renewed)
    run.replay()
    timer = run.pending_timer()
    assert timer.fire_at is not None
    assert abs(timer.fire_at - (T0 + timedelta(days=1))) < timedelta(seconds=30)  # about half way
    run.fire_timer()
    assert run.replay().activities == [("reconcile_mailbox", REF)]
    run.complete("reconcile_mailbox", {"queued": True})
    state = json.loads(Orchestrator(mailbox_renewal_orchestrator).handle(
        DurableOrchestrationContext.from_json(run.context_json())))
    [continued] = [a for a in state["actions"][-1] if a["actionType"] == ActionType.CONTINUE_AS_NEW]
    assert json.loads(continued["input"]) == STATE


def test_timer_caps_six_days_and_one_day_for_gmail_and_a_gone_mailbox_ends_the_loop() -> None:
    far = T0 + timedelta(days=30)
    assert next_renewal(T0, far, "outlook") == T0 + MAX_TIMER
    assert next_renewal(T0, T0 + timedelta(days=7), "gmail") == T0 + timedelta(days=1)
    assert next_renewal(T0, T0 + timedelta(seconds=10), "outlook") == T0 + timedelta(minutes=1)
    run = history()
    run.replay()
    run.complete("renew_subscription", {"status": "gone"})
    episode = run.replay()
    assert episode.done and episode.output == {"status": "stopped", "mailbox_id": "mb1"}


def test_a_failed_renewal_retries_after_five_minutes() -> None:
    run = history("gmail")
    run.replay()
    run.fail("renew_subscription", "Graph 503")
    run.replay()
    timer = run.pending_timer()
    assert timer.fire_at is not None and timer.fire_at - T0 < timedelta(minutes=6)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    installed = Services.from_settings(Settings(data_dir=tmp_path / "papyr"))
    set_services(installed)
    yield installed
    set_services(None)
    set_push_subscribers(None)


def test_the_embedded_engine_keeps_the_subscription_alive(services: Services) -> None:
    clock = ManualClock(datetime.now(UTC))
    subscriber = FakeSubscriber(clock, lifetime=timedelta(days=2))
    set_push_subscribers({Provider.OUTLOOK: subscriber})
    service = get_mailbox_service(services)
    service.registry.add(Mailbox(id="mb1", provider=Provider.OUTLOOK, address="ap@example.com", created_at=T0,
                                 rules=MailRules(folders=["Inbox"])))
    engine = EmbeddedEngine(services.settings.data_dir / "orchestration.sqlite3",
                            orchestrators={ORCHESTRATOR_NAME: mailbox_renewal_orchestrator},
                            activities=ACTIVITIES, clock=clock)
    try:
        instance = renewal_instance_id("mb1", "Inbox")
        engine.start(ORCHESTRATOR_NAME, instance, STATE)
        engine.run_until_idle(timeout_s=30)
        [created] = subscriber.created
        stored = service.registry.get_subscription(created.id)
        assert stored is not None and stored.folder == "Inbox" and stored.client_state  # sealed, kept
        assert service.notification_url(Provider.OUTLOOK).endswith("/api/notifications/graph")

        clock.advance(timedelta(days=1, minutes=1).total_seconds())  # half the lifetime passes
        engine.run_until_idle(timeout_s=30)
        assert subscriber.renewed == [created.id]
        assert service.queue.count() == 1  # type: ignore[attr-defined]  # the catch-up reconcile
        status = engine.status(instance)
        assert status is not None and status.runtime_status == "Running"  # continued as new, waiting again
    finally:
        engine.close()
