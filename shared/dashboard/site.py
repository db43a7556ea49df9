"""The dashboard as framework-neutral handlers: ``DashboardSite.handle(path, request, ctx)`` serves
every page (queue, invoice, sign-in, sign-out, static files) as an ``ApiResponse``.

The local server routes every non-API path to it; the Function App registers one HTTP function,
route ``dashboard/{*path}``, so the same pages are served under ``/api/dashboard/`` there.
Pages check roles with the same helper as the API (``shared.api.access``); without a principal
they redirect to sign-in: the password form locally, App Service's Entra ID login on Azure.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, quote

from shared.api.access import READERS, holds_any
from shared.api.http import ApiContext, ApiRequest, ApiResponse
from shared.auth import Role
from shared.auth.sessions import COOKIE_NAME, SessionManager, cookie_value
from shared.auth.users import UserStore
from shared.dashboard.render import STATIC_DIR, page, redirect
from shared.services import get_services

SignInMode = Literal["password", "entra"]
STATIC_FILES = frozenset({"style.css", "dashboard.js"})
MAX_FORM_BYTES = 16 * 1024


@dataclass(frozen=True)
class PageRequest:
    """What a page handler gets: the request, the path's parameters, the site, and the session's
    CSRF token for its forms and scripts (None on Azure, where there is no session cookie)."""

    request: ApiRequest
    params: dict[str, str]
    site: DashboardSite
    ctx: ApiContext
    csrf_token: str | None


PageHandler = Callable[[PageRequest], Awaitable[ApiResponse]]


@dataclass(frozen=True)
class PageRoute:
    template: str  # "invoices/{invoice_id}": what a host may register the page under
    pattern: re.Pattern[str]
    methods: tuple[str, ...]
    handler: PageHandler
    roles: tuple[Role, ...] | None  # None: open to anyone (sign-in, static files)


@dataclass
class DashboardSite:
    base: str = "/"  # where the pages live: "/" locally, "/api/dashboard/" on the Function App
    sign_in: SignInMode = "password"
    sessions: SessionManager | None = None  # the password mode's cookies
    routes: list[PageRoute] = field(default_factory=list)

    def url(self, path: str = "") -> str:
        return self.base + path.lstrip("/")

    def add(self, pattern: str, methods: tuple[str, ...], handler: PageHandler,
            roles: tuple[Role, ...] | None) -> None:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"
        self.routes.append(PageRoute(pattern, re.compile(regex), methods, handler, roles))

    def csrf_token(self, request: ApiRequest) -> str | None:
        if self.sessions is None:
            return None
        value = cookie_value(request.headers.get("cookie", ""), COOKIE_NAME)
        session = self.sessions.read(value) if value else None
        return session.csrf_token if session else None

    async def handle(self, path: str, request: ApiRequest, ctx: ApiContext) -> ApiResponse:
        path = path.strip("/")
        for route in self.routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            if request.method not in route.methods:
                return ApiResponse.error(405, f"{request.method} is not allowed here")
            if route.roles is not None and not holds_any(request.principal, route.roles):
                if request.principal is None:
                    here = self.url(path) + (("?" + _query_string(request.query)) if request.query else "")
                    return redirect(self.url("signin") + "?next=" + quote(here, safe=""))
                return self.forbidden(request)
            return await route.handler(PageRequest(request, match.groupdict(), self, ctx, self.csrf_token(request)))
        return page("not_found.html", self.context(request, None, what="page", ident="/" + path), status=404)

    def forbidden(self, request: ApiRequest) -> ApiResponse:
        return page("forbidden.html", self.context(request, None), status=403)

    def context(self, request: ApiRequest, csrf_token: str | None, **extra: object) -> dict[str, object]:
        return {"base": self.base, "principal": request.principal, "csrf_token": csrf_token,
                "sign_in": self.sign_in, **extra}


def _query_string(query: dict[str, str]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())


def safe_next(site: DashboardSite, raw: str | None) -> str:
    """Where to go after sign-in: only a path of this dashboard, never another site."""
    target = (raw or "").strip()
    if not target.startswith(site.base) or target.startswith("//") or "\\" in target or "\n" in target:
        return site.base
    return target


def form(request: ApiRequest) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded" or len(request.body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(request.body.decode("utf-8", "replace"), max_num_fields=20)
    return {key: values[0] for key, values in parsed.items()}


# -- sign-in, sign-out, static files -------------------------------------------------------------


async def sign_in_page(req: PageRequest) -> ApiResponse:
    site, request = req.site, req.request
    target = safe_next(site, request.query.get("next"))
    if site.sign_in == "entra":  # App Service authentication signs in with Entra ID and comes back
        return redirect("/.auth/login/aad?post_login_redirect_uri=" + quote(target, safe=""))
    if request.method == "GET":
        if request.principal is not None:
            return redirect(target)
        return page("signin.html", site.context(request, req.csrf_token, next=target, email="", error=None))
    fields = form(request)
    email, password = fields.get("email", "").strip(), fields.get("password", "")
    target = safe_next(site, fields.get("next"))
    user = UserStore(get_services().repo).authenticate(email, password) if email and password else None
    if user is None or site.sessions is None:
        context = site.context(request, None, next=target, email=email, error="Wrong e-mail or password.")
        return page("signin.html", context, status=401)
    cookie = site.sessions.set_cookie_header(site.sessions.issue(user.email))
    return redirect(target, headers={"Set-Cookie": cookie})


async def sign_out(req: PageRequest) -> ApiResponse:
    site = req.site
    if site.sign_in == "entra":
        return redirect("/.auth/logout?post_logout_redirect_uri=" + quote(site.url("signin"), safe=""))
    if site.sessions is None:
        return redirect(site.url("signin"))
    value = cookie_value(req.request.headers.get("cookie", ""), COOKIE_NAME)
    session = site.sessions.read(value) if value else None
    if session is not None:  # the host already checked this POST's CSRF token
        site.sessions.revoke(session)
    return redirect(site.url("signin"), headers={"Set-Cookie": site.sessions.clear_cookie_header()})


async def static_file(req: PageRequest) -> ApiResponse:
    name = req.params["name"]
    if name not in STATIC_FILES:
        return ApiResponse.error(404, "no such file")
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return ApiResponse(status=200, body=(STATIC_DIR / name).read_bytes(), content_type=content_type,
                       headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


def build_site(base: str = "/", sign_in: SignInMode = "password",
               sessions: SessionManager | None = None) -> DashboardSite:
    from shared.dashboard.pages import invoice_page, queue_page

    site = DashboardSite(base=base, sign_in=sign_in, sessions=sessions)
    site.add("", ("GET",), queue_page, READERS)
    site.add("invoices/{invoice_id}", ("GET",), invoice_page, READERS)
    site.add("signin", ("GET", "POST"), sign_in_page, None)
    site.add("signout", ("POST", "GET") if sign_in == "entra" else ("POST",), sign_out, None)
    site.add("static/{name}", ("GET",), static_file, None)
    return site
