"""Checks on the request line and headers, before anything else looks at the request.

- The Host header must name this site: the host of EXCHANGE_BASE_URL, one listed in
  EXCHANGE_ALLOWED_HOSTS, or loopback in development. Any other is a 400, so nothing
  built from a request's URL can point elsewhere.
- Every redirect is relative: an absolute Location naming one of our own hosts (as
  Starlette's trailing-slash redirect builds from the Host header) is cut to its path.
  Links in email are built from the configured base URL (`UnitOfWork.absolute`).
- NUL is a value no field holds, and a lookup by it would fail inside PostgreSQL: a path
  holding one names nothing (404), and a query string is read without them, as any
  impossible filter value is ignored.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange.settings import Settings, host_name
from exchange.web.errors import error_response


def request_host(scope: Scope) -> str | None:
    """The host name the request's Host header names (without its port), if well-formed."""
    raw = next((value for name, value in scope["headers"] if name == b"host"), None)
    if raw is None:
        return None
    text = raw.decode("latin-1")
    if text.startswith("["):
        host, _, port = text[1:].partition("]")
        port = port.removeprefix(":")
    else:
        host, _, port = text.partition(":")
    if port and not port.isdigit():
        return None
    return host_name(host)


def relative_location(location: str, own_hosts: frozenset[str]) -> str:
    parts = urlsplit(location)
    if not parts.netloc or (parts.hostname or "") not in own_hosts:
        return location
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hosts = settings.trusted_hosts()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if request_host(scope) not in self.hosts:
            await error_response(Request(scope, receive), 400)(scope, receive, send)
            return
        if "\x00" in scope["path"]:
            await error_response(Request(scope, receive), 404)(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            scope = {**scope, "query_string": query.replace(b"%00", b"").replace(b"\x00", b"")}

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = MutableHeaders(scope=message)
                if "location" in headers:
                    headers["location"] = relative_location(headers["location"], self.hosts)
            await send(message)

        await self.app(scope, receive, send_relative)
