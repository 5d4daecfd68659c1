"""The JSON API under /api/v1/, one module per area, described by an OpenAPI 3.1
document built from the same endpoint tables the routes come from."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from exchange.web.api import briefs, circles, dialogues, matching
from exchange.web.api.base import PREFIX, Endpoint
from exchange.web.api.openapi import grouped_routes, openapi_document

ENDPOINTS: tuple[Endpoint, ...] = (
    *matching.ENDPOINTS,
    *dialogues.ENDPOINTS,
    *briefs.ENDPOINTS,
    *circles.ENDPOINTS,
)
SCHEMAS = {**matching.SCHEMAS, **dialogues.SCHEMAS, **briefs.SCHEMAS, **circles.SCHEMAS}


async def openapi(request: Request) -> Response:
    document = openapi_document(request.app.state.settings.base_url, ENDPOINTS, SCHEMAS)
    return JSONResponse(document)


routes = [
    Route(f"{PREFIX}/openapi.json", openapi, name="openapi"),
    *grouped_routes(ENDPOINTS),
]
