"""The unread-notice count shown in the navigation of every page."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from exchange.services import notices


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
            state["notice_count"] = await notices.unread_count(state.get("user"))
        await self.app(scope, receive, send)
