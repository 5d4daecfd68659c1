"""Turning a template and a context into a response, with what every page needs."""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from exchange import i18n
from exchange.services import permissions
from exchange.services.pagination import Page
from exchange.templating import render_template

FLASH_COOKIE = "exchange_flash"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    page = base_context(request)
    page.update(context or {})
    page["past_end"] = past_end_pages(request, page)
    response = HTMLResponse(render_template(template, page), status_code=status_code)
    if page["flashes"]:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def base_context(request: Request) -> dict[str, Any]:
    state = request.scope.get("state", {})
    user = state.get("user")
    return {
        "request": request,
        "user": user,
        # Navigation asks the same predicates as the services, never the role directly.
        "is_staff": permissions.is_staff(user),
        "is_admin": permissions.is_admin(user),
        "csrf_token": state.get("csrf_token", ""),
        "flashes": read_flashes(request),
        "locale": i18n.current_locale(),
        "timezone": user.timezone if user is not None else "UTC",
        "errors": {},
        "values": {},
        "page_url": page_url,
        "notice_count": state.get("notice_count", 0),
    }


def redirect(url: str, status_code: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status_code)


def _serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.secret_key, salt="flash")


def flash(request: Request, response: Response, message: str, category: str = "info") -> None:
    """Show `message` on the next page this browser loads."""
    messages = [*read_flashes(request), {"category": category, "message": message}]
    response.set_cookie(
        FLASH_COOKIE,
        _serializer(request).dumps(messages),
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.is_production,
        path="/",
    )


def read_flashes(request: Request) -> list[dict[str, str]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        messages = _serializer(request).loads(raw)
    except (BadSignature, json.JSONDecodeError):
        return []
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def page_url(request: Request, page: int, param: str = "page") -> str:
    """The current URL with another page number in `param`, keeping the other parameters
    (the filters, and the page of any other list on the same page)."""
    params = dict(request.query_params)
    params[param] = str(page)
    return f"{request.url.path}?{urlencode(params)}"


def past_end_pages(request: Request, context: dict[str, Any]) -> list[dict[str, Any]]:
    """Every list on the page asked for past its last page (an old bookmark, a list that
    shrank, a typed-in number), with the link to its last page: the page says so at the top
    instead of leaving the reader before an empty or unexpected list."""
    found: list[dict[str, Any]] = []
    seen: set[int] = set()

    def visit(value: Any, depth: int) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, Page):
            if value.past_end:
                param = _page_param(request, value.requested)
                found.append(
                    {
                        "requested": value.requested,
                        "last": value.pages,
                        "url": page_url(request, value.pages, param),
                    }
                )
        elif depth < 2 and is_dataclass(value) and not isinstance(value, type):
            for item in fields(value):
                visit(getattr(value, item.name, None), depth + 1)

    for value in context.values():
        visit(value, 0)
    return found


def _page_param(request: Request, requested: int) -> str:
    """Which query parameter asked for page `requested` (a page may hold two lists)."""
    for name, value in request.query_params.items():
        if value.strip() == str(requested) and (name == "page" or name.endswith("page")):
            return name
    return "page"
