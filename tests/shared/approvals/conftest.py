from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.services import Services, set_services
from tests.shared.api import invoice_factory as factory


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built: Services = factory.make_services(tmp_path / "papyr")
    set_services(built)
    yield built
    set_services(None)
