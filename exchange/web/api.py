"""The JSON API under /api/v1/: match requests, candidates, invitations, answers.

Clients sign in with a personal access token (`Authorization: Bearer exch_...`); a
browser may also use its cookie session, in which case the CSRF middleware requires the
`X-CSRF-Token` header on every change, as for forms. Permissions are the services' own,
so the API can do exactly what the pages can. Errors are always
`{"error": {"code", "message", "fields"}}`. The OpenAPI 3.1 document is built from
`ENDPOINTS`, the same table the routes come from, so it lists every route.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from exchange import i18n
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.matching import Exchange, MatchRequest, PeerInvitation, RequestEvent
from exchange.services import brokering, permissions, tokens
from exchange.services.brokering import CandidateView, Conflict, RequestInput
from exchange.services.pagination import Page, page_number
from exchange.services.validation import ValidationError
from exchange.web.auth import current_user

PREFIX = "/api/v1"
MAX_JSON_BYTES = 256 * 1024

ApiHandler = Callable[[Request, User], Awaitable[Response]]


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def error(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "fields": fields or {}}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def api_user(request: Request) -> User:
    """The bearer token's user, or else the cookie session's; 401 without either."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        user = await tokens.user_for_token(header[7:].strip())
        if user is None:
            raise ApiError(401, "invalid_token", _("The access token is unknown or revoked."))
        return user
    user = current_user(request)
    if user is None:
        raise ApiError(401, "unauthenticated", _("Sign in or send a personal access token."))
    return user


