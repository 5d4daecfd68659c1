"""Starlette's router, trying only the routes that could match a path's first segment.

Starlette tries every route in order until one matches: with 130 routes, a circle page
(route 79) costs 79 regular-expression matches, a fifth of what a kept page costs to
serve. Routes are filed by the literal first segment of their path (`/circles/...` under
`circles`), in their order, so the first full match among a path's candidates is the
first full match among all routes. Anything else (no full match: a method not allowed,
a missing or extra slash, an unknown address) is left to Starlette's own rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send


def first_segment(path: str) -> str:
    """`circles` for `/circles/{circle_id:id}/members`; `` for `/`."""
    return path.lstrip("/").split("/", 1)[0]


class SegmentRouter(Router):
    """A `Router` that looks routes up by the first segment of the path."""

    def __init__(self, routes: Sequence[BaseRoute], **options: Any) -> None:
        super().__init__(routes, **options)
        # Routes whose first segment is not literal (none today) may match any path.
        self._anywhere: list[BaseRoute] = []
        self._by_segment: dict[str, list[BaseRoute]] = {}
        for route in self.routes:
            # A mount at the root, or a host, may match any path.
            path = route.path if isinstance(route, Route | Mount) else ""
            segment = first_segment(path) if path else "{"
            if "{" in segment:
                self._anywhere.append(route)
                for candidates in self._by_segment.values():
                    candidates.append(route)
            else:
                self._by_segment.setdefault(segment, list(self._anywhere)).append(route)

    def full_match(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The first route that fully matches the request, with its child scope."""
        segment = first_segment(get_route_path(scope))
        for route in self._by_segment.get(segment, self._anywhere):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.full_match(scope) if scope["type"] == "http" else None
        if found is None:
            await super().app(scope, receive, send)
            return
        route, child_scope = found
        scope.setdefault("router", self)
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
