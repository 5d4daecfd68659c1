"""A slow request cannot take the database down: statement limits, cancellation when the
client goes away, and caps on expensive requests, on the suite's database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Message

from exchange import db
from exchange.app import create_app
from exchange.models.accounts import Role
from exchange.services import tokens
from exchange.settings import Settings
from exchange.web.traffic import Limiter, expensive

from support import make_user

pytestmark = pytest.mark.usefixtures("clean_db")

LIMIT_MS = 1500
TIMEOUT_FR = "Veuillez réessayer dans un instant."
BUSY_FR = "Veuillez réessayer dans quelques secondes."


def slow_sql() -> str:
    """A statement that runs far longer than any limit in these tests, then returns."""
    if db.dialect() == "postgres":
        return "SELECT pg_sleep(20)"
    return (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000000)"
        " SELECT count(*) FROM n"
    )


async def slow(request: Request) -> Response:
    await db.connection().execute_query(slow_sql())
    return PlainTextResponse("finished")


def app_with_slow_route(settings: Settings) -> Starlette:
    app = create_app(settings, manage_db=False)
    app.router.routes.insert(0, Route("/slow", slow))
    return app


def client_for(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://exchange.test")


async def slow_statements_running() -> int:
    """PostgreSQL: our slow statement still running; SQLite: whether the connection is
    still busy with it (a trivial query has to wait behind it)."""
    if db.dialect() == "postgres":
        rows = await db.connection().execute_query_dict(
            "SELECT count(*) AS n FROM pg_stat_activity"
            " WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%'"
        )
        return int(rows[0]["n"])
    started = time.perf_counter()
    await db.connection().execute_query("SELECT 1")
    return int(time.perf_counter() - started > 0.2)


def counter(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
async def test_a_statement_past_the_limit_is_stopped_while_others_are_served(
    settings: Settings, accept: str
) -> None:
    app = app_with_slow_route(replace(settings, statement_timeout_ms=LIMIT_MS))
    timeouts_before = counter("exchange_database_statement_timeouts_total")
    async with client_for(app) as http:
        started = time.perf_counter()
        slow_request = asyncio.create_task(
            http.get("/slow", headers={"Accept": accept, "Accept-Language": "fr"})
        )
        await asyncio.sleep(0.05)
        others: list[tuple[int, float]] = []
        for path in ("/healthz", "/", "/healthz", "/cities"):
            response = await http.get(path)
            others.append((response.status_code, time.perf_counter() - started))
        response = await slow_request
        slow_done = time.perf_counter() - started

    assert [status for status, _ in others] == [200] * 4
    # Stopped at the limit, not after the twenty seconds it asked for.
    assert slow_done < LIMIT_MS / 1000 + 2.5
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    request_id = response.headers["x-request-id"]
    if accept == "application/json":
        assert response.json()["error"]["code"] == "timeout"
        assert TIMEOUT_FR in response.json()["error"]["message"]
    else:
        assert TIMEOUT_FR in response.text and request_id in response.text
        assert "<!doctype html>" in response.text
    if db.dialect() == "postgres":
        # Other requests had their own connections: served while the slow one ran.
        assert all(done < slow_done for _, done in others)
    else:
        # SQLite has one connection: they waited, but no longer than the limit.
        assert max(done for _, done in others) < LIMIT_MS / 1000 + 2.5
    assert await slow_statements_running() == 0
    assert counter("exchange_database_statement_timeouts_total") == timeouts_before + 1


async def test_a_page_whose_client_goes_away_is_cancelled_with_its_statement(
    settings: Settings,
) -> None:
    # A limit long enough that only the client's leaving can stop the statement.
    app = app_with_slow_route(replace(settings, statement_timeout_ms=60_000))
    cancelled_before = counter("exchange_http_requests_cancelled_total", {"route": "/slow"})
    inbox: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        if inbox:
            return inbox.pop(0)
        await asyncio.sleep(0.3)  # the visitor closes the tab
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/slow",
        "raw_path": b"/slow",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"exchange.test")],
        "client": ("203.0.113.7", 50000),
        "server": ("exchange.test", 80),
    }
    started = time.perf_counter()
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    assert time.perf_counter() - started < 3
    assert sent == []  # nobody was there to answer
    for _ in range(40):
        if not await slow_statements_running():
            break
        await asyncio.sleep(0.05)
    assert await slow_statements_running() == 0
    assert counter("exchange_http_requests_cancelled_total", {"route": "/slow"}) == (
        cancelled_before + 1
    )


@contextlib.contextmanager
def full(limiter: Limiter) -> Iterator[None]:
    """Take every place the limiter has, as that many running requests would."""
    with contextlib.ExitStack() as places:
        for _ in range(limiter.limit):
            places.enter_context(limiter.slot())
        yield


async def test_a_search_beyond_the_limit_is_refused_at_once_in_the_visitors_language(
    client: httpx.AsyncClient,
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    with full(app.state.limiters["search"]):
        refused = await client.get("/library?q=trauma", headers={"Accept-Language": "fr"})
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert BUSY_FR in refused.text and refused.headers["x-request-id"] in refused.text
    assert (await client.get("/library?q=trauma")).status_code == 200


async def test_the_api_says_busy_in_json_in_the_users_language(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("o@example.org", Role.OFFICIAL, locale="fr")
    token = (await tokens.issue_token(settings, "o@example.org", "script", 30)).raw
    headers = {"Authorization": f"Bearer {token}"}
    app = client._transport.app  # type: ignore[attr-defined]
    with full(app.state.limiters["matching"]):
        refused = await client.get("/api/v1/requests/1/candidates", headers=headers)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    assert refused.json()["error"]["code"] == "busy"
    assert BUSY_FR in refused.json()["error"]["message"]
    # With a place free, the request goes through to its ordinary answer.
    assert (await client.get("/api/v1/requests/1/candidates", headers=headers)).status_code == 404


async def test_requests_beyond_the_limit_do_not_queue(settings: Settings) -> None:
    @expensive("search")
    async def busy(request: Request) -> Response:
        await asyncio.sleep(0.5)
        return PlainTextResponse("ok")

    app = create_app(replace(settings, expensive_concurrency=2), manage_db=False)
    app.router.routes.insert(0, Route("/busy", busy))
    rejected_before = counter("exchange_expensive_requests_rejected_total", {"kind": "search"})
    async with client_for(app) as http:
        started = time.perf_counter()

        async def timed() -> tuple[int, float]:
            response = await http.get("/busy")
            return response.status_code, time.perf_counter() - started

        results = await asyncio.gather(*(timed() for _ in range(6)))
    served = [done for status, done in results if status == 200]
    refused = [done for status, done in results if status == 503]
    assert len(served) == 2 and len(refused) == 4
    assert max(refused) < min(served)  # answered at once, not after waiting
    assert counter("exchange_expensive_requests_rejected_total", {"kind": "search"}) == (
        rejected_before + 4
    )
