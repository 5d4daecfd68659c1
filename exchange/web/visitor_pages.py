"""Library pages every visitor who is not signed in sees alike, rendered once and kept.

A visitor's front page, directory, city, practice, challenge or brief page, or library
search, depends only on the catalogue, on capacity and peer history, on the briefs, on
the language, on the address and (for a city's local time) on the minute. Rendering it
again for every visitor costs tens of times what serving it does, so each worker keeps
the rendered page under all of those (`visitor_stamp` names the data's state) and serves
it until one of them moves. Signed-in readers are never served from these pages
(`member_pages` keeps theirs).
"""

from __future__ import annotations

import time
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from exchange import i18n
from exchange.services import visitor_stamp
from exchange.web.kept_pages import PLACEHOLDER, Endpoint, KeptPages, may_keep

__all__ = ["PLACEHOLDER", "forget", "kept_for_visitors"]

# What one worker keeps at most: pages are 10-40 KB, so this holds the pages visitors
# read most.
MAX_BYTES = 8 * 1024 * 1024

_pages = KeptPages(MAX_BYTES)


def kept_for_visitors(endpoint: Endpoint) -> Endpoint:
    """Serve the endpoint's page to visitors from the worker's kept copy when there is one."""

    @wraps(endpoint)
    async def serve(request: Request) -> Response:
        if request.scope.get("state", {}).get("user") is not None or not may_keep(request):
            return await endpoint(request)
        # The data's state and the minute: when either moves, the kept pages all go.
        generation = (await visitor_stamp.current(), int(time.time() // 60))
        key = (request.url.path, request.url.query, i18n.current_locale())
        return await _pages.serve(endpoint, request, key, generation)

    return serve


def forget() -> None:
    """Drop every kept page (tests that write catalogue rows without the services)."""
    _pages.forget()
    visitor_stamp.expire()
