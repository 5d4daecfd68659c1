"""What every request gets before the app sees it, and what is recorded after.

`TrafficMiddleware`:
- gives the request an id (its `X-Request-ID` header, its error page, its log lines);
- runs its database statements under the request limit (`EXCHANGE_STATEMENT_TIMEOUT_MS`);
  one that runs past it is stopped and the visitor gets a 503 page or JSON error;
- cancels a page load (GET, HEAD) whose client went away, database work included, so
  nobody's abandoned search keeps the database busy; a change someone submitted is
  finished instead (its statements are limited all the same);
- counts it in the metrics and writes one access log line, by route template.

`expensive` caps, per worker, how many requests of one kind (search, matching, export)
run at once: one more is answered 503 with Retry-After at once instead of queueing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Concatenate, ParamSpec

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange import db, logs, metrics
from exchange.services.errors import Unavailable
from exchange.settings import Settings
from exchange.web import errors

log = logging.getLogger("exchange.access")

KINDS = ("search", "matching", "export")
RETRY_AFTER_SECONDS = 5
# The status an access line and the metrics give a request whose client went away.
CLIENT_GONE = 499
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CANCELLABLE = frozenset({"GET", "HEAD"})

P = ParamSpec("P")


class TrafficMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit_ms = settings.statement_timeout_ms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        response = _ResponseWatch(send, request_id)
        started = time.perf_counter()
        cancelled = False
        with (
            logs.request_context(request_id),
            db.statement_limit(self.limit_ms),
            db.clock() as clock,
        ):
            try:
                if scope["method"] in CANCELLABLE and not scope["path"].startswith("/static/"):
                    cancelled = await _cancel_when_gone(self.app, scope, receive, response)
                else:
                    await self.app(scope, receive, response.send)
            except (db.StatementTimeout, Unavailable) as exc:
                # From a middleware's own query (the session, say): routes' are handled
                # by the app's exception handlers.
                if response.started:
                    raise
                refusal = exc if isinstance(exc, Unavailable) else Unavailable("timeout")
                await errors.unavailable_response(Request(scope), refusal)(
                    scope, receive, response.send
                )
            finally:
                elapsed = time.perf_counter() - started
                status = CLIENT_GONE if cancelled else (response.status or 500)
                _record(scope, status, elapsed, clock, cancelled)


class _ResponseWatch:
    """Passes the response on, noting its status and whether it is complete."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self.request_id = request_id
        self.status = 0
        self.started = False
        self.complete = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status, self.started = int(message["status"]), True
            MutableHeaders(scope=message)["X-Request-ID"] = self.request_id
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete = True
        await self._send(message)


async def _cancel_when_gone(
    app: ASGIApp, scope: Scope, receive: Receive, response: _ResponseWatch
) -> bool:
    """Run the app; cancel it (and its statements) if the client disconnects before the
    answer is complete. Returns whether it was cancelled."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()

    async def listen() -> None:
        while True:
            message = await receive()
            inbox.put_nowait(message)
            if message["type"] == "http.disconnect":
                return

    handler = asyncio.ensure_future(app(scope, inbox.get, response.send))
    listener = asyncio.ensure_future(listen())
    try:
        await asyncio.wait({handler, listener}, return_when=asyncio.FIRST_COMPLETED)
        if not handler.done() and not response.complete:
            handler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await handler
            return True
        await handler
        return False
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        if not handler.done():  # we were cancelled ourselves
            handler.cancel()


def _record(
    scope: Scope, status: int, elapsed: float, clock: db.DatabaseClock, cancelled: bool
) -> None:
    method = scope["method"] if scope["method"] in METHODS else "OTHER"
    route = getattr(scope.get("route"), "path", "") or "(no route)"
    metrics.REQUESTS.labels(method, route, str(status)).inc()
    metrics.REQUEST_SECONDS.labels(method, route).observe(elapsed)
    metrics.REQUEST_DB_SECONDS.labels(method, route).observe(clock.seconds)
    if cancelled:
        metrics.REQUESTS_CANCELLED.labels(route).inc()
    client = scope.get("client")
    log.info(
        "%s %s %s %.1f ms (database %.1f ms, %s statements)%s",
        method,
        route,
        status,
        elapsed * 1000,
        clock.seconds * 1000,
        clock.statements,
        ", cancelled: the client went away" if cancelled else "",
        extra={
            "request_id": logs.current_request_id(),
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 1),
            "db_ms": round(clock.seconds * 1000, 1),
            "db_statements": clock.statements,
            "client": client[0] if client else "",
            "cancelled": cancelled,
        },
    )


# ------------------------------------------------------------------ expensive requests


class Limiter:
    """How many requests of one kind this worker runs at once, at most."""

    def __init__(self, kind: str, limit: int) -> None:
        self.kind = kind
        self.limit = limit
        self.active = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one place for the block; raise `Unavailable('busy')` when none is free."""
        if self.active >= self.limit:
            metrics.EXPENSIVE_REJECTED.labels(self.kind).inc()
            raise Unavailable("busy", retry_after=RETRY_AFTER_SECONDS)
        self.active += 1
        metrics.EXPENSIVE_IN_PROGRESS.labels(self.kind).inc()
        try:
            yield
        finally:
            self.active -= 1
            metrics.EXPENSIVE_IN_PROGRESS.labels(self.kind).dec()


def make_limiters(limit: int) -> dict[str, Limiter]:
    return {kind: Limiter(kind, limit) for kind in KINDS}


def expensive(
    kind: str,
) -> Callable[
    [Callable[Concatenate[Request, P], Awaitable[Response]]],
    Callable[Concatenate[Request, P], Awaitable[Response]],
]:
    """Mark a route (or an API handler) as expensive: at most the worker's limit of its
    kind run at once; one more gets 503 with Retry-After (page or JSON, translated)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of expensive request: {kind}")

    def decorator(
        endpoint: Callable[Concatenate[Request, P], Awaitable[Response]],
    ) -> Callable[Concatenate[Request, P], Awaitable[Response]]:
        @functools.wraps(endpoint)
        async def limited(request: Request, /, *args: P.args, **kwargs: P.kwargs) -> Response:
            limiter: Limiter = request.app.state.limiters[kind]
            with limiter.slot():
                return await endpoint(request, *args, **kwargs)

        return limited

    return decorator
