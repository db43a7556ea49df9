"""Tasks an orchestrator yields, with the semantics of azure.durable_functions' Task model.

A task is running until the replayer resolves it from a history event; compound tasks (any/all)
resolve from their children. A failed task's ``result`` is the exception thrown into the generator.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any


class TaskState(enum.Enum):
    RUNNING = 0
    SUCCEEDED = 1
    FAILED = 2


class RetryOptions:
    """Durable's RetryOptions: retry a failed activity after a fixed interval, up to N attempts in all."""

    def __init__(self, first_retry_interval_in_milliseconds: int, max_number_of_attempts: int) -> None:
        if first_retry_interval_in_milliseconds <= 0:
            raise ValueError("first_retry_interval_in_milliseconds must be greater than 0")
        if max_number_of_attempts < 1:
            raise ValueError("max_number_of_attempts must be at least 1")
        self.first_retry_interval_in_milliseconds = first_retry_interval_in_milliseconds
        self.max_number_of_attempts = max_number_of_attempts


class ActivityFailedError(Exception):
    """Thrown into the orchestrator at the yield of an activity that failed (after its retries)."""

    def __init__(self, activity: str, message: str) -> None:
        super().__init__(f"activity {activity} failed: {message}")
        self.activity = activity
        self.message = message


class Task:
    def __init__(self) -> None:
        self.id: int | None = None  # sequence number, given when first yielded (as Durable does)
        self.state = TaskState.RUNNING
        self.result: Any = None
        # The compound task currently waiting on this one; a later task_any/task_all takes it over.
        self.parent: CompoundTask | None = None

    @property
    def is_completed(self) -> bool:
        return self.state is not TaskState.RUNNING

    @property
    def is_faulted(self) -> bool:
        return self.state is TaskState.FAILED

    def leaves(self) -> list[Task]:
        return [self]

    def _resolve(self, value: Any, *, failed: bool = False) -> None:
        if self.is_completed:
            return
        self.state = TaskState.FAILED if failed else TaskState.SUCCEEDED
        self.result = value
        if self.parent is not None:
            self.parent._child_completed(self)


class ActivityTask(Task):
    def __init__(self, name: str, input_: Any, retry: RetryOptions | None = None) -> None:
        super().__init__()
        self.name = name
        self.input = input_
        self.retry = retry


class TimerTask(Task):
    def __init__(self, fire_at: datetime) -> None:
        super().__init__()
        self.fire_at = fire_at
        self.is_cancelled = False

    def cancel(self) -> None:
        """Stop waiting on this timer (Durable raises on a completed timer; so do we)."""
        if self.is_completed:
            raise ValueError("Cannot cancel a completed task.")
        self.is_cancelled = True


class ExternalEventTask(Task):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    @property
    def is_abandoned(self) -> bool:
        """A waiter whose task_any already finished without it can no longer be observed at a yield."""
        return self.parent is not None and self.parent.is_completed


class CompoundTask(Task):
    def __init__(self, children: list[Task]) -> None:
        super().__init__()
        self.children = list(children)
        for child in self.children:
            child.parent = self

    def leaves(self) -> list[Task]:
        return [leaf for child in self.children for leaf in child.leaves()]

    def _settle_initial(self) -> None:
        """Children may have completed before this task was made (like Durable's constructor)."""
        if not self.children:
            self._resolve([] if isinstance(self, WhenAllTask) else None)
        for child in self.children:
            if child.is_completed:
                self._child_completed(child)

    def _child_completed(self, child: Task) -> None:
        raise NotImplementedError


class WhenAnyTask(CompoundTask):
    """Resolves with the first child to complete (the task itself, as Durable's task_any does)."""

    def __init__(self, children: list[Task]) -> None:
        super().__init__(children)
        self._settle_initial()

    def _child_completed(self, child: Task) -> None:
        self._resolve(child)


class WhenAllTask(CompoundTask):
    """Resolves with the list of results once all succeed; fails with the first failure."""

    def __init__(self, children: list[Task]) -> None:
        super().__init__(children)
        self._settle_initial()

    def _child_completed(self, child: Task) -> None:
        if child.is_faulted:
            self._resolve(child.result, failed=True)
        elif all(task.is_completed for task in self.children):
            self._resolve([task.result for task in self.children])
