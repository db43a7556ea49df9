"""JSON for everything that crosses the orchestration boundary (inputs, results, events, outputs).

Values are stored as JSON and the orchestrator always sees the decoded JSON, on the first run and
on every replay alike, so what it reads cannot differ between the two.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import PurePath
from typing import Any
from uuid import UUID

from pydantic import BaseModel


def _encode_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        return str(value)  # exact: money never passes through a float
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | PurePath):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_encode_default, ensure_ascii=False, separators=(",", ":"))


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def normalize(value: Any) -> Any:
    """The value as the other side of the boundary will see it."""
    return loads(dumps(value))


def timestamp(moment: datetime) -> str:
    """One fixed UTC format, so stored timestamps also compare correctly as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text)
