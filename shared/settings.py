"""Settings, read once from the environment (``PAPYR_*``) or a local settings file.

Orchestrators never read settings (they must be deterministic): the starter puts what they need
in the orchestration input.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPYR_", env_file=None, extra="ignore")

    backend: Literal["local", "azure"] = "local"
    data_dir: Path = Path(".papyr")

    # Routing policy (a later issue makes it a file users edit).
    auto_approve_below: Decimal = Decimal("1000")
    second_approver_above: Decimal = Decimal("10000")
    approvers: list[str] = Field(default_factory=lambda: ["ap.clerk@example.com", "cfo@example.com"])
    remind_after_hours: float = 24.0
    escalate_after_hours: float = 72.0
    expire_after_hours: float = 24.0 * 14

    # Bounds per document: nothing hostile may hang or exhaust a worker.
    max_document_bytes: int = 50 * 1024 * 1024
    max_pages: int = 50
    max_ocr_pages: int = 10
    parse_timeout_s: float = 60.0
    parse_memory_mb: int = 1536

    # Azure (used only when backend == "azure").
    storage_connection_string: str | None = None
    documents_container: str = "papyr"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "papyr.sqlite3"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
