"""The orchestration context handed to orchestrator generators: the subset of Durable Functions'
DurableOrchestrationContext that Papyr's orchestrators use, with the same semantics.

Everything here is deterministic: time is the timestamp of the history being replayed and UUIDs
are derived from the instance id, that time and a counter — the formula Durable uses.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from papyr.engine.tasks import (
    ActivityTask,
    ExternalEventTask,
    RetryOptions,
    Task,
    TimerTask,
    WhenAllTask,
    WhenAnyTask,
)

# Durable's constants, so new_uuid() gives the values Azure would give for the same history.
_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")
_UUID_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class OrchestrationContext:
    def __init__(self, instance_id: str, input_: Any, started_at: datetime) -> None:
        self._instance_id = instance_id
        self._input = input_
        self.current_utc_datetime: datetime = started_at
        self.is_replaying = False
        self.custom_status: Any = None
        self.continue_as_new_input: Any = None
        self.will_continue_as_new = False
        self._uuid_counter = 0

    @property
    def instance_id(self) -> str:
        return self._instance_id

    def get_input(self) -> Any:
        return self._input

    def new_uuid(self) -> str:
        moment = self.current_utc_datetime.astimezone(UTC).strftime(_UUID_TIME_FORMAT)
        name = f"{self._instance_id}_{moment}_{self._uuid_counter}"
        self._uuid_counter += 1
        return str(uuid.uuid5(_UUID_NAMESPACE, name))

    def call_activity(self, name: str, input_: Any = None) -> Task:
        return ActivityTask(name, input_)

    def call_activity_with_retry(self, name: str, retry_options: RetryOptions, input_: Any = None) -> Task:
        return ActivityTask(name, input_, retry_options)

    def create_timer(self, fire_at: datetime) -> TimerTask:
        if fire_at.tzinfo is None:  # Durable's timestamps are UTC; accept naive ones as UTC
            fire_at = fire_at.replace(tzinfo=UTC)
        return TimerTask(fire_at)

    def wait_for_external_event(self, name: str) -> Task:
        return ExternalEventTask(name)

    def task_any(self, tasks: list[Task]) -> Task:
        return WhenAnyTask(tasks)

    def task_all(self, tasks: list[Task]) -> Task:
        return WhenAllTask(tasks)

    def set_custom_status(self, status: Any) -> None:
        self.custom_status = status

    def continue_as_new(self, input_: Any) -> None:
        self.continue_as_new_input = input_
        self.will_continue_as_new = True
