"""The embedded host: the core's services, the embedded orchestration engine running the same
orchestrator and activities as the Function App, and an OrchestrationClient over it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrators.invoice import ORCHESTRATOR_NAME, invoice_orchestrator
from orchestrators.mailbox_renewal import ORCHESTRATOR_NAME as RENEWAL_NAME
from orchestrators.mailbox_renewal import mailbox_renewal_orchestrator
from papyr.engine import EmbeddedEngine, EngineClient
from shared.activities import ACTIVITIES
from shared.services import Services, set_services
from shared.settings import Settings, get_settings


@dataclass
class LocalHost:
    services: Services
    engine: EmbeddedEngine
    client: EngineClient

    @property
    def settings(self) -> Settings:
        return self.services.settings


def build_local_host(data_dir: Path | None = None, *, workers: int = 2) -> LocalHost:
    settings = get_settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    services = Services.from_settings(settings)
    set_services(services)
    engine = EmbeddedEngine(
        settings.data_dir / "orchestration.sqlite3",
        orchestrators={ORCHESTRATOR_NAME: invoice_orchestrator, RENEWAL_NAME: mailbox_renewal_orchestrator},
        activities=ACTIVITIES,
        workers=workers,
    )
    return LocalHost(services=services, engine=engine, client=EngineClient(engine))
