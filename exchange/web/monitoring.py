"""`/metrics` for Prometheus: from the machine itself, or for an administrator.

Readable without signing in only by a direct request from loopback (a scraper on the same
host); a request that came through a proxy (it carries forwarding headers) or from
elsewhere needs an administrator: a personal access token (`Authorization: Bearer`) or a
signed-in session.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange import metrics
from exchange.models.accounts import User
from exchange.services import monitoring, permissions, tokens
from exchange.web.auth import current_user
from exchange.web.errors import error_response

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def direct_from_loopback(request: Request) -> bool:
    if any(name in request.headers for name in FORWARDING_HEADERS):
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def reader(request: Request) -> User | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return await tokens.user_for_token(header[7:].strip())
    return current_user(request)


async def metrics_page(request: Request) -> Response:
    if not direct_from_loopback(request):
        user = await reader(request)
        if user is None:
            response = error_response(request, 401)
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if not permissions.is_admin(user):
            return error_response(request, 403)
    facts = await monitoring.scrape_facts()
    return Response(metrics.render(facts), media_type=metrics.CONTENT_TYPE)


routes = [Route("/metrics", metrics_page, name="metrics")]
