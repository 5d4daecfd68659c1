"""Pages for everyone: the home page and the health check."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from exchange import db
from exchange.services import dashboard
from exchange.services.labels import region_label
from exchange.web.auth import current_user
from exchange.web.member_pages import kept_for_members
from exchange.web.rendering import render
from exchange.web.visitor_pages import kept_for_visitors


@kept_for_visitors
@kept_for_members
async def home(request: Request) -> Response:
    """The front page for visitors; for those signed in, their dashboard."""
    home_page = await dashboard.home_page(current_user(request))
    board = home_page.dashboard
    return render(
        request,
        "home.html",
        {
            "front": home_page.front,
            "dashboard": board,
            "home_city": board.city if board else None,
            "region_label": region_label,
        },
    )


async def healthz(request: Request) -> Response:
    """200 after a database round-trip, 503 when the database cannot be reached."""
    try:
        await db.ping()
    except Exception:  # any failure to reach the database means unhealthy
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


routes = [
    Route("/", home, name="home"),
    Route("/healthz", healthz, name="healthz"),
]
