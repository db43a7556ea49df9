"""Drive an orchestrator the way the Durable Functions extension does, through the real SDK.

Every episode replays the whole history from scratch: ``Orchestrator(fn).handle(context)`` with a
``DurableOrchestrationContext`` built from history JSON (as the SDK's own tests do). The actions it
returns are turned into history events (TaskScheduled / TimerCreated) exactly as the extension
records them, and the test then appends what happens next (TaskCompleted, TaskFailed, TimerFired,
EventRaised) in a new episode. Each replay also checks that the orchestrator re-emits the actions it
emitted before: a non-deterministic orchestrator fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.durable_functions import DurableOrchestrationContext, Orchestrator
from azure.durable_functions.models.actions.ActionType import ActionType
from azure.durable_functions.models.history import HistoryEventType
from azure.durable_functions.models.ReplaySchema import ReplaySchema

OrchestratorFn = Callable[[Any], Generator[Any, Any, Any]]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# The extension's next episode starts a little after the event that woke the orchestrator.
EPISODE_GAP = timedelta(seconds=5)


@dataclass(frozen=True)
class Action:
    """One action the orchestrator asked for, decoded from the SDK's JSON."""

    kind: str  # "activity" | "timer" | "event"
    name: str | None = None  # activity or event name
    input: Any = None  # activity input, decoded
    fire_at: datetime | None = None
    cancelled: bool = False

    def same_request(self, other: Action) -> bool:
        """Equal as a request (a timer may have been cancelled since it was first emitted)."""
        return (self.kind, self.name, self.input, self.fire_at) == (
            other.kind,
            other.name,
            other.input,
            other.fire_at,
        )


@dataclass
class Episode:
    """What one replay returned."""

    new_actions: list[Action]
    all_actions: list[Action]
    done: bool
    output: Any
    custom_status: Any

    @property
    def activities(self) -> list[tuple[str | None, Any]]:
        return [(a.name, a.input) for a in self.new_actions if a.kind == "activity"]


class ReplayError(AssertionError):
    pass


def _stamp(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)


def _decode_actions(raw: Any) -> Iterator[Action]:
    """Flatten the V1 (list of lists) or V2 (compound actions) shapes into single actions."""
    if isinstance(raw, list):
        for item in raw:
            yield from _decode_actions(item)
        return
    kind = raw["actionType"]
    if kind in (ActionType.WHEN_ANY, ActionType.WHEN_ALL):
        yield from _decode_actions(raw["compoundActions"])
    elif kind == ActionType.CALL_ACTIVITY:
        yield Action("activity", raw["functionName"], json.loads(raw["input"]))
    elif kind == ActionType.CREATE_TIMER:
        yield Action("timer", fire_at=_as_utc(raw["fireAt"]), cancelled=bool(raw["isCanceled"]))
    elif kind == ActionType.WAIT_FOR_EXTERNAL_EVENT:
        yield Action("event", raw["externalEventName"])
    else:
        raise ReplayError(f"unexpected action type {kind}: {raw}")


