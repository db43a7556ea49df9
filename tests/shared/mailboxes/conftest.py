"""Fixtures shared by the mailbox service tests: a real local host and the fake provider's clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mailbox_fakes import ManualClock

from papyr.host import LocalHost, build_local_host
from shared.services import set_services


@pytest.fixture
def host(tmp_path: Path) -> Iterator[LocalHost]:
    local = build_local_host(tmp_path / "papyr")
    yield local
    local.engine.close()
    set_services(None)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
