"""Pages a signed-in reader reads again and again, kept for them until anything changes.

A member's dialogue list, dialogue or circle page is theirs alone (what they may see,
their answers, their language), so it is kept per reader. It is kept under the committed
state their request named (`services/committed_state.py`) and the minute (times read
"in 5 minutes", lists split upcoming from past): any write anywhere, through any worker,
and the next request renders afresh. Reading the same page again then costs at most
one statement (the state, on PostgreSQL) instead of a render's dozen.

Pages are kept in the worker's memory only, never in a browser or a shared cache; a
page that shows the browser's own session (the sessions list) must not be kept.
"""

from __future__ import annotations

import time
from functools import wraps

from starlette.requests import Request
from starlette.responses import Response

from exchange import i18n
from exchange.web.kept_pages import Endpoint, KeptPages, may_keep

# What one worker keeps at most, across all readers.
MAX_BYTES = 8 * 1024 * 1024

_pages = KeptPages(MAX_BYTES)


def kept_for_members(endpoint: Endpoint) -> Endpoint:
    """Serve the endpoint's page to a signed-in reader from their kept copy when there is
    one; visitors pass through (`kept_for_visitors` keeps theirs)."""

    @wraps(endpoint)
    async def serve(request: Request) -> Response:
        state = request.scope.get("state", {})
        user = state.get("user")
        committed = state.get("committed_state")
        if user is None or committed is None or not may_keep(request):
            return await endpoint(request)
        generation = (committed, int(time.time() // 60))
        key = (user.id, request.url.path, request.url.query, i18n.current_locale())
        return await _pages.serve(endpoint, request, key, generation)

    return serve


def forget() -> None:
    """Drop every kept page."""
    _pages.forget()
