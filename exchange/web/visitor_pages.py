"""Library pages every visitor who is not signed in sees alike, rendered once and kept.

A visitor's front page, directory, city, practice, challenge or brief page, or library
search, depends only on the catalogue, on capacity and peer history, on the briefs, on
the language, on the address and (for a city's local time) on the minute. Rendering it
again for every visitor costs tens of times what serving it does, so each worker keeps
the rendered page under all of those (`visitor_stamp` names the data's state) and serves
it until one of them moves.

The one thing personal to a visitor in such a page is the CSRF token in the layout: a
kept page holds a placeholder in its place, replaced by the visitor's own token on the
way out. Signed-in readers, requests bringing a message to show (a flash cookie) and any
answer but a 200 page are never kept.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import wraps

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from exchange import i18n
from exchange.services import visitor_stamp
from exchange.web.rendering import FLASH_COOKIE

Endpoint = Callable[[Request], Awaitable[Response]]

# What one worker keeps at most: pages are 10-40 KB, so this holds the pages visitors
# read most, and a crawler walking every address cannot make the worker grow.
MAX_BYTES = 8 * 1024 * 1024

# Stands for the visitor's token in a kept page; random per process, so no page text
# can contain it by chance.
PLACEHOLDER = "csrf-" + secrets.token_urlsafe(24)
_PLACEHOLDER_BYTES = PLACEHOLDER.encode()

_Key = tuple[str, str, str]
_Generation = tuple[visitor_stamp.Stamp, int]
_pages: OrderedDict[_Key, bytes] = OrderedDict()
_size = [0]
# The data's state and the minute the kept pages were rendered under; when either moves,
# they all go.
_generation: list[_Generation | None] = [None]
# Pages being rendered, for the requests that arrive for them meanwhile.
_rendering: dict[_Key, asyncio.Future[bytes | None]] = {}


def kept_for_visitors(endpoint: Endpoint) -> Endpoint:
    """Serve the endpoint's page to visitors from the worker's kept copy when there is one."""

    @wraps(endpoint)
    async def serve(request: Request) -> Response:
        state = request.scope.get("state", {})
        if (
            request.method != "GET"
            or state.get("user") is not None
            or FLASH_COOKIE in request.cookies
        ):
            return await endpoint(request)
        generation = (await visitor_stamp.current(), int(time.time() // 60))
        if generation != _generation[0]:
            _drop_pages()
            _generation[0] = generation
        key = (request.url.path, request.url.query, i18n.current_locale())
        body = _pages.get(key)
        if body is not None:
            _pages.move_to_end(key)
        else:
            rendering = _rendering.get(key)
            if rendering is not None:
                # Shielded: one waiter going away does not cancel the render the others
                # wait for. None: that render was not a page to keep; render our own.
                body = await asyncio.shield(rendering)
            if body is None:
                rendered = await _render(endpoint, request, key, generation)
                if isinstance(rendered, Response):
                    return rendered
                body = rendered
        token: str = state.get("csrf_token", "")
        return HTMLResponse(body.replace(_PLACEHOLDER_BYTES, token.encode()))

    return serve


async def _render(
    endpoint: Endpoint, request: Request, key: _Key, generation: _Generation
) -> bytes | Response:
    """The page's body with the placeholder for the token, kept; or, when it is not a
    page to keep, the endpoint's own response.

    Requests for the same page arriving meanwhile wait for this render rather than
    render it again: when the minute or the data moves, every page is dropped at once,
    and under load dozens of requests for a page would otherwise all find it missing.
    """
    state = request.scope.setdefault("state", {})
    token = state.get("csrf_token", "")
    done: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
    first = _rendering.setdefault(key, done) is done
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
        if _generation[0] == generation:
            _keep(key, body)
        return body
    finally:
        done.set_result(body)
        if first:
            del _rendering[key]


def _keep(key: _Key, body: bytes) -> None:
    if len(body) > MAX_BYTES // 8:
        return
    previous = _pages.pop(key, None)
    if previous is not None:
        _size[0] -= len(previous)
    _pages[key] = body
    _size[0] += len(body)
    while _size[0] > MAX_BYTES:
        _, dropped = _pages.popitem(last=False)
        _size[0] -= len(dropped)


def _drop_pages() -> None:
    _pages.clear()
    _size[0] = 0


def forget() -> None:
    """Drop every kept page (tests that write catalogue rows without the services)."""
    _drop_pages()
    _generation[0] = None
    visitor_stamp.expire()
