"""Document upload: raw bytes in, one orchestration per new document out."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath, PureWindowsPath

from orchestrators.invoice import instance_id_for
from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.documents.content import DocumentRejected
from shared.domain import AuditEntry
from shared.services import get_services

MAX_FILENAME = 255


def clean_filename(raw: str | None) -> str | None:
    """The last path component only: an upload's name is a label, never a path to write to."""
    if not raw:
        return None
    name = PureWindowsPath(PurePosixPath(raw.strip()).name).name.strip()
    if not name or name in {".", ".."} or any(ord(ch) < 32 for ch in name):
        return None
    if len(name) > MAX_FILENAME:  # shorten the stem, keep the extension intake sniffs by
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: MAX_FILENAME - len(suffix)] + suffix
    return name


async def upload_document(request: ApiRequest, ctx: ApiContext) -> ApiResponse:
    filename = clean_filename(request.query.get("filename"))
    if filename is None:
        return ApiResponse.error(400, "query parameter 'filename' is required (e.g. ?filename=invoice.pdf)")
    if not request.body:
        return ApiResponse.error(400, "the request body is empty: send the file's bytes")
    limit = get_services().settings.max_document_bytes
    if len(request.body) > limit:
        return ApiResponse.error(413, f"file is {len(request.body)} bytes; the limit is {limit}")

    # Intake pulls in the MIME and PDF parsers; imported here so the route table loads light.
    from shared.intake.service import Outcome, ingest_file, start_orchestrations

    services = get_services()
    try:
        # Parsing and blob writes block; keep them off the event loop.
        result = await asyncio.to_thread(ingest_file, request.body, filename, None, services=services)
    except DocumentRejected as error:
        return ApiResponse.error(400, f"rejected: {error.reason}")
    except ValueError as error:
        return ApiResponse.error(400, f"cannot read {filename!r}: {error}")
    if request.principal is not None:  # who brought it in: the four-eyes rule keeps them from approving it
        for ref in result.documents:
            services.repo.append_audit(ref.sha256, AuditEntry(actor=request.principal.id, action="uploaded",
                                                              detail={"filename": ref.filename}))
    await start_orchestrations(result.documents, ctx.orchestration, services.settings)
    documents = [
        {"id": ref.sha256, "filename": ref.filename, "content_type": ref.content_type,
         "size": ref.size, "instance_id": instance_id_for(ref.sha256)}
        for ref in result.documents
    ]
    payload = {
        "outcome": result.outcome.value,
        "detail": result.detail,
        "documents": documents,
        "duplicates": result.duplicates,
        "skipped": result.skipped,
    }
    # 202: orchestrations were started; 200: nothing new to process (a duplicate, a mail with no
    # invoice carrier) — recorded all the same, with the reason in ``outcome``/``detail``.
    return ApiResponse.of_json(payload, status=202 if result.outcome == Outcome.NEW else 200)
