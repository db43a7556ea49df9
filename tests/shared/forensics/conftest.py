"""A repository and settings of their own for each tampering test."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.adapters.local.sqlite import SqliteRepository
from shared.settings import Settings


@pytest.fixture
def repo(tmp_path: Path) -> SqliteRepository:
    return SqliteRepository(tmp_path / "papyr.sqlite3")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, parse_timeout_s=60)
