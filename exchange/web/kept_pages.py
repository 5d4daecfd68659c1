"""Rendered pages kept in a worker, filed under a generation, served with the reader's token.

The one thing personal to a reader in a kept page is the CSRF token in the layout: a kept
page holds a placeholder in its place, replaced by the reader's own token on the way out.
Requests bringing a message to show (a flash cookie) and any answer but a 200 page are
never kept. Who may share a page, and what its generation is made of, is for the caller
to say (`visitor_pages`, `member_pages`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from exchange.web.rendering import FLASH_COOKIE

Endpoint = Callable[[Request], Awaitable[Response]]

# Stands for the reader's token in a kept page; random per process, so no page text can
# contain it by chance.
PLACEHOLDER = "csrf-" + secrets.token_urlsafe(24)
_PLACEHOLDER_BYTES = PLACEHOLDER.encode()


def may_keep(request: Request) -> bool:
    """Whether the request asks for a page that could be kept (a GET with no flash)."""
    return request.method == "GET" and FLASH_COOKIE not in request.cookies


class KeptPages:
    """Pages under one generation at a time, at most `max_bytes` of them, the least
    recently read going first; a crawler walking every address cannot make them grow."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._generation: Hashable = None
        # Pages being rendered, for the requests that arrive for them meanwhile.
        self._rendering: dict[Hashable, asyncio.Future[bytes | None]] = {}

    async def serve(
        self, endpoint: Endpoint, request: Request, key: Hashable, generation: Hashable
    ) -> Response:
        """The page kept under `key` for `generation`, or the endpoint's, kept if it may be.

        A newer generation drops every page kept before it."""
        if generation != self._generation:
            self.forget()
            self._generation = generation
        body = self._pages.get(key)
        if body is not None:
            self._pages.move_to_end(key)
        else:
            rendering = self._rendering.get(key)
            if rendering is not None:
                # Shielded: one waiter going away does not cancel the render the others
                # wait for. None: that render was not a page to keep; render our own.
                body = await asyncio.shield(rendering)
            if body is None:
                rendered = await self._render(endpoint, request, key, generation)
                if isinstance(rendered, Response):
                    return rendered
                body = rendered
        token: str = request.scope.get("state", {}).get("csrf_token", "")
        return HTMLResponse(body.replace(_PLACEHOLDER_BYTES, token.encode()))

    async def _render(
        self, endpoint: Endpoint, request: Request, key: Hashable, generation: Hashable
    ) -> bytes | Response:
        """The page's body with the placeholder for the token, kept; or, when it is not a
        page to keep, the endpoint's own response.

        Requests for the same page arriving meanwhile wait for this render rather than
        render it again: when the generation moves, every page is dropped at once, and
        under load dozens of requests for a page would otherwise all find it missing.
        """
        state = request.scope.setdefault("state", {})
        token = state.get("csrf_token", "")
        done: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        first = self._rendering.setdefault(key, done) is done
        body: bytes | None = None
        try:
            state["csrf_token"] = PLACEHOLDER
            try:
                response = await endpoint(request)
            finally:
                state["csrf_token"] = token
            if response.status_code != 200 or not isinstance(response, HTMLResponse):
                return response
            body = bytes(response.body)
            # Not if the data moved on while this page was being rendered.
            if self._generation == generation:
                self._keep(key, body)
            return body
        finally:
            done.set_result(body)
            if first:
                del self._rendering[key]

    def _keep(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes // 8:
            return
        previous = self._pages.pop(key, None)
        if previous is not None:
            self._size -= len(previous)
        self._pages[key] = body
        self._size += len(body)
        while self._size > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._size -= len(dropped)

    def forget(self) -> None:
        """Drop every kept page and the generation they were kept for."""
        self._pages.clear()
        self._size = 0
        self._generation = None
