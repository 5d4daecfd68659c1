"""Who is asking: the session cookie, the locale, and what each route requires.

Routes declare their need with `@signed_in`, `@staff_only` or `@admin_only`. A visitor
who is not signed in is sent to the sign-in page (HTML) or gets 401 (API); a signed-in
user without the right gets 403.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange import i18n
from exchange.models.accounts import User
from exchange.services import committed_state, permissions, sessions
from exchange.web.access_log import CREDENTIAL_PATHS
from exchange.web.errors import wants_json

Endpoint = Callable[[Request], Awaitable[Response]]


# Pages whose URL carries a secret token; like every page for a signed-in user, they must
# not be kept in a cache (or shown again with the Back button after signing out).
PRIVATE_PATHS = CREDENTIAL_PATHS


def session_cookie_name(production: bool) -> str:
    return "__Host-exchange_session" if production else "exchange_session"


class SessionMiddleware:
    """Loads the signed-in user (if any), picks the locale for this request, and marks
    private answers `Cache-Control: no-store`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        settings = scope["app"].state.settings
        raw = request.cookies.get(session_cookie_name(settings.is_production), "")
        state = scope.setdefault("state", {})
        # Named before anything is read for a signed-in reader, so that what is read may
        # be kept under it (services/committed_state.py).
        committed = await committed_state.read() if raw else None
        state["committed_state"] = committed
        user = await sessions.user_for_session(settings, raw, state=committed) if raw else None
        state["user"] = user
        state["session_id"] = raw if user is not None else ""
        locale = (
            user.locale
            if user
            else i18n.negotiate_locale(request.headers.get("accept-language", ""))
        )
        # Private: anything for a signed-in user, a page whose URL holds a token, and any
        # answer to a request that carries credentials of its own (an API bearer token).
        private = (
            user is not None
            or scope["path"].startswith(PRIVATE_PATHS)
            or "authorization" in request.headers
        )

        async def send_uncached(message: Message) -> None:
            if private and message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        with i18n.use_locale(locale):
            await self.app(scope, receive, send_uncached)


def current_user(request: Request) -> User | None:
    user: User | None = request.scope.get("state", {}).get("user")
    return user


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise HTTPException(401)
    return user


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        session_cookie_name(settings.is_production),
        session_id,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(session_cookie_name(request.app.state.settings.is_production), path="/")


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a local path may follow sign-in: never another host (no open redirect)."""
    if not target:
        return default
    try:
        parts = urlsplit(target)
    except ValueError:  # "//[", say: nothing to follow
        return default
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    return target


def _sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _requires(predicate: Callable[[User | None], bool]) -> Callable[[Endpoint], Endpoint]:
    def decorator(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            user = current_user(request)
            if user is None:
                if wants_json(request):
                    raise HTTPException(401)
                return _sign_in_redirect(request)
            if not predicate(user):
                raise HTTPException(403)
            return await endpoint(request)

        return wrapper

    return decorator


signed_in = _requires(permissions.is_signed_in)
staff_only = _requires(permissions.is_staff)
admin_only = _requires(permissions.is_admin)
