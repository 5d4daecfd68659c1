"""Request body limits, enforced while the body streams in, for every request.

A declared `Content-Length` over the limit is refused before anything is read. A body
sent without one (chunked) is counted as it arrives, and the request is refused with 413
as soon as it passes the limit, so no one can make the server read, or hold in memory,
more than the limit allows. The API and forms take at most 1 MB; the catalogue upload
keeps its own, larger limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange.web.errors import error_response

MAX_BODY_BYTES = 1024 * 1024
# Paths that take more: the staff catalogue upload.
LARGER_BODIES = {"/import": 32 * 1024 * 1024}
MAX_UPLOAD_BYTES = max(LARGER_BODIES.values())


def body_limit(path: str) -> int:
    return LARGER_BODIES.get(path, MAX_BODY_BYTES)


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the body passes the limit; routes answer it as a 413."""

    def __init__(self) -> None:
        super().__init__(413)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = _declared_length(scope)
        if declared is None:
            await _refuse(scope, receive, send, 400)
            return
        if declared > limit:
            await _refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            # Raised where no route could answer it (a middleware was reading the body).
            if started:
                raise
            await _refuse(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length as a number (0 when absent); None when it is not one."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) <= 18 else None
    return 0


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int = 413) -> None:
    response = error_response(Request(scope, receive), status)
    # The unread body stays on the connection: it cannot carry another request.
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
