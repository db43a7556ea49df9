from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from invoice_factory import RecordingOrchestration, make_services

from shared.services import Services, set_services


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = make_services(tmp_path / "papyr")
    set_services(built)
    yield built
    set_services(None)


@pytest.fixture
def orchestration() -> RecordingOrchestration:
    return RecordingOrchestration()
