"""CSRF protection for every state-changing request a cookie session can make.

A double-submit token: the browser holds a random token in a cookie, and each form
(field `csrf_token`) or script (header `X-CSRF-Token`) must send it back. Another site
can make the browser send the cookie but cannot read it, so it cannot send the copy.
In production the cookie is `__Host-` prefixed, which stops a sibling subdomain from
planting its own token.

API requests that carry a bearer token are exempt, cookies or not: the API then
authenticates by the token alone (never falling back to the cookie), and a page on
another site cannot attach an Authorization header without a CORS preflight we never
grant. Anywhere else a bearer header changes nothing.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange.i18n import gettext as _
from exchange.web.limits import MAX_UPLOAD_BYTES

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FIELD_NAME = "csrf_token"
HEADER_NAME = "x-csrf-token"


def cookie_name(production: bool) -> str:
    return "__Host-exchange_csrf" if production else "exchange_csrf"


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, production: bool) -> None:
        self.app = app
        self.production = production
        self.cookie = cookie_name(production)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        cookie_token = request.cookies.get(self.cookie, "")
        token = cookie_token if _well_formed(cookie_token) else secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token

        if request.method not in SAFE_METHODS and not _bearer_api_call(request):
            body = await _read_body(receive)
            if body is None:
                await _reject(scope, receive, send, 413, _("The request is too large."))
                return
            sent = await _submitted_token(request, body)
            if not cookie_token or not sent or not hmac.compare_digest(sent, cookie_token):
                await _reject(
                    scope,
                    receive,
                    send,
                    403,
                    _("This form expired or came from another site. Reload the page and retry."),
                )
                return
            receive = _replay(body)

        # A script using a token has no use for the cookie (and may keep cookies it gets).
        wants_cookie = token != cookie_token and not _bearer_api_call(request)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and wants_cookie:
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", self._cookie_header(token))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _cookie_header(self, token: str) -> str:
        parts = [f"{self.cookie}={token}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if self.production:
            parts.append("Secure")
        return "; ".join(parts)


def rotate_token(response: Response, production: bool) -> None:
    """Give the browser a fresh token (at sign-in and sign-out)."""
    response.set_cookie(
        cookie_name(production),
        secrets.token_urlsafe(32),
        httponly=True,
        samesite="lax",
        secure=production,
        path="/",
    )


def _well_formed(token: str) -> bool:
    return 32 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()


def _bearer_api_call(request: Request) -> bool:
    auth = request.headers.get("authorization", "")
    return request.url.path.startswith("/api/") and auth[:7].lower() == "bearer "


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _submitted_token(request: Request, body: bytes) -> str:
    header = request.headers.get(HEADER_NAME, "")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        for name, value in parse_qsl(body.decode("latin-1")):
            if name == FIELD_NAME:
                return value
    elif content_type.startswith("multipart/form-data"):
        form = await Request(request.scope, _replay(body)).form()
        field = form.get(FIELD_NAME)
        await form.close()
        return field if isinstance(field, str) else ""
    return ""


async def _reject(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    from exchange.web.errors import error_response

    code = "csrf_failed" if status == 403 else "too_large"
    response = error_response(Request(scope, receive), status, message, code)
    await response(scope, receive, send)
