"""Checks on the request line itself, before anything else looks at the request.

NUL is a value no field holds, and a lookup by it would fail inside PostgreSQL: a path
holding one names nothing (404), and a query string is read without them, as any
impossible filter value is ignored.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from exchange.web.errors import error_response


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:
            await error_response(Request(scope, receive), 404)(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            scope = {**scope, "query_string": query.replace(b"%00", b"").replace(b"\x00", b"")}
        await self.app(scope, receive, send)
