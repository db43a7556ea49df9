"""Replay an orchestrator generator against its history, the way Durable Functions does.

The generator runs from the start on every episode. Each task it yields gets a sequence number;
a task the history already scheduled must match it (same activity and input, same timer) or the
orchestrator is not deterministic. Completion events resolve tasks in history order and resume the
generator; tasks seen for the first time are the episode's new actions.

External events go to a waiter the orchestrator is awaiting at that moment (the newest first);
otherwise they are buffered in arrival order until it awaits one. Durable gives an event to any
earlier, abandoned waiter of the same name; here an event is never lost to one.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from enum import StrEnum
from types import GeneratorType
from typing import Any

from papyr.engine import codec
from papyr.engine.context import OrchestrationContext
from papyr.engine.history import EventType, HistoryEvent
from papyr.engine.tasks import ActivityFailedError, ActivityTask, ExternalEventTask, Task, TimerTask

Orchestrator = Callable[[Any], Any]


class NonDeterminismError(Exception):
    """The orchestrator did something on replay other than what its history records."""


class ReplayStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CONTINUED_AS_NEW = "continued_as_new"


@dataclass
class ReplayResult:
    status: ReplayStatus = ReplayStatus.RUNNING
    output: Any = None  # return value; error message when failed; new input when continued as new
    custom_status: Any = None
    new_activities: list[ActivityTask] = field(default_factory=list)
    new_timers: list[TimerTask] = field(default_factory=list)
    cancelled_timer_ids: list[int] = field(default_factory=list)


class _Started(Task):
    """The placeholder the generator 'waits on' before its first step."""


def replay(
    orchestrator: Orchestrator, instance_id: str, history: list[HistoryEvent], new_from: int
) -> ReplayResult:
    """Run ``orchestrator`` over ``history``; events from index ``new_from`` on are new (not replaying)."""
    return _Replay(orchestrator, instance_id, history, new_from).run()


class _Replay:
    def __init__(
        self, orchestrator: Orchestrator, instance_id: str, history: list[HistoryEvent], new_from: int
    ) -> None:
        self._orchestrator = orchestrator
        self._history = history
        self._new_from = new_from
        started = next((e for e in history if e.event_type is EventType.EXECUTION_STARTED), None)
        if started is None:
            raise ValueError(f"history of {instance_id} has no ExecutionStarted event")
        first_time = next(
            (e.timestamp for e in history if e.event_type is EventType.ORCHESTRATOR_STARTED), started.timestamp
        )
        self._context = OrchestrationContext(instance_id, started.payload.get("input"), first_time)
        self._scheduled = _payloads_by_task(history, EventType.TASK_SCHEDULED)
        self._timers_created = _payloads_by_task(history, EventType.TIMER_CREATED)
        self._generator: Generator[Any, Any, Any] | None = None
        self._current: Task | None = None
        self._next_id = 0
        self._registered: set[Task] = set()  # the objects, not id(): ids of freed tasks get reused
        self._open: dict[int, Task] = {}
        self._buffered: defaultdict[str, deque[Any]] = defaultdict(deque)
        self._all_timers: list[TimerTask] = []
        self._result = ReplayResult()
        self._done = False

    def run(self) -> ReplayResult:
        try:
            for index, event in enumerate(self._history):
                self._context.is_replaying = index < self._new_from
                self._apply(event)
                if self._done:
                    break
        except NonDeterminismError as error:
            self._finish(ReplayStatus.FAILED, f"non-deterministic orchestrator: {error}")
        self._result.custom_status = self._context.custom_status
        self._result.cancelled_timer_ids = [t.id for t in self._all_timers if t.is_cancelled and t.id is not None]
        return self._result

    def _apply(self, event: HistoryEvent) -> None:
        payload = event.payload
        match event.event_type:
            case EventType.ORCHESTRATOR_STARTED:
                self._context.current_utc_datetime = max(self._context.current_utc_datetime, event.timestamp)
            case EventType.EXECUTION_STARTED:
                self._start()
            case EventType.TASK_COMPLETED:
                self._take(payload["task_id"])._resolve(payload.get("result"))
                self._resume()
            case EventType.TASK_FAILED:
                task = self._take(payload["task_id"])
                name = task.name if isinstance(task, ActivityTask) else "?"
                task._resolve(ActivityFailedError(name, str(payload.get("error"))), failed=True)
                self._resume()
            case EventType.TIMER_FIRED:
                self._take(payload["task_id"])._resolve(None)
                self._resume()
            case EventType.EVENT_RAISED:
                self._deliver(str(payload["name"]), payload.get("data"))
                self._resume()
            case _:
                pass  # TaskScheduled / TimerCreated were pre-scanned; ExecutionCompleted ends the history

    def _start(self) -> None:
        try:
            produced = self._orchestrator(self._context)
        except Exception as error:
            self._finish(ReplayStatus.FAILED, _describe(error))
            return
        if not isinstance(produced, GeneratorType):  # a plain function: its return value is the output
            self._finish_returned(produced)
            return
        self._generator = produced
        self._current = _Started()
        self._current._resolve(None)
        self._resume()

    def _resume(self) -> None:
        """Drive the generator for as long as the task it waits on is resolved."""
        while not self._done and self._generator is not None and self._current is not None:
            task = self._current
            if not task.is_completed:
                return
            try:
                step = self._generator.throw if task.is_faulted else self._generator.send
                yielded = step(task.result)
            except StopIteration as stop:
                self._finish_returned(stop.value)
                return
            except NonDeterminismError:
                raise
            except Exception as error:
                self._finish(ReplayStatus.FAILED, _describe(error))
                return
            if self._context.will_continue_as_new:
                self._finish_returned(None)
                return
            if not isinstance(yielded, Task):
                self._finish(ReplayStatus.FAILED, f"orchestrator yielded {type(yielded).__name__}, not a task")
                return
            self._register(yielded)
            self._current = yielded

    def _register(self, yielded: Task) -> None:
        for leaf in yielded.leaves():
            if isinstance(leaf, ExternalEventTask):
                buffered = self._buffered[leaf.name]
                if not leaf.is_completed and buffered:
                    leaf._resolve(buffered.popleft())
                continue
            if leaf in self._registered:
                continue
            self._registered.add(leaf)
            leaf.id = self._next_id
            self._next_id += 1
            self._open[leaf.id] = leaf
            if isinstance(leaf, ActivityTask):
                self._check_activity(leaf)
            elif isinstance(leaf, TimerTask):
                self._all_timers.append(leaf)
                self._check_timer(leaf)

    def _check_activity(self, task: ActivityTask) -> None:
        assert task.id is not None
        if task.id in self._timers_created:
            raise NonDeterminismError(f"task {task.id}: history has a timer, replay asked for {task.name!r}")
        recorded = self._scheduled.get(task.id)
        if recorded is None:
            self._result.new_activities.append(task)
            return
        if recorded.get("name") != task.name or recorded.get("input") != codec.normalize(task.input):
            raise NonDeterminismError(
                f"task {task.id}: history has activity {recorded.get('name')!r} with input "
                f"{recorded.get('input')!r}, replay asked for {task.name!r} with {codec.normalize(task.input)!r}"
            )

    def _check_timer(self, task: TimerTask) -> None:
        assert task.id is not None
        if task.id in self._scheduled:
            raise NonDeterminismError(f"task {task.id}: history has an activity, replay asked for a timer")
        recorded = self._timers_created.get(task.id)
        if recorded is None:
            self._result.new_timers.append(task)
            return
        if codec.parse_timestamp(recorded["fire_at"]) != task.fire_at:
            raise NonDeterminismError(
                f"task {task.id}: history has a timer for {recorded['fire_at']}, replay asked for "
                f"{task.fire_at.isoformat()}"
            )

    def _take(self, task_id: int) -> Task:
        task = self._open.pop(task_id, None)
        if task is None:
            raise NonDeterminismError(f"history completes task {task_id}, which replay never scheduled")
        return task

    def _deliver(self, name: str, data: Any) -> None:
        awaited = self._current.leaves() if self._current is not None and not self._current.is_completed else []
        for leaf in reversed(awaited):
            if isinstance(leaf, ExternalEventTask) and leaf.name == name and not leaf.is_completed:
                leaf._resolve(data)
                return
        self._buffered[name].append(data)

    def _finish_returned(self, output: Any) -> None:
        if self._context.will_continue_as_new:
            self._finish(ReplayStatus.CONTINUED_AS_NEW, self._context.continue_as_new_input)
        else:
            self._finish(ReplayStatus.COMPLETED, output)

    def _finish(self, status: ReplayStatus, output: Any) -> None:
        self._result.status = status
        self._result.output = output
        self._done = True


def _payloads_by_task(history: list[HistoryEvent], event_type: EventType) -> dict[int, dict[str, Any]]:
    return {int(e.payload["task_id"]): e.payload for e in history if e.event_type is event_type}


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
