"""The OpenAPI 3.1 document and the routes, both built from the endpoint tables, so the
document lists every route there is."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.web.api.base import PREFIX, ApiHandler, Endpoint, endpoint

# Path parameters that are numbers: ids, and version numbers.
_ID_PARAMETER = re.compile(r"\{(\w+_id|number)\}")


def starlette_path(path: str) -> str:
    """`/requests/{request_id}` as Starlette routes it: ids take the `id` convertor."""
    return _ID_PARAMETER.sub(r"{\1:id}", path)


def grouped_routes(endpoints: Sequence[Endpoint]) -> list[Route]:
    """One Route per path, dispatching on the method (Starlette matches paths first)."""
    by_path: dict[str, dict[str, ApiHandler]] = {}
    for item in endpoints:
        by_path.setdefault(item.path, {})[item.method] = item.handler
    routes = []
    for path, handlers in by_path.items():
        wrapped = {method: endpoint(handler) for method, handler in handlers.items()}

        async def dispatch(
            request: Request, wrapped: dict[str, Callable[[Request], Awaitable[Response]]] = wrapped
        ) -> Response:
            return await wrapped[request.method](request)

        routes.append(Route(PREFIX + starlette_path(path), dispatch, methods=list(handlers)))
    return routes


STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
TIME: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def enum_of(values: type[Enum]) -> dict[str, Any]:
    """A schema for a model's enum, so the document follows the models."""
    return {"enum": [member.value for member in values]}


def page_of(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "page", "pages", "total"],
        "properties": {
            "items": {"type": "array", "items": ref(item)},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


ERROR_SCHEMA: dict[str, Any] = {
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
}


def error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(
    base_url: str, endpoints: Sequence[Endpoint], schemas: dict[str, Any]
) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every endpoint."""
    paths: dict[str, dict[str, Any]] = {}
    for item in endpoints:
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in _ID_PARAMETER.findall(item.path)
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
                "401": error_response("No valid token or session"),
                "403": error_response("Not allowed for this user"),
                "404": error_response("Not found, or not visible to this user"),
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
            operation["responses"]["400"] = error_response("Malformed JSON")
            operation["responses"]["422"] = error_response("Invalid fields")
            operation["responses"]["413"] = error_response("Body over 1 MB")
            operation["responses"]["415"] = error_response("Body not sent as application/json")
        if item.method != "GET":
            # Any change may find the state moved on (already answered, already a member).
            operation["responses"]["409"] = error_response("Conflicts with the current state")
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
            "schemas": {"Error": ERROR_SCHEMA, **schemas},
        },
    }
