"""The ceiling `benchmarks/load.py` measures pages against: a bare Starlette endpoint.

Same server (uvicorn, as `exchange serve` runs it), same database driver and connection
settings (`exchange.db.init_db`), one indexed query (a city by its unique key) and a
small Jinja2 page. Nothing else: no middleware, no session, no translation. A page of the
app that reaches 60% of this one's throughput spends little beyond what any page costs.

    EXCHANGE_DATABASE_URL=... .venv/bin/uvicorn benchmarks.ceiling:app --port 8100
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from exchange import db

KEY = os.environ.get("CEILING_CITY_KEY", "city-00042")
PAGE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ city.name }}</title></head>
<body><main><h1>{{ city.name }}</h1>
<p>{{ city.country }}, {{ city.region }}; population {{ city.population }}.</p>
<p>{{ city.profile }}</p></main></body></html>
"""
)


async def city(request: Request) -> HTMLResponse:
    rows = await db.connection().execute_query_dict(
        "SELECT name, country, region, population, profile FROM city WHERE key = $1"
        if db.dialect() == "postgres"
        else "SELECT name, country, region, population, profile FROM city WHERE key = ?",
        [KEY],
    )
    return HTMLResponse(PAGE.render(city=rows[0] if rows else {}))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await db.init_db(os.environ["EXCHANGE_DATABASE_URL"], statement_limit_ms=5000)
    yield
    await db.close_db()


app = Starlette(routes=[Route("/", city)], lifespan=lifespan)
