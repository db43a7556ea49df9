"""Orchestration history events: the append-only record an orchestrator is replayed against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    ORCHESTRATOR_STARTED = "OrchestratorStarted"  # opens an episode; its timestamp is the replay time
    EXECUTION_STARTED = "ExecutionStarted"  # {name, input}
    TASK_SCHEDULED = "TaskScheduled"  # {task_id, name, input, retry}
    TASK_COMPLETED = "TaskCompleted"  # {task_id, result}
    TASK_FAILED = "TaskFailed"  # {task_id, error}
    TIMER_CREATED = "TimerCreated"  # {task_id, fire_at}
    TIMER_FIRED = "TimerFired"  # {task_id, fire_at}
    EVENT_RAISED = "EventRaised"  # {name, data}
    EXECUTION_COMPLETED = "ExecutionCompleted"  # {status, output}


@dataclass(frozen=True)
class HistoryEvent:
    event_type: EventType
    payload: dict[str, Any]
    timestamp: datetime
