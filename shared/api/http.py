"""Framework-neutral HTTP types: the Function App and the local server both translate their own
request objects into these and call the same handlers (``shared.api.routes.ROUTES``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from shared.auth import Principal, Role
from shared.ports import OrchestrationClient


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-case
    body: bytes = b""
    # Set by the host when the caller authenticated (session, Entra ID); None for anonymous calls.
    principal: Principal | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class ApiResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, payload: Any, status: int = 200) -> ApiResponse:
        return cls(status=status, body=json.dumps(payload, default=str).encode())

    @classmethod
    def error(cls, status: int, message: str) -> ApiResponse:
        return cls.of_json({"error": message}, status=status)


@dataclass(frozen=True)
class ApiContext:
    """What a handler may use besides the request: the orchestration client of its host.
    Storage comes from ``shared.services.get_services()`` (same on both hosts)."""

    orchestration: OrchestrationClient


Handler = Callable[[ApiRequest, ApiContext], Awaitable[ApiResponse]]


@dataclass(frozen=True)
class Route:
    """One HTTP route. ``path`` uses the Azure Functions route syntax without the ``api/`` prefix,
    e.g. ``invoices/{invoice_id}``; both hosts serve it under ``/api/``.

    Every route says who may call it, exactly one of: ``roles`` (a signed-in caller holding any of
    them; admin holds all), ``anonymous`` (health, and webhooks that verify their own signatures),
    or ``own_auth`` (the handler authenticates the caller itself, e.g. the approval callback with
    its action tokens; it still receives the principal when there is one).
    ``shared.api.access.call_route`` enforces this for both hosts."""

    name: str
    methods: tuple[str, ...]
    path: str
    handler: Handler
    roles: tuple[Role, ...] = ()
    anonymous: bool = False
    own_auth: bool = False

    def __post_init__(self) -> None:
        declared = [bool(self.roles), self.anonymous, self.own_auth]
        if declared.count(True) != 1:
            raise ValueError(f"route {self.name!r} must declare exactly one of roles, anonymous, own_auth")
