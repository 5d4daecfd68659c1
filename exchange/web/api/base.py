"""What every API endpoint shares: authentication, JSON bodies, errors, the endpoint
table's row type.

Clients sign in with a personal access token (`Authorization: Bearer exch_...`); a
browser may also use its cookie session, in which case the CSRF middleware requires the
`X-CSRF-Token` header on every change, as for forms. Errors are always
`{"error": {"code", "message", "fields"}}`, built by `web/errors.py` from the services'
one error vocabulary.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from exchange import i18n
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.services import tokens
from exchange.services.errors import ServiceError, ValidationError
from exchange.services.pagination import Page
from exchange.web.auth import current_user
from exchange.web.errors import json_error, json_refusal
from exchange.web.limits import MAX_BODY_BYTES

PREFIX = "/api/v1"
MAX_JSON_BYTES = MAX_BODY_BYTES

ApiHandler = Callable[[Request, User], Awaitable[Response]]


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


async def api_user(request: Request) -> User:
    """The bearer token's user, or else the cookie session's; 401 without either."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        user = await tokens.user_for_token(header[7:].strip())
        if user is None:
            message = _("The access token is unknown, expired or revoked.")
            raise ApiError(401, "invalid_token", message)
        return user
    user = current_user(request)
    if user is None:
        raise ApiError(401, "unauthenticated", _("Sign in or send a personal access token."))
    return user


def endpoint(handler: ApiHandler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, run the handler in the user's locale, turn refusals into JSON errors."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            user = await api_user(request)
            with i18n.use_locale(user.locale):
                try:
                    return await handler(request, user)
                except ServiceError as exc:
                    return json_refusal(exc)
        except ApiError as exc:
            return json_error(exc.status, exc.code, exc.message, exc.fields)

    return wrapper


async def read_json(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            _("Send a JSON body (Content-Type: application/json)."),
        )
    # `BodyLimitMiddleware` stops a larger body while it streams in.
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        raise ApiError(413, "too_large", _("The request is too large."))
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        # RecursionError: nesting deeper than the decoder goes is not valid input either.
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", _("The body must be a JSON object."))
    return data


class Body:
    """Typed reads from a JSON body that collect every problem, so one 422 names them all.

    A field the endpoint does not know is refused too: it is usually a typing mistake
    that would otherwise be ignored silently. Call `check()` once everything is read.
    """

    def __init__(self, data: dict[str, Any], known: tuple[str, ...]) -> None:
        self.data = data
        self.fields: dict[str, str] = {
            name: _("Unknown field; this endpoint takes %(names)s.") % {"names": ", ".join(known)}
            for name in data
            if name not in known
        }

    def string(self, name: str, default: str = "") -> str:
        value = self.data.get(name, default)
        if isinstance(value, str):
            return value
        self.fields[name] = _("Give a string.")
        return default

    def strings(self, name: str) -> list[str]:
        value = self.data.get(name, [])
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        self.fields[name] = _("Give a list of strings.")
        return []

    def integer(self, name: str, default: int) -> int:
        value = self.data.get(name, default)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.fields[name] = _("Give a whole number.")
        return default

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name, default)
        if isinstance(value, bool):
            return value
        self.fields[name] = _("Give true or false.")
        return default

    def optional_integer(self, name: str, default: int | None = None) -> int | None:
        """A whole number or null."""
        if self.data.get(name, default) is None:
            return None
        return self.integer(name, default or 0)

    def objects(self, name: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
        """A list of objects that hold only `keys`."""
        value = self.data.get(name, [])
        if isinstance(value, list) and all(
            isinstance(v, dict) and set(v) <= set(keys) for v in value
        ):
            return value
        self.fields[name] = _("Give a list of objects with %(names)s.") % {"names": ", ".join(keys)}
        return []

    def check(self) -> None:
        if self.fields:
            raise ValidationError(dict(self.fields))


async def read_body(request: Request, known: tuple[str, ...]) -> Body:
    return Body(await read_json(request), known)


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def page_json(page: Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "page": page.number, "pages": page.pages, "total": page.total}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: ApiHandler
    summary: str
    ok: int = 200
    response: str = ""
    body: str = ""
    query: tuple[str, ...] = field(default=())
