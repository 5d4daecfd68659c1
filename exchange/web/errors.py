"""Error responses: friendly pages for people, `{"error": ...}` bodies for the API.

Nothing here shows a traceback; the server log keeps it.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from exchange.db import StatementTimeout
from exchange.i18n import gettext as _
from exchange.services.errors import ServiceError, Unavailable, describe
from exchange.web.headers import security_headers
from exchange.web.rendering import render

log = logging.getLogger("exchange.web")


def wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith("/api/")
        or request.headers.get("accept", "").startswith("application/json")
        or request.headers.get("content-type", "").startswith("application/json")
    )


def default_message(status: int) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Please sign in to continue."),
        403: _("You do not have permission to see this page."),
        404: _("We could not find that page."),
        405: _("That action is not allowed here."),
        409: _("That action no longer fits the current state. Reload the page and try again."),
        413: _("The request is too large."),
        415: _("That kind of content is not accepted here."),
        422: _("Some of what was sent is not valid."),
        429: _("Too many attempts. Please wait and try again."),
        500: _("Something went wrong on our side. We have been told and will look into it."),
        503: _("The service is unavailable right now. Please try again shortly."),
    }
    return messages.get(status, _("Something went wrong."))


# The API's error codes are words, the same ones its own handlers use.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
    503: "unavailable",
}


def error_response(
    request: Request,
    status: int,
    message: str = "",
    code: str = "",
    fields: dict[str, str] | None = None,
) -> Response:
    message = message or default_message(status)
    if wants_json(request):
        return json_error(status, code or STATUS_CODES.get(status, "error"), message, fields)
    return render(
        request,
        "errors/error.html",
        {"status": status, "message": message, "request_id": request_id(request)},
        status_code=status,
    )


def request_id(request: Request) -> str:
    """The id `web/traffic.py` gave this request: on its error page, header and log lines."""
    return str(request.scope.get("state", {}).get("request_id", ""))


def json_error(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> JSONResponse:
    """The API's one error shape: `{"error": {"code", "message", "fields"}}`."""
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def json_refusal(exc: ServiceError) -> JSONResponse:
    """A refusal as the API's JSON error (with Retry-After when it is worth waiting)."""
    response = json_error(*describe(exc))
    if isinstance(exc, Unavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def service_error(request: Request, exc: Exception) -> Response:
    """A use case's refusal that its route did not handle itself (most often 404/403).

    A page shows the generic message of its status: a service's own wording may be
    meant for a form field, not a whole page. Being unavailable is said as it is.
    """
    assert isinstance(exc, ServiceError)
    if isinstance(exc, Unavailable):
        return unavailable_response(request, exc)
    if wants_json(request):
        return json_refusal(exc)
    return error_response(request, exc.status)


def unavailable_response(request: Request, exc: Unavailable) -> Response:
    """503 with Retry-After: a page or JSON error in the reader's language."""
    response = error_response(request, exc.status, str(exc), exc.code)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def statement_timeout(request: Request, exc: Exception) -> Response:
    """A database statement of this request ran past its limit and was stopped."""
    assert isinstance(exc, StatementTimeout)
    log.warning(
        "A database statement of %s %s was stopped after %s ms",
        request.method,
        route_name(request),
        exc.limit_ms,
    )
    return unavailable_response(request, Unavailable("timeout"))


def route_name(request: Request) -> str:
    """The matched route's template (never the path, which may hold a token)."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "")) or "(no route)"


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # Starlette fills a missing detail with the English reason phrase; ours is translated.
    detail = "" if exc.detail == HTTPStatus(exc.status_code).phrase else str(exc.detail or "")
    response = error_response(request, exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    """The 500 page. It runs outside the other middleware, so it adds the headers (and
    the request id) itself."""
    log.exception(
        "Unhandled error on %s %s",
        request.method,
        route_name(request),
        exc_info=exc,
        extra={"request_id": request_id(request)},
    )
    try:
        response = error_response(request, 500)
    except Exception:  # the template machinery itself may be what failed
        log.exception("Could not render the error page")
        text = f"{default_message(500)} ({request_id(request)})"
        response = Response(text, status_code=500, media_type="text/plain")
    response.headers.update(security_headers(request.app.state.settings.is_production))
    if request_id(request):
        response.headers["X-Request-ID"] = request_id(request)
    return response
