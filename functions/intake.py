"""Documents dropped into the ``incoming`` container: intake, then one orchestration per new document.

Mail connectors (and people, through Storage Explorer or ``az storage blob upload``) write there.
A blob under a folder, ``incoming/<mailbox>/<file>``, is attributed to that mailbox.

No ``from __future__ import annotations``: the Functions worker reads these annotations.
"""

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from functions.durable_client import DurableOrchestrationClientAdapter

log = logging.getLogger(__name__)

INCOMING_CONTAINER = "incoming"
STORAGE_CONNECTION = "AzureWebJobsStorage"

bp = df.Blueprint()


def split_blob_name(blob_name: str) -> tuple[str, str | None]:
    """``incoming/ap@example.com/inv.pdf`` → (``inv.pdf``, ``ap@example.com``); no folder → no mailbox."""
    path = blob_name.removeprefix(f"{INCOMING_CONTAINER}/")
    folder, _, filename = path.rpartition("/")
    mailbox = folder.split("/", 1)[0] or None
    return filename or path, mailbox


async def ingest_blob(data: bytes, blob_name: str, client: DurableOrchestrationClientAdapter) -> list[str]:
    """Store and record the blob's documents, start their orchestrations; returns instance ids."""
    # Intake pulls in the MIME and PDF parsers: imported on first use, not when the app is indexed.
    from shared.intake.service import ingest_file, start_orchestrations
    from shared.services import get_services

    filename, mailbox = split_blob_name(blob_name)
    services = get_services()
    result = await asyncio.to_thread(ingest_file, data, filename, mailbox, services=services)
    log.info("intake of %s: %s %s", blob_name, result.outcome.value, result.detail)
    return await start_orchestrations(result.documents, client, services.settings)


async def ingest_incoming_blob(blob: func.InputStream, client: df.DurableOrchestrationClient) -> None:
    await ingest_blob(blob.read(), blob.name or "", DurableOrchestrationClientAdapter(client))


bp.function_name("ingest_incoming_blob")(
    bp.blob_trigger(arg_name="blob", path=f"{INCOMING_CONTAINER}/{{name}}", connection=STORAGE_CONNECTION)(
        bp.durable_client_input(client_name="client")(ingest_incoming_blob)
    )
)
