"""The embedded orchestration engine: runs Durable Functions-style orchestrator generators on one
machine, with history in SQLite, activities on a thread pool, and recovery after a crash.

One dispatcher (``run_until_idle`` or ``run_forever``) fires due timers, runs orchestrator episodes
(each a full replay of the history plus the new messages) and hands activity work to the workers.
Activities run at least once: work claimed by a process that died is run again by the next engine
(``recover``); a result is recorded only by the runner that still holds the claim, so each activity
call completes exactly once in the history.

Run one dispatching engine per database. Another process that only starts instances or raises
events (a CLI) should construct its engine with ``recover=False`` and never dispatch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import StatusCode

from papyr.engine import codec
from papyr.engine.history import EventType, HistoryEvent
from papyr.engine.replayer import Orchestrator, ReplayResult, ReplayStatus, replay
from papyr.engine.store import TERMINAL_STATUSES, EngineStore, Episode, InstanceRow, NewActivity, WorkItem
from papyr.engine.tasks import ActivityTask
from shared.ports.orchestration import OrchestrationStatus
from shared.telemetry import TRACE_KEY, activity_span, context_from

Activity = Callable[[Any], Any]
Clock = Callable[[], datetime]

_log = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

_RUNTIME_STATUS = {
    ReplayStatus.RUNNING: "Running",
    ReplayStatus.COMPLETED: "Completed",
    ReplayStatus.FAILED: "Failed",
    ReplayStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
}
_IDLE_POLL_S = 0.05


def utc_now() -> datetime:
    return datetime.now(UTC)


class EmbeddedEngine:
    def __init__(
        self,
        db_path: Path,
        orchestrators: Mapping[str, Orchestrator],
        activities: Mapping[str, Activity],
        *,
        clock: Clock = utc_now,
        workers: int = 2,
        recover: bool = True,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._store = EngineStore(Path(db_path))
        self._orchestrators = dict(orchestrators)
        self._activities = dict(activities)
        self._clock = clock
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="papyr-activity")
        self._claim = f"{_process_tag(os.getpid())}:{uuid.uuid4().hex}"  # marks the work this engine runs
        self._in_flight: set[int] = set()
        self._finished = 0  # instances this engine saw reach a terminal status
        self._lock = threading.Lock()
        self._dispatching = threading.Lock()
        self._wake = threading.Event()
        if recover:
            self.recover()

    # -- client side -------------------------------------------------------------------------

    def start(self, orchestrator_name: str, instance_id: str, input: Any = None) -> bool:
        """Start an instance unless one with this id exists, running or finished (never replaced).
        Returns True when this call created it."""
        if orchestrator_name not in self._orchestrators:
            raise ValueError(f"unknown orchestrator {orchestrator_name!r}")
        created = self._store.create_instance(instance_id, orchestrator_name, input, self._clock())
        _log.info("instance=%s event=%s orchestrator=%s", instance_id,
                  "started" if created else "start-ignored-exists", orchestrator_name)
        if created:
            self._wake.set()
        return created

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> bool:
        """Persist an external event for the instance; it is buffered until the orchestrator waits
        for it. False when the instance is unknown or already finished."""
        delivered = self._store.add_event(instance_id, name, data, self._clock())
        _log.info("instance=%s event=%s name=%s", instance_id,
                  "event-raised" if delivered else "event-rejected-not-running", name)
        if delivered:
            self._wake.set()
        return delivered

    def terminate(self, instance_id: str, reason: str) -> bool:
        terminated = self._store.terminate(instance_id, reason, self._clock())
        if terminated:
            _log.info("instance=%s event=terminated reason=%s", instance_id, reason)
        return terminated

    def status(self, instance_id: str) -> OrchestrationStatus | None:
        row = self._store.get_instance(instance_id)
        return _status(row) if row is not None else None

    def list_instances(
        self, *, runtime_status: str | None = None, orchestrator: str | None = None, limit: int = 1000
    ) -> list[OrchestrationStatus]:
        rows = self._store.list_instances(status=runtime_status, name=orchestrator, limit=limit)
        return [_status(row) for row in rows]

    def history(self, instance_id: str) -> list[HistoryEvent]:
        """The current execution's history, oldest first."""
        return self._store.history(instance_id)

    # -- dispatching -------------------------------------------------------------------------

    def recover(self) -> int:
        """Re-queue work claimed by engines that are gone; returns how many items.

        A claim names its process; work of a live process on this machine (a server while the CLI
        raises an event) is left alone, work of a dead one (killed, crashed) runs again."""
        orphaned = [claim for claim in self._store.claims() if claim != self._claim and not _claim_alive(claim)]
        released = self._store.release_claims(orphaned)
        if released:
            _log.warning("event=recovered-work items=%d claims=%d", released, len(orphaned))
        return released

    def run_until_idle(
        self, timeout_s: float | None = None, *, on_progress: Callable[[int], None] | None = None
    ) -> None:
        """Process until nothing is runnable: every instance finished or waiting for an external
        event or a timer not yet due. Activity retries waiting out their interval count as busy.
        ``on_progress`` gets the number of instances finished so far in this call, as it grows.
        Raises TimeoutError when ``timeout_s`` passes first."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._dispatching:
            finished_at_start = reported = self._finished
            while True:
                self._wake.clear()
                progressed = self._dispatch_once()
                if on_progress is not None and self._finished != reported:
                    reported = self._finished
                    on_progress(reported - finished_at_start)
                if progressed:
                    continue
                with self._lock:
                    busy = bool(self._in_flight)
                if not busy and not self._store.has_pending():
                    return
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"engine not idle after {timeout_s} s")
                self._wake.wait(_IDLE_POLL_S)

    def run_forever(self, stop: threading.Event, poll_interval_s: float = 0.5) -> None:
        """Dispatch until ``stop`` is set; wakes at once on local starts, events and completions."""
        with self._dispatching:
            while not stop.is_set():
                self._wake.clear()
                try:
                    progressed = self._dispatch_once()
                except Exception:  # e.g. the database locked too long: keep serving, retry shortly
                    _log.exception("event=dispatch-error")
                    progressed = False
                if not progressed:
                    self._wake.wait(poll_interval_s)

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        """Wait for running activities to record their results, then release the database."""
        self._pool.shutdown(wait=True)
        self._store.close()

    def __enter__(self) -> EmbeddedEngine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _dispatch_once(self) -> bool:
        progressed = False
        for instance_id, task_id in self._store.fire_due_timers(self._clock()):
            _log.info("instance=%s event=timer-fired task=%d", instance_id, task_id)
            progressed = True
        for instance_id in self._store.instances_with_inbox():
            self._run_episode(instance_id)
            progressed = True
        with self._lock:
            capacity = self._workers - len(self._in_flight)
        items = self._store.claim_work(capacity, self._claim, self._clock())
        for item in items:
            with self._lock:
                self._in_flight.add(item.id)
            self._pool.submit(self._execute, item)
        return progressed or bool(items)

    # -- orchestrator episodes ---------------------------------------------------------------

    def _run_episode(self, instance_id: str) -> None:
        instance, history, inbox = self._store.load_episode(instance_id)
        current = [m for m in inbox if m.execution == instance.execution]
        if instance.status in TERMINAL_STATUSES or not current:
            self._store.discard_inbox([m.id for m in inbox])
            return
        now = self._clock()
        new_events = [HistoryEvent(EventType.ORCHESTRATOR_STARTED, {}, now), *(m.event for m in current)]
        with _tracer.start_as_current_span(  # in the invoice's trace, when its input carries one
            f"orchestrator {instance.name}", context=_trace_context(history + new_events),
            attributes={"papyr.instance_id": instance_id},
        ):
            result = self._replay(instance, history + new_events, len(history))
        episode = self._episode(instance, history, [m.id for m in inbox], new_events, result, now)
        if not self._store.commit_episode(episode, now):
            _log.warning("instance=%s event=episode-conflict (changed meanwhile; will replay)", instance_id)
            return
        for activity in episode.activities:
            _log.info("instance=%s event=activity-scheduled activity=%s task=%d",
                      instance_id, activity.activity, activity.task_id)
        if episode.status in TERMINAL_STATUSES:
            self._finished += 1
        if episode.status != "Running":
            _log.info("instance=%s event=%s", instance_id, episode.status.lower())

    def _replay(self, instance: InstanceRow, history: list[HistoryEvent], new_from: int) -> ReplayResult:
        orchestrator = self._orchestrators.get(instance.name)
        if orchestrator is None:
            return ReplayResult(ReplayStatus.FAILED, f"unknown orchestrator {instance.name!r}")
        try:
            return replay(orchestrator, instance.id, history, new_from)
        except Exception as error:  # an engine fault: fail this instance, keep the engine going
            _log.exception("instance=%s event=replay-error", instance.id)
            return ReplayResult(ReplayStatus.FAILED, f"engine error: {type(error).__name__}: {error}")

    def _episode(
        self, instance: InstanceRow, history: list[HistoryEvent], inbox_ids: list[int],
        new_events: list[HistoryEvent], result: ReplayResult, now: datetime,
    ) -> Episode:
        status, output = _RUNTIME_STATUS[result.status], result.output
        events = list(new_events)
        activities: list[NewActivity] = []
        timers: list[tuple[int, datetime]] = []
        try:
            custom_status = codec.normalize(result.custom_status)
            output = codec.normalize(output)
            if status == "Running":  # a finished execution schedules nothing more
                activities = [_new_activity(task) for task in result.new_activities]
                timers = [(t.id, t.fire_at) for t in result.new_timers if t.id is not None]
        except TypeError as error:  # Durable fails such an orchestration too
            status, output, custom_status, activities, timers = (
                "Failed", f"not JSON-serializable: {error}", None, [], [])
        events += [HistoryEvent(EventType.TASK_SCHEDULED, {
            "task_id": a.task_id, "name": a.activity, "input": a.input,
            "max_attempts": a.max_attempts, "retry_interval_ms": a.retry_interval_ms}, now) for a in activities]
        # Cancelled timers are recorded too, so the next replay finds them, but never armed.
        events += [HistoryEvent(EventType.TIMER_CREATED, {"task_id": task_id, "fire_at": codec.timestamp(at)}, now)
                   for task_id, at in timers]
        if status != "Running":
            events.append(HistoryEvent(EventType.EXECUTION_COMPLETED, {"status": status, "output": output}, now))
        continued = status == "ContinuedAsNew"
        return Episode(
            instance_id=instance.id, execution=instance.execution, history_length=len(history),
            consumed_inbox=inbox_ids, new_events=events, activities=activities,
            timers=[(task_id, at) for task_id, at in timers if task_id not in result.cancelled_timer_ids],
            cancelled_timers=result.cancelled_timer_ids, status=status,
            output=None if continued else output, custom_status=custom_status,
            continue_input=output if continued else None,
        )

    # -- activities --------------------------------------------------------------------------

    def _execute(self, item: WorkItem) -> None:
        try:
            result, error = self._call_activity(item)
            outcome = self._store.complete_work(item, self._claim, result, error, self._clock())
            _log.log(
                logging.WARNING if error else logging.INFO,
                "instance=%s event=activity-%s activity=%s task=%d attempt=%d%s",
                item.instance_id, "failed" if error else "completed", item.activity, item.task_id, item.attempt,
                f" outcome={outcome} error={error}" if error else f" outcome={outcome}",
            )
        except Exception:  # the store failed; the claim stays and recover() re-runs the work
            _log.exception("instance=%s event=activity-record-error activity=%s", item.instance_id, item.activity)
        finally:
            with self._lock:
                self._in_flight.discard(item.id)
            self._wake.set()

    def _call_activity(self, item: WorkItem) -> tuple[Any, str | None]:
        attributes: dict[str, str | int] = {"papyr.instance_id": item.instance_id, "papyr.activity": item.activity,
                      "papyr.task_id": item.task_id, "papyr.attempt": item.attempt}
        with activity_span(item.activity, item.input, attributes) as span:  # a child of the invoice's trace
            function = self._activities.get(item.activity)
            try:
                if function is None:
                    raise LookupError(f"unknown activity {item.activity!r}")
                return codec.normalize(function(item.input)), None
            except Exception as error:
                span.record_exception(error)
                span.set_status(StatusCode.ERROR, str(error))
                return None, f"{type(error).__name__}: {error}"


def _trace_context(events: list[HistoryEvent]) -> Any:
    """The trace the orchestration input carries (None: a span of its own)."""
    for event in events:
        if event.event_type is EventType.EXECUTION_STARTED:
            started_input = event.payload.get("input")
            return context_from(started_input.get(TRACE_KEY)) if isinstance(started_input, dict) else None
    return None


def _process_tag(pid: int) -> str:
    """pid plus the process's start time where /proc has it, so a reused pid is not mistaken for it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return f"{pid}.{stat.rpartition(')')[2].split()[19]}"
    except (OSError, IndexError):
        return str(pid)


def _claim_alive(claim: str) -> bool:
    """Whether the process that made this claim still runs (another process on this machine)."""
    tag, _, _ = claim.partition(":")
    pid_text = tag.partition(".")[0]
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False  # not an engine's claim, or a closed engine of this very process
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by another user
    return _process_tag(int(pid_text)) == tag


def _new_activity(task: ActivityTask) -> NewActivity:
    assert task.id is not None
    retry = task.retry
    return NewActivity(
        task_id=task.id, activity=task.name, input=codec.normalize(task.input),
        max_attempts=retry.max_number_of_attempts if retry else 1,
        retry_interval_ms=retry.first_retry_interval_in_milliseconds if retry else 0,
    )


def _status(row: InstanceRow) -> OrchestrationStatus:
    return OrchestrationStatus(
        instance_id=row.id, runtime_status=row.status, custom_status=row.custom_status, output=row.output
    )
