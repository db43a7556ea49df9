"""The embedded orchestration engine: Durable Functions orchestrators on one machine, no cloud.

History lives in SQLite; unfinished orchestrations resume after a crash or restart.
"""

from papyr.engine.client import EngineClient
from papyr.engine.context import OrchestrationContext
from papyr.engine.engine import EmbeddedEngine, utc_now
from papyr.engine.history import EventType, HistoryEvent
from papyr.engine.replayer import NonDeterminismError, replay
from papyr.engine.tasks import ActivityFailedError, RetryOptions, Task, TimerTask

__all__ = [
    "ActivityFailedError",
    "EmbeddedEngine",
    "EngineClient",
    "EventType",
    "HistoryEvent",
    "NonDeterminismError",
    "OrchestrationContext",
    "RetryOptions",
    "Task",
    "TimerTask",
    "replay",
    "utc_now",
]
