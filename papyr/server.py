"""The local host's HTTP server: every route of ``shared.api.routes.ROUTES`` under ``/api/`` (the
same handlers the Function App serves) plus the review dashboard at ``/`` (``shared.dashboard``).
Callers sign in with a local user; the signed session cookie becomes ``ApiRequest.principal``.

``serve`` runs the embedded engine's workers on a background thread started and stopped inside
the server's lifespan (plus optional hooks), so the engine lives exactly as long as the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.routing import Route as StarletteRoute

from shared.api.access import call_route
from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.api.http import Route as ApiRoute
from shared.api.routes import ROUTES
from shared.auth.sessions import SessionManager, derive_session_key
from shared.dashboard import DashboardSite, build_site
from shared.mailboxes.secrets import master_key
from shared.ports import OrchestrationClient
from shared.services import Services, set_services

if TYPE_CHECKING:
    from papyr.host import LocalHost

log = logging.getLogger(__name__)

Hook = Callable[[], Any]
# Request bodies beyond the document limit are refused while streaming, before they fill memory.
BODY_SLACK = 64 * 1024
DASHBOARD_BODY_LIMIT = 64 * 1024  # sign-in and sign-out forms


class BackgroundEngine(Protocol):
    def run_forever(self, stop: threading.Event) -> None: ...


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def to_starlette(response: ApiResponse) -> Response:
    return Response(content=response.body, status_code=response.status,
                    media_type=response.content_type, headers=response.headers)


async def to_api_request(request: Request, sessions: SessionManager, body_limit: int) -> ApiRequest | ApiResponse:
    """The framework-neutral request with its caller: the dashboard session, if any. An unsafe
    request whose session cookie comes without the session's CSRF token is refused here."""
    try:
        body = await read_body(request, body_limit)
    except BodyTooLarge:
        return ApiResponse.error(413, f"request body exceeds {body_limit} bytes")
    headers = {key.lower(): value for key, value in request.headers.items()}
    checked = sessions.check(request.method, headers, body)
    if checked.csrf_failed:
        return ApiResponse.error(403, "missing or wrong CSRF token for this session; reload the page")
    return ApiRequest(
        method=request.method,
        path_params={key: str(value) for key, value in request.path_params.items()},
        query=dict(request.query_params),
        headers=headers,
        body=body,
        principal=checked.session.principal if checked.session else None,
    )


def api_endpoint(route: ApiRoute, context: ApiContext, sessions: SessionManager,
                 body_limit: int) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        api_request = await to_api_request(request, sessions, body_limit)
        if isinstance(api_request, ApiResponse):
            return to_starlette(api_request)
        try:
            response = await call_route(route, api_request, context)
        except Exception:  # a bug or an outage, never the client's fault: log it, answer 500
            log.exception("handler %s failed", route.name)
            return JSONResponse({"error": "internal error; see the server log"}, status_code=500)
        return to_starlette(response)

    endpoint.__name__ = f"api_{route.name}"
    return endpoint


def api_routes(context: ApiContext, sessions: SessionManager, body_limit: int) -> list[BaseRoute]:
    return [
        StarletteRoute(f"/api/{route.path}", api_endpoint(route, context, sessions, body_limit),
                       methods=list(route.methods), name=f"api:{route.name}")
        for route in ROUTES
    ]


def dashboard_routes(site: DashboardSite, context: ApiContext, sessions: SessionManager) -> list[BaseRoute]:
    """One Starlette route per dashboard page, all handed to the site's own dispatcher (the same
    one the Function App calls), so pages and their role checks exist once."""

    async def endpoint(request: Request) -> Response:
        api_request = await to_api_request(request, sessions, DASHBOARD_BODY_LIMIT)
        if isinstance(api_request, ApiResponse):
            return to_starlette(api_request)
        try:
            response = await site.handle(request.url.path.removeprefix(site.base), api_request, context)
        except Exception:
            log.exception("dashboard page %s failed", request.url.path)
            return JSONResponse({"error": "internal error; see the server log"}, status_code=500)
        return to_starlette(response)

    return [StarletteRoute(site.url(page.template), endpoint, methods=list(page.methods),
                           name=f"dashboard:{page.template or 'queue'}") for page in site.routes]


