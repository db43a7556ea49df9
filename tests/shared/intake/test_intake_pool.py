"""Intake in spawned worker processes writes to the same stores as intake in the caller."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shared.intake.pool import IntakePool
from shared.intake.service import Outcome
from shared.services import Services
from shared.settings import Settings


def test_pool_ingests_into_the_configured_data_dir(repo_root: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    raw = (repo_root / "samples" / "mailbox" / "01-pdf-invoice.eml").read_bytes()
    pool = IntakePool(settings, workers=1)
    try:
        first = asyncio.run(pool.ingest(raw, mailbox="ap@example.com", source="imap:1"))
        again = asyncio.run(pool.ingest(raw, mailbox="ap@example.com", source="imap:1"))
    finally:
        pool.close()
    assert first.outcome is Outcome.NEW and len(first.documents) == 1
    assert again.outcome is Outcome.DUPLICATE_MESSAGE
    services = Services.from_settings(settings)  # what the workers wrote is visible to this process
    record = services.repo.get_invoice(first.documents[0].sha256)
    assert record is not None and record.document.filename == "INV_2023_03_0008.pdf"
    assert services.blobs.get(record.document.blob_name)[:5] == b"%PDF-"