def _as_utc(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


class DurableHistory:
    """The history of one orchestration instance, grown episode by episode."""

    def __init__(
        self,
        fn: OrchestratorFn,
        payload: Any,
        *,
        start: datetime,
        instance_id: str = "invoice-test",
        schema: ReplaySchema = ReplaySchema.V1,
        context_fields: dict[str, Any] | None = None,
    ) -> None:
        self.fn = fn
        self.context_fields = context_fields or {}
        self.payload = payload
        self.instance_id = instance_id
        self.schema = schema
        self.now = start
        self.events: list[dict[str, Any]] = []
        self._recorded: list[Action] = []  # actions already turned into history
        self._next_id = 0
        self.pending: dict[int, Action] = {}  # scheduled activities / timers not finished yet
        self.done = False
        self._event(HistoryEventType.ORCHESTRATOR_STARTED)
        self._event(
            HistoryEventType.EXECUTION_STARTED, Name="invoice_orchestrator", Input=json.dumps(payload), Version=None
        )

    # -- replay ---------------------------------------------------------------------------------

    def context_json(self) -> str:
        """The orchestration trigger's payload, as the extension sends it to the worker."""
        return json.dumps(
            {
                "history": self.events,
                "input": json.dumps(self.payload),
                "instanceId": self.instance_id,
                "isReplaying": False,
                "parentInstanceId": None,
                "upperSchemaVersion": self.schema.value,
                **self.context_fields,
            }
        )

    def replay(self, handle: Callable[[str], str] | None = None) -> Episode:
        """Replay the whole history; record the new actions as the extension would.

        ``handle`` runs the orchestrator on the context JSON (default: ``Orchestrator(fn).handle``);
        pass the registered function app trigger to go through the Functions binding instead.
        """
        if self.done:
            raise ReplayError("the orchestration already completed")
        if handle is None:
            state = json.loads(Orchestrator(self.fn).handle(DurableOrchestrationContext.from_json(self.context_json())))
        else:
            state = json.loads(handle(self.context_json()))
        actions = list(_decode_actions(state.get("actions") or []))
        for old, again in zip(self._recorded, actions, strict=False):
            if not old.same_request(again):
                raise ReplayError(f"non-deterministic replay: emitted {again} where history has {old}")
        if len(actions) < len(self._recorded):
            raise ReplayError(f"replay emitted {len(actions)} actions, history has {len(self._recorded)}")
        new = actions[len(self._recorded) :]
        for action in new:
            if action.kind == "activity":
                self.pending[self._next_id] = action
                self._event(HistoryEventType.TASK_SCHEDULED, EventId=self._next_id, Name=action.name)
                self._next_id += 1
            elif action.kind == "timer":
                assert action.fire_at is not None
                self.pending[self._next_id] = action
                self._event(HistoryEventType.TIMER_CREATED, EventId=self._next_id, FireAt=_stamp(action.fire_at))
                self._next_id += 1
        self._recorded = actions
        self.done = bool(state.get("isDone"))
        self._event(HistoryEventType.ORCHESTRATOR_COMPLETED)
        return Episode(
            new_actions=new,
            all_actions=actions,
            done=self.done,
            output=state.get("output"),
            custom_status=state.get("customStatus"),
        )

    # -- what happens next (each opens a new episode) -------------------------------------------

    def complete(self, activity: str, result: Any, *, at: datetime | None = None) -> DurableHistory:
        task_id = self._pending_id("activity", activity)
        self._episode(at)
        self._event(HistoryEventType.TASK_COMPLETED, TaskScheduledId=task_id, Result=json.dumps(result))
        return self

    def fail(self, activity: str, reason: str, details: str = "", *, at: datetime | None = None) -> DurableHistory:
        task_id = self._pending_id("activity", activity)
        self._episode(at)
        self._event(HistoryEventType.TASK_FAILED, TaskScheduledId=task_id, Reason=reason, Details=details)
        return self

    def fire_timer(self) -> DurableHistory:
        """Fire the pending (not cancelled) timer; the episode starts at its fire time."""
        timers = [(i, a) for i, a in self.pending.items() if a.kind == "timer" and not self._cancelled(i)]
        if len(timers) != 1:
            raise ReplayError(f"expected one pending timer, found {timers}")
        task_id, timer = timers[0]
        assert timer.fire_at is not None
        self._episode(max(timer.fire_at, self.now) + timedelta(milliseconds=10))
        del self.pending[task_id]
        self._event(HistoryEventType.TIMER_FIRED, TimerId=task_id, FireAt=_stamp(timer.fire_at))
        return self

    def raise_event(self, name: str, data: Any, *, at: datetime | None = None) -> DurableHistory:
        self._episode(at)
        self._event(HistoryEventType.EVENT_RAISED, Name=name, Input=json.dumps(data))
        return self

    def pending_timer(self) -> Action:
        timers = [a for i, a in self.pending.items() if a.kind == "timer" and not self._cancelled(i)]
        if len(timers) != 1:
            raise ReplayError(f"expected one pending timer, found {timers}")
        return timers[0]

    # -- internals ------------------------------------------------------------------------------

    def _cancelled(self, task_id: int) -> bool:
        """A timer is cancelled when the latest replay re-emitted its action with isCanceled."""
        recorded = [a for a in self._recorded if a.kind in ("activity", "timer")]
        return task_id < len(recorded) and recorded[task_id].cancelled

    def _pending_id(self, kind: str, name: str) -> int:
        ids = [i for i, a in self.pending.items() if a.kind == kind and a.name == name]
        if len(ids) != 1:
            raise ReplayError(f"expected one pending {kind} {name!r}, pending: {self.pending}")
        del self.pending[ids[0]]
        return ids[0]

    def _episode(self, at: datetime | None) -> None:
        self.now = at if at is not None else self.now + EPISODE_GAP
        self._event(HistoryEventType.ORCHESTRATOR_STARTED)

    def _event(self, kind: HistoryEventType, *, EventId: int = -1, **fields: Any) -> None:
        self.events.append(
            {"EventType": int(kind), "EventId": EventId, "IsPlayed": False, "Timestamp": _stamp(self.now), **fields}
        )


def drive(
    history: DurableHistory,
    results: dict[str, Any],
    *,
    hold: Collection[str] = (),
    handle: Callable[[str], str] | None = None,
) -> list[Episode]:
    """Replay, completing every activity from ``results`` (name → result, or an Exception to fail
    it), until the orchestration completes, waits for a timer or an event, or calls an activity
    named in ``hold`` (left pending for the test to finish)."""
    episodes: list[Episode] = []
    while True:
        episode = history.replay(handle)
        episodes.append(episode)
        activities = [a for a in episode.new_actions if a.kind == "activity"]
        if episode.done or not activities or any(a.name in hold for a in activities):
            return episodes
        for action in activities:
            assert action.name is not None
            result = results.get(action.name, {})
            if isinstance(result, Exception):
                history.fail(action.name, str(result), "Traceback: ...")
            else:
                history.complete(action.name, result)