def session_manager(services: Services) -> SessionManager:
    settings = services.settings
    return SessionManager(derive_session_key(master_key(settings)), services.repo,
                          secure=settings.public_base_url.startswith("https://"))


def create_app(
    services: Services,
    orchestration: OrchestrationClient,
    *,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
) -> Starlette:
    """The ASGI app. Installs ``services`` as the process's services: the shared handlers read
    storage through ``get_services()``, as they do on Azure."""
    set_services(services)
    context = ApiContext(orchestration=orchestration)
    body_limit = services.settings.max_document_bytes + BODY_SLACK
    sessions = session_manager(services)
    site = build_site("/", "password", sessions)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if on_startup is not None:
            on_startup()
        try:
            yield
        finally:
            if on_shutdown is not None:
                on_shutdown()

    routes: list[BaseRoute] = [*api_routes(context, sessions, body_limit), *dashboard_routes(site, context, sessions)]
    return Starlette(routes=routes, lifespan=lifespan)


def build_server(app: Starlette, host: str = "127.0.0.1", port: int = 7071,
                 log_level: str = "info") -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on"))


class EngineRunner:
    """Runs an engine's ``run_forever(stop)`` loop on a daemon thread for the server's lifetime."""

    def __init__(self, engine: BackgroundEngine) -> None:
        self._engine = engine
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._engine.run_forever, args=(self._stop,),
                                        name="papyr-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None


class MailboxWorker:
    """The mailbox drain and safety-net reconcile loop (``shared.mailboxes.service.run_forever``)."""

    def __init__(self, local: LocalHost) -> None:
        self._local = local

    def run_forever(self, stop: threading.Event) -> None:
        from shared.intake.pool import IntakePool
        from shared.mailboxes.connectors import build_connectors, push_subscribers
        from shared.mailboxes.imap_watch import start_imap_watchers
        from shared.mailboxes.models import Provider
        from shared.mailboxes.service import get_mailbox_service, run_forever

        service = get_mailbox_service(self._local.services)
        service.intake_pool = IntakePool(self._local.settings)  # MIME parsing off the serving process's GIL
        connectors = build_connectors(service.registry)
        # IMAP mailboxes registered before start-up are watched (IDLE / poll); one added while
        # serving is picked up by the safety-net reconcile, and watched from the next start.
        start_imap_watchers(service.registry.list(), connectors[Provider.IMAP].connector_for,
                            service.request_reconcile, stop)
        try:
            run_forever(service, connectors, self._local.client, stop, subscribers=push_subscribers(connectors))
        finally:
            service.intake_pool.close()
            service.intake_pool = None


def build_local_server(
    local: LocalHost,
    host: str = "127.0.0.1",
    port: int = 7071,
    *,
    run_engine: bool = True,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
    log_level: str = "info",
) -> uvicorn.Server:
    """The local host's server, not yet running. With ``run_engine`` the engine's workers run on a
    background thread that starts and stops with the server."""
    runner = EngineRunner(local.engine) if run_engine else None
    mailbox_worker = EngineRunner(MailboxWorker(local)) if run_engine else None  # issue 4: drain + safety net

    def started() -> None:
        if runner is not None:
            runner.start()
        if mailbox_worker is not None:
            mailbox_worker.start()
        if on_startup is not None:
            on_startup()

    def stopping() -> None:
        if on_shutdown is not None:
            on_shutdown()
        if mailbox_worker is not None:
            mailbox_worker.stop()
        if runner is not None:
            runner.stop()

    app = create_app(local.services, local.client, on_startup=started, on_shutdown=stopping)
    return build_server(app, host, port, log_level)


def serve(
    local: LocalHost,
    host: str = "127.0.0.1",
    port: int = 7071,
    *,
    run_engine: bool = True,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
    log_level: str = "info",
) -> None:
    """Serve the local host until interrupted (Ctrl-C / SIGTERM)."""
    build_local_server(local, host, port, run_engine=run_engine, on_startup=on_startup,
                       on_shutdown=on_shutdown, log_level=log_level).run()
