"""The router that looks routes up by first segment picks what Starlette's would."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.routing import Match, Mount, Route, Router
from starlette.types import Scope

from exchange.app import create_app
from exchange.settings import load_settings
from exchange.web.routing import SegmentRouter

SETTINGS = load_settings({"EXCHANGE_DATABASE_URL": "sqlite://:memory:"})


def example_path(template: str) -> str:
    """A concrete address for a route's path: `/circles/{circle_id:id}` -> `/circles/7`."""
    return re.sub(r"\{[^}:]+(:id|:int)?\}", lambda m: "7" if m.group(1) else "x", template)


def scope_for(path: str, method: str = "GET") -> Scope:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def first_full_match(routes: list[Route | Mount], scope: Scope) -> Route | Mount | None:
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


def test_the_app_is_served_by_the_segment_router() -> None:
    assert isinstance(create_app(SETTINGS, manage_db=False).router, SegmentRouter)


def test_every_route_is_found_as_a_scan_of_all_routes_finds_it() -> None:
    routes = create_app(SETTINGS, manage_db=False).routes
    router = SegmentRouter(routes)
    checked = 0
    for route in routes:
        assert isinstance(route, Route | Mount)
        path = example_path(route.path) + ("/app.css" if isinstance(route, Mount) else "")
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            scope = scope_for(path, method)
            expected = first_full_match(routes, scope)  # type: ignore[arg-type]
            found = router.full_match(scope)
            assert expected is not None, path
            assert found is not None, (method, path)
            assert found[0] is expected, (method, path)
            checked += 1
    assert checked > 100


def test_a_literal_route_listed_first_wins_over_a_parameter() -> None:
    router = create_app(SETTINGS, manage_db=False).router
    assert isinstance(router, SegmentRouter)
    found = router.full_match(scope_for("/invitations/new"))
    assert found is not None
    assert getattr(found[0], "path", "") == "/invitations/new"


def test_a_route_that_may_match_anywhere_stays_a_candidate_everywhere() -> None:
    async def endpoint(request: object) -> None:  # pragma: no cover - never called
        raise AssertionError

    anywhere = Route("/{page}.txt", endpoint)
    router = SegmentRouter([Route("/about", endpoint), anywhere, Route("/notes", endpoint)])
    assert router._by_segment["about"][1] is anywhere
    assert router._by_segment["notes"][0] is anywhere
    assert router._anywhere == [anywhere]
    assert isinstance(router, Router)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/cities/", 307),  # a stray slash: Starlette's redirect
        ("GET", "/logout", 405),  # a method the route does not take
        ("GET", "/no-such-page", 404),
    ],
)
async def test_what_no_route_fully_matches_keeps_starlettes_answer(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, follow_redirects=False)
    assert response.status_code == status
