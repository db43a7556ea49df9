"""The one HTTP client, the msgraph-sdk client on top of it, and the private event loop that runs both.

msgraph-sdk is async; the connector protocol is synchronous and may be called from a thread that is
already inside an event loop (the local server). So all Graph I/O runs on a private loop in a daemon
thread and callers block on ``run``. kiota's own RetryHandler is left out of the middleware: retries
(and their waits) belong to the connector, which honours Retry-After with an injectable ``sleep``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.credentials_async import AsyncTokenCredential
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import RetryHandler
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory

T = TypeVar("T")
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TokenSource = TokenCredential | AsyncTokenCredential | Callable[[], str]


class StaticTokenCredential:
    """A TokenCredential over a callable that returns a bearer token (delegated tokens refreshed elsewhere)."""

    def __init__(self, token_provider: Callable[[], str], *, lifetime_s: int = 300) -> None:
        self._token_provider = token_provider
        self._lifetime_s = lifetime_s

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token_provider(), int(time.time()) + self._lifetime_s)


def as_credential(source: TokenSource) -> TokenCredential | AsyncTokenCredential:
    if hasattr(source, "get_token"):
        return source
    if callable(source):
        return StaticTokenCredential(source)
    raise TypeError("expected an azure-identity credential or a callable returning a bearer token")


class LoopThread:
    """A private asyncio loop in a daemon thread; ``run`` blocks the caller until the coroutine ends."""

    def __init__(self, name: str = "papyr-graph") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._loop.is_running():
            self._loop.close()


class GraphRuntime:
    """httpx.AsyncClient (injectable transport) → kiota middleware → GraphServiceClient, on one loop."""

    def __init__(
        self,
        source: TokenSource,
        *,
        transport: httpx.AsyncBaseTransport | None,
        base_url: str,
        timeout_s: float = 60.0,
    ) -> None:
        self.loop = LoopThread()
        self.base_url = base_url.rstrip("/")
        self.auth = AzureIdentityAuthenticationProvider(as_credential(source), scopes=[GRAPH_SCOPE])
        self.http = self.loop.run(self._make_http_client(transport, timeout_s))
        adapter = GraphRequestAdapter(self.auth, client=self.http)
        adapter.base_url = self.base_url  # httpx appends "/" to its base_url; kiota's templates add their own
        self.graph = GraphServiceClient(request_adapter=adapter)

    async def _make_http_client(
        self, transport: httpx.AsyncBaseTransport | None, timeout_s: float
    ) -> httpx.AsyncClient:
        # Built on the loop thread so the client's connection pool belongs to that loop.
        client = httpx.AsyncClient(
            transport=transport, base_url=self.base_url, timeout=httpx.Timeout(timeout_s), follow_redirects=True
        )
        middleware = [m for m in KiotaClientFactory.get_default_middleware(None) if not isinstance(m, RetryHandler)]
        wrapped: httpx.AsyncClient = GraphClientFactory.create_with_custom_middleware(middleware, client=client)
        return wrapped

    async def bearer(self, url: str) -> str:
        token = await self.auth.access_token_provider.get_authorization_token(url)
        return f"Bearer {token}"

    def close(self) -> None:
        try:
            self.loop.run(self.http.aclose())
        finally:
            self.loop.close()
