"""In-app notices: the list page, and the unread count in the navigation of every page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from exchange.services import notices
from exchange.services.pagination import page_number
from exchange.web.auth import require_user, signed_in
from exchange.web.labels import matching_labels
from exchange.web.rendering import redirect, render


class NoticeCountMiddleware:
    """Puts the signed-in user's unread notice count in the request state for pages.

    Runs inside SessionMiddleware (it needs the user); skips the API and static files.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") == "GET"
            and not scope["path"].startswith(("/api/", "/static/"))
        ):
            state = scope.setdefault("state", {})
            state["notice_count"] = await notices.unread_count(
                state.get("user"), state.get("committed_state")
            )
        await self.app(scope, receive, send)


@signed_in
async def notice_list(request: Request) -> Response:
    user = require_user(request)
    if request.method == "POST":
        await notices.mark_all_read(user)
        return redirect("/notices")
    page = await notices.list_notices(user, page_number(request.query_params.get("page")))
    return render(request, "matching/notices.html", {"page": page, **matching_labels()})


routes = [Route("/notices", notice_list, methods=["GET", "POST"], name="notices")]
