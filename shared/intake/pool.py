"""Intake in worker processes: parsing MIME is CPU-bound Python, and in the process that also serves
HTTP and runs the drain it would hold the GIL against both. Workers are spawned (no fork of a
threaded process holding SQLite connections) and build their own services from the settings."""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from shared.intake.service import IngestResult, ingest_message
from shared.services import Services, set_services
from shared.settings import Settings
from shared.telemetry import configure_telemetry, pending_traces

_worker_services: Services | None = None


def _init_worker(settings: Settings) -> None:
    global _worker_services
    configure_telemetry()  # a spawned interpreter: the exporters the environment names, like the parent's
    _worker_services = Services.from_settings(settings)
    set_services(_worker_services)


def _ingest(raw: bytes, mailbox: str | None, source: str) -> IngestResult:
    return ingest_message(raw, mailbox=mailbox, source=source, services=_worker_services)


class IntakePool:
    """``ingest_message`` on ``workers`` processes; the results come back as IngestResult."""

    def __init__(self, settings: Settings, workers: int = 2) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(settings,)
        )

    async def ingest(self, raw: bytes, *, mailbox: str | None, source: str) -> IngestResult:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, _ingest, raw, mailbox, source)
        # The worker's intake spans opened the documents' traces; this process starts the orchestrations.
        for invoice_id, carrier in result.traces.items():
            pending_traces.remember(invoice_id, carrier)
        return result

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