def endpoint(handler: ApiHandler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, run the handler in the user's locale, turn failures into JSON errors."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            user = await api_user(request)
            with i18n.use_locale(user.locale):
                try:
                    return await handler(request, user)
                except ValidationError as exc:
                    return error(422, "invalid", exc.message, exc.fields)
                except permissions.NotFound:
                    return error(404, "not_found", _("There is no such object."))
                except permissions.PermissionDenied:
                    return error(403, "forbidden", _("You may not do this."))
                except Conflict as exc:
                    return error(409, exc.code, exc.message)
        except ApiError as exc:
            return error(exc.status, exc.code, exc.message, exc.fields)

    return wrapper


async def read_json(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(400, "bad_request", _("Send a JSON body (Content-Type: application/json)."))
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        raise ApiError(400, "bad_request", _("The request is too large."))
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        # RecursionError: nesting deeper than the decoder goes is not valid input either.
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", _("The body must be a JSON object."))
    return data


def path_id(request: Request, name: str) -> int:
    value = request.path_params.get(name)
    if not isinstance(value, int):
        raise permissions.NotFound
    return value


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

    def check(self) -> None:
        if self.fields:
            raise ValidationError(dict(self.fields))


async def read_body(request: Request, known: tuple[str, ...]) -> Body:
    return Body(await read_json(request), known)


# ------------------------------------------------------------------ representations


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def request_json(mr: MatchRequest, city_key: str) -> dict[str, Any]:
    return {
        "id": mr.id,
        "city": city_key,
        "status": mr.status.value,
        "challenges": list(mr.challenges),
        "description": mr.description,
        "languages": list(mr.languages),
        "regions": list(mr.regions),
        "format": mr.format.value,
        "time_frame": mr.time_frame,
        "peers_wanted": mr.peers_wanted,
        "created_at": iso(mr.created_at),
        "closed_at": iso(mr.closed_at),
    }


def invitation_json(invitation: PeerInvitation, city_key: str) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "request": invitation.request_id,  # type: ignore[attr-defined]
        "city": city_key,
        "status": invitation.status.value,
        "reason": invitation.reason,
        "score": invitation.score,
        "created_at": iso(invitation.created_at),
        "answered_at": iso(invitation.answered_at),
        "expires_at": iso(invitation.expires_at),
    }


def exchange_json(exchange: Exchange, mentor_key: str) -> dict[str, Any]:
    return {
        "id": exchange.id,
        "mentor": mentor_key,
        "status": exchange.status.value,
        "created_at": iso(exchange.created_at),
        "concluded_at": iso(exchange.concluded_at),
    }


def event_json(event: RequestEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "text": brokering.event_text(event),
        "created_at": iso(event.created_at),
    }


def candidate_json(candidate: CandidateView) -> dict[str, Any]:
    return {
        "city": candidate.city.key,
        "name": candidate.city.name,
        "score": candidate.score,
        "reasons": candidate.reasons,
        "free_capacity": candidate.free_capacity,
    }


def page_json(page: Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "page": page.number, "pages": page.pages, "total": page.total}


# ------------------------------------------------------------------ handlers


async def list_requests(request: Request, user: User) -> Response:
    page = await brokering.list_requests(
        user, page_number(request.query_params.get("page")), request.query_params.get("status", "")
    )
    return JSONResponse(page_json(page, [request_json(r, r.city.key) for r in page.items]))


NEW_REQUEST_FIELDS = (
    "city",
    "challenges",
    "description",
    "languages",
    "regions",
    "format",
    "time_frame",
    "peers_wanted",
)
NEW_INVITATION_FIELDS = ("city",)
ANSWER_FIELDS = ("answer", "reason")


async def create_request(request: Request, user: User) -> Response:
    body = await read_body(request, NEW_REQUEST_FIELDS)
    data = RequestInput(
        city_key=body.string("city"),
        challenges=body.strings("challenges"),
        description=body.string("description"),
        languages=body.strings("languages"),
        regions=body.strings("regions"),
        format=body.string("format", "online"),
        time_frame=body.string("time_frame"),
        peers_wanted=body.integer("peers_wanted", 1),
    )
    body.check()
    created = await brokering.check_file_request(user, data)
    mr = await brokering.access_request(user, created.id)
    return JSONResponse(
        request_json(mr, mr.city.key),
        status_code=201,
        headers={"Location": f"{PREFIX}/requests/{mr.id}"},
    )


async def show_request(request: Request, user: User) -> Response:
    detail = await brokering.request_detail(user, path_id(request, "request_id"))
    body = request_json(detail.request, detail.request.city.key)
    body["invitations"] = [invitation_json(i, i.city.key) for i in detail.invitations]
    body["exchanges"] = [exchange_json(e, e.mentor.key) for e in detail.exchanges]
    body["timeline"] = [event_json(e) for e in detail.events]
    body["invitations_left"] = detail.invitations_left
    return JSONResponse(body)


async def request_candidates(request: Request, user: User) -> Response:
    candidates = await brokering.request_candidates(user, path_id(request, "request_id"))
    return JSONResponse({"candidates": [candidate_json(c) for c in candidates]})


async def invite(request: Request, user: User) -> Response:
    body = await read_body(request, NEW_INVITATION_FIELDS)
    city = body.string("city")
    body.check()
    invitation = await brokering.check_invite(
        request.app.state.settings, user, path_id(request, "request_id"), city
    )
    await invitation.fetch_related("city")
    return JSONResponse(invitation_json(invitation, invitation.city.key), status_code=201)


async def list_invitations(request: Request, user: User) -> Response:
    page = await brokering.list_invitations(user, page_number(request.query_params.get("page")))
    return JSONResponse(page_json(page, [invitation_json(i, i.city.key) for i in page.items]))


async def show_invitation(request: Request, user: User) -> Response:
    invitation = await brokering.access_invitation(user, path_id(request, "invitation_id"))
    body = invitation_json(invitation, invitation.city.key)
    body["match_request"] = request_json(invitation.request, invitation.request.city.key)
    return JSONResponse(body)


async def answer(request: Request, user: User) -> Response:
    body = await read_body(request, ANSWER_FIELDS)
    choice = body.string("answer")
    reason = body.string("reason")
    if "answer" not in body.fields and choice not in ("accept", "decline"):
        body.fields["answer"] = _("Answer accept or decline.")
    body.check()
    invitation_id = path_id(request, "invitation_id")
    await brokering.check_answer(
        request.app.state.settings, user, invitation_id, choice == "accept", reason
    )
    invitation = await brokering.access_invitation(user, invitation_id)
    return JSONResponse(invitation_json(invitation, invitation.city.key))


# ------------------------------------------------------------------ routes and OpenAPI


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


ENDPOINTS = (
    Endpoint(
        "GET",
        "/requests",
        list_requests,
        "List match requests (your city's; staff: all)",
        response="RequestPage",
        query=("page", "status"),
    ),
    Endpoint(
        "POST",
        "/requests",
        create_request,
        "File a match request",
        ok=201,
        response="MatchRequest",
        body="NewMatchRequest",
    ),
    Endpoint(
        "GET",
        "/requests/{request_id}",
        show_request,
        "A match request with its invitations, exchanges and timeline",
        response="MatchRequestDetail",
    ),
    Endpoint(
        "GET",
        "/requests/{request_id}/candidates",
        request_candidates,
        "Ranked peer candidates with reasons (cities already invited left out)",
        response="CandidateList",
    ),
    Endpoint(
        "POST",
        "/requests/{request_id}/invitations",
        invite,
        "Invite a peer city",
        ok=201,
        response="Invitation",
        body="NewInvitation",
    ),
    Endpoint(
        "GET",
        "/invitations",
        list_invitations,
        "Invitations addressed to your city (staff: all)",
        response="InvitationPage",
        query=("page",),
    ),
    Endpoint(
        "GET",
        "/invitations/{invitation_id}",
        show_invitation,
        "An invitation with the request it is about",
        response="InvitationDetail",
    ),
    Endpoint(
        "POST",
        "/invitations/{invitation_id}/answer",
        answer,
        "Accept or decline an invitation (officials of the invited city, or staff)",
        response="Invitation",
        body="Answer",
    ),
)


def _starlette_path(path: str) -> str:
    return path.replace("{request_id}", "{request_id:id}").replace(
        "{invitation_id}", "{invitation_id:id}"
    )


def _grouped_routes() -> list[Route]:
    """One Route per path, dispatching on the method (Starlette matches paths first)."""
    by_path: dict[str, dict[str, ApiHandler]] = {}
    for item in ENDPOINTS:
        by_path.setdefault(item.path, {})[item.method] = item.handler
    routes = []
    for path, handlers in by_path.items():
        wrapped = {method: endpoint(handler) for method, handler in handlers.items()}

        async def dispatch(
            request: Request, wrapped: dict[str, Callable[[Request], Awaitable[Response]]] = wrapped
        ) -> Response:
            return await wrapped[request.method](request)

        routes.append(Route(PREFIX + _starlette_path(path), dispatch, methods=list(handlers)))
    return routes


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every route in `ENDPOINTS`."""
    paths: dict[str, dict[str, Any]] = {}
    for item in ENDPOINTS:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in ("request_id", "invitation_id")
            if "{" + name + "}" in item.path
        ]
        parameters += [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": "integer" if name == "page" else "string"},
            }
            for name in item.query
        ]
        operation: dict[str, Any] = {
            "operationId": item.handler.__name__,
            "summary": item.summary,
            "responses": {
                str(item.ok): {
                    "description": "OK" if item.ok == 200 else "Created",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{item.response}"}
                        }
                    },
                },
                "401": _error_response("No valid token or session"),
                "403": _error_response("Not allowed for this user"),
                "404": _error_response("Not found, or not visible to this user"),
            },
        }
        if parameters:
            operation["parameters"] = parameters
        if item.body:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{item.body}"}}
                },
            }
            operation["responses"]["400"] = _error_response("Malformed JSON")
            operation["responses"]["422"] = _error_response("Invalid fields")
            operation["responses"]["409"] = _error_response("Conflicts with the current state")
        paths.setdefault(PREFIX + item.path, {})[item.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Exchange API",
            "version": "1.0.0",
            "description": "Peer matching and brokering for city networks.",
        },
        "servers": [{"url": base_url}],
        "security": [{"bearerAuth": []}, {"cookieSession": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token from /settings/tokens",
                },
                "cookieSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "exchange_session",
                    "description": (
                        "The browser's signed-in session (`__Host-exchange_session` in "
                        "production). Requests that change anything must also send the "
                        "X-CSRF-Token header with the token from the page's "
                        '<meta name="csrf-token">.'
                    ),
                },
            },
            "schemas": SCHEMAS,
        },
    }


_STRINGS = {"type": "array", "items": {"type": "string"}}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "page", "pages", "total"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


_REQUEST_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "city": {"type": "string"},
    "status": {"enum": ["open", "inviting", "matched", "closed", "withdrawn"]},
    "challenges": _STRINGS,
    "description": {"type": "string"},
    "languages": _STRINGS,
    "regions": _STRINGS,
    "format": {"enum": ["online", "in-person-visit", "study-visit"]},
    "time_frame": {"type": "string"},
    "peers_wanted": {"type": "integer"},
    "created_at": _TIME,
    "closed_at": _TIME,
}
_INVITATION_PROPERTIES: dict[str, Any] = {
    "id": {"type": "integer"},
    "request": {"type": "integer"},
    "city": {"type": "string"},
    "status": {"enum": ["pending", "accepted", "declined", "expired", "withdrawn"]},
    "reason": {"type": "string"},
    "score": {"type": ["number", "null"]},
    "created_at": _TIME,
    "answered_at": _TIME,
    "expires_at": _TIME,
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    },
    "NewMatchRequest": {
        "type": "object",
        "required": ["city", "challenges", "description"],
        "additionalProperties": False,
        "properties": {
            "city": {"type": "string", "description": "city key, e.g. lviv-ua"},
            "challenges": _STRINGS,
            "description": {"type": "string"},
            "languages": _STRINGS,
            "regions": _STRINGS,
            "format": {"enum": ["online", "in-person-visit", "study-visit"]},
            "time_frame": {"type": "string"},
            "peers_wanted": {"type": "integer", "minimum": 1, "maximum": 10},
        },
    },
    "MatchRequest": {"type": "object", "properties": _REQUEST_PROPERTIES},
    "MatchRequestDetail": {
        "type": "object",
        "properties": {
            **_REQUEST_PROPERTIES,
            "invitations": {"type": "array", "items": _ref("Invitation")},
            "exchanges": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "mentor": {"type": "string"},
                        "status": {"enum": ["active", "concluded"]},
                        "created_at": _TIME,
                        "concluded_at": _TIME,
                    },
                },
            },
            "timeline": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string"},
                        "text": {"type": "string"},
                        "created_at": _TIME,
                    },
                },
            },
            "invitations_left": {"type": "integer"},
        },
    },
    "RequestPage": _page("MatchRequest"),
    "Candidate": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "name": {"type": "string"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "reasons": _STRINGS,
            "free_capacity": {"type": "integer"},
        },
    },
    "CandidateList": {
        "type": "object",
        "properties": {"candidates": {"type": "array", "items": _ref("Candidate")}},
    },
    "NewInvitation": {
        "type": "object",
        "required": ["city"],
        "additionalProperties": False,
        "properties": {"city": {"type": "string"}},
    },
    "Invitation": {"type": "object", "properties": _INVITATION_PROPERTIES},
    "InvitationDetail": {
        "type": "object",
        "properties": {**_INVITATION_PROPERTIES, "match_request": _ref("MatchRequest")},
    },
    "InvitationPage": _page("Invitation"),
    "Answer": {
        "type": "object",
        "required": ["answer"],
        "additionalProperties": False,
        "properties": {"answer": {"enum": ["accept", "decline"]}, "reason": {"type": "string"}},
    },
}


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(request.app.state.settings.base_url))


routes = [
    Route(f"{PREFIX}/openapi.json", openapi, name="openapi"),
    *_grouped_routes(),
]
