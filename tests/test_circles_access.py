"""The circles' access matrix: every circle page and API endpoint, as every kind of
person, for a listed and an unlisted circle, with the status each one gets.

The cast is the same in both circles: a facilitator, a member, someone invited who has
not accepted the agreement, a removed member who signs in afresh, and a member removed
after opening a session and making an API token (who keeps both). Staff created both
circles and are not members; nor is the admin, nor an ordinary official.

Changes are walked with input that fails after the access check (so an allowed person
gets 303, 400, 409 or 422 and nothing changes), except a few that do change something and
run last. A 0 marks an allowed change left to `test_circles.py`, where it is done for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
import pytest

from exchange.models.accounts import Role, User
from exchange.models.circles import CircleMembership
from exchange.services import (
    circle_meetings,
    circle_members,
    circle_posts,
    circles,
    sessions,
    tokens,
)
from exchange.services.circles import CircleInput
from exchange.settings import Settings
from exchange.web.auth import session_cookie_name

from circles_data import person
from support import csrf_token, post_form, sign_in

# Tokens made for tests tell their owner by email, as every new token does.
TOKEN_SETTINGS = Settings(base_url="http://exchange.test")

ROLES = (
    "anonymous",
    "official",
    "staff",
    "admin",
    "invited",
    "member",
    "facilitator",
    "removed",
    "removed_token",
)
MEMBERS = ("member", "facilitator")
SIGNED_IN = ROLES[1:]


def cells(default: int, anonymous: int = 303, **roles: int) -> dict[str, int]:
    """`default` for every signed-in role unless named; a visitor gets `anonymous`."""
    return {"anonymous": anonymous, **dict.fromkeys(SIGNED_IN, default), **roles}


# For members only; everyone else gets 404 whoever they are.
INSIDE = cells(404, member=200, facilitator=200)
FACILITATORS = cells(404, member=403, facilitator=200)
API_INSIDE = {**INSIDE, "anonymous": 401}
API_FACILITATORS = {**FACILITATORS, "anonymous": 401}
# Who may know of the circle: listed ones are known to every signed-in user.
KNOWN = {"listed": cells(200), "unlisted": cells(404, invited=200, **dict.fromkeys(MEMBERS, 200))}


def both(rule: dict[str, int]) -> dict[str, dict[str, int]]:
    return {"listed": rule, "unlisted": rule}


# Route -> kind of circle -> role -> status. Walked in this order, GETs first; the few
# changes that really happen come last.
RULES: dict[tuple[str, str], dict[str, dict[str, int]]] = {
    ("GET", "/circles"): both(cells(200)),
    ("GET", "/circles/new"): both(cells(403, staff=200, admin=200)),
    ("GET", "/circles/my-data"): both(cells(200)),
    ("GET", "/circles/{circle_id:id}"): KNOWN,
    ("GET", "/circles/{circle_id:id}/members"): both(INSIDE),
    ("GET", "/circles/{circle_id:id}/settings"): both(FACILITATORS),
    ("GET", "/circles/{circle_id:id}/threads/new"): both(INSIDE),
    ("GET", "/circles/{circle_id:id}/threads/{thread_id:id}"): both(INSIDE),
    # The post is the member's own: only its author edits it.
    ("GET", "/circles/{circle_id:id}/posts/{post_id:id}/edit"): both(
        cells(404, member=200, facilitator=403)
    ),
    ("GET", "/circles/{circle_id:id}/checkins"): both(INSIDE),
    ("GET", "/circles/{circle_id:id}/checkins/summary"): both(FACILITATORS),
    ("GET", "/circles/{circle_id:id}/meetings"): both(INSIDE),
    ("GET", "/admin/circles"): both(cells(403, admin=200)),
    ("GET", "/api/v1/circles"): both(cells(200, anonymous=401)),
    ("GET", "/api/v1/circles/{circle_id:id}"): {
        kind: {**rule, "anonymous": 401} for kind, rule in KNOWN.items()
    },
    ("GET", "/api/v1/circles/{circle_id:id}/members"): both(API_INSIDE),
    ("GET", "/api/v1/circles/{circle_id:id}/threads"): both(API_INSIDE),
    ("GET", "/api/v1/circles/{circle_id:id}/checkins/summary"): both(API_FACILITATORS),
    # Changes refused after the access check: nothing changes.
    ("POST", "/circles/new"): both(cells(403, staff=400, admin=400)),
    ("POST", "/circles/{circle_id:id}/join"): {
        # Without the version of the agreement read, joining is refused (and said why).
        kind: {**rule, **{r: 303 for r, c in rule.items() if c == 200 and r != "anonymous"}}
        | {
            r: 404
            for r in ("official", "staff", "admin", "removed", "removed_token")
            if kind == "listed"
        }
        for kind, rule in KNOWN.items()
    },
    ("POST", "/circles/{circle_id:id}/invite"): both(cells(404, member=403, facilitator=303)),
    ("POST", "/circles/{circle_id:id}/members/{user_id:id}/approve"): both(
        cells(404, member=403, facilitator=303)
    ),
    ("POST", "/circles/{circle_id:id}/members/{user_id:id}/decline"): both(
        cells(404, member=403, facilitator=303)
    ),
    ("POST", "/circles/{circle_id:id}/settings"): both(cells(404, member=403, facilitator=400)),
    ("POST", "/circles/{circle_id:id}/threads/new"): both(cells(404, member=400, facilitator=400)),
    ("POST", "/circles/{circle_id:id}/threads/{thread_id:id}"): both(
        cells(404, member=400, facilitator=400)
    ),
    ("POST", "/circles/{circle_id:id}/posts/{post_id:id}/edit"): both(
        cells(404, member=400, facilitator=403)
    ),
    ("POST", "/circles/{circle_id:id}/checkins"): both(cells(404, member=400, facilitator=400)),
    ("POST", "/circles/{circle_id:id}/meetings"): both(cells(404, member=403, facilitator=400)),
    ("POST", "/circles/{circle_id:id}/request"): {
        "listed": cells(0, invited=303, member=303, facilitator=303),
        "unlisted": cells(404, invited=303, member=303, facilitator=303),
    },
    ("POST", "/api/v1/circles"): both(cells(403, anonymous=401, staff=422, admin=422)),
    ("POST", "/api/v1/circles/{circle_id:id}/invitations"): both(
        cells(404, anonymous=401, member=403, facilitator=422)
    ),
    ("POST", "/api/v1/circles/{circle_id:id}/requests"): {
        "listed": cells(0, anonymous=401, invited=409, member=409, facilitator=409),
        "unlisted": cells(404, anonymous=401, invited=409, member=409, facilitator=409),
    },
    ("POST", "/api/v1/circles/{circle_id:id}/requests/{user_id:id}/approve"): both(
        cells(404, anonymous=401, member=403, facilitator=409)
    ),
    ("POST", "/api/v1/circles/{circle_id:id}/join"): {
        kind: {
            **{r: (409 if c == 200 else c) for r, c in rule.items()},
            "anonymous": 401,
            **{
                r: 404
                for r in ("official", "staff", "admin", "removed", "removed_token")
                if kind == "listed"
            },
        }
        for kind, rule in KNOWN.items()
    },
    ("POST", "/api/v1/circles/{circle_id:id}/threads"): both(
        cells(404, anonymous=401, member=422, facilitator=422)
    ),
    ("POST", "/api/v1/circles/{circle_id:id}/checkins"): both(
        cells(404, anonymous=401, member=422, facilitator=422)
    ),
    # Changes that happen: last, in an order where none spoils the next.
    ("POST", "/circles/{circle_id:id}/posts/{post_id:id}/hide"): both(
        cells(404, member=403, facilitator=303)
    ),
    ("POST", "/circles/{circle_id:id}/posts/{post_id:id}/delete"): both(
        cells(404, member=303, facilitator=403)
    ),
    ("POST", "/circles/{circle_id:id}/meetings/{meeting_id:id}/cancel"): both(
        cells(404, member=403, facilitator=303)
    ),
    ("POST", "/circles/{circle_id:id}/members/{user_id:id}/facilitator"): both(
        cells(404, member=403, facilitator=303)
    ),
    ("POST", "/circles/{circle_id:id}/members/{user_id:id}/remove"): both(
        cells(404, member=403, facilitator=0)
    ),
    ("DELETE", "/api/v1/circles/{circle_id:id}/members/{user_id:id}"): both(
        cells(404, anonymous=401, member=403, facilitator=200)
    ),
    ("POST", "/circles/{circle_id:id}/leave"): {
        kind: {**rule, **{r: 0 for r, c in rule.items() if c == 200 and r != "anonymous"}}
        | {
            r: 404
            for r in ("official", "staff", "admin", "removed", "removed_token")
            if kind == "listed"
        }
        for kind, rule in KNOWN.items()
    },
    ("POST", "/api/v1/circles/{circle_id:id}/leave"): {
        kind: {
            **rule,
            "anonymous": 401,
            **{
                r: 404
                for r in ("official", "staff", "admin", "removed", "removed_token")
                if kind == "listed"
            },
        }
        for kind, rule in KNOWN.items()
    },
}

# Bodies for the API: valid in shape, refused on their content once access is settled.
API_BODIES = {
    "/api/v1/circles": {},
    "/invitations": {"email": "nobody@example.org"},
    "/join": {"agreement_version": 999},
    "/threads": {"title": "", "body": ""},
    "/checkins": {"score": 9},
}


@dataclass
class World:
    users: dict[str, User]
    values: dict[str, str]
    # The removed member's API token and session, both made while they were a member.
    token: str
    session: str


async def build_world(settings: Settings, kind: str) -> World:
    staff = await person("sam@network.example", Role.STAFF, name="Sam Staff")
    users = {
        "official": await person("ola@oslo.example", name="Ola"),
        "staff": staff,
        "admin": await person("ada@network.example", Role.ADMIN, name="Ada"),
        "invited": await person("ivy@lyon.example", name="Ivy"),
        "member": await person("mo@lviv.example", name="Mo"),
        "facilitator": await person("fay@nice.example", name="Fay"),
        "removed": await person("rex@rome.example", name="Rex"),
        "removed_token": await person("tia@turin.example", name="Tia"),
    }
    circle = await circles.check_create_circle(
        settings,
        staff,
        CircleInput(
            name=f"The {kind} circle",
            purpose="Peers after an attack",
            kind=kind,
            facilitator=users["facilitator"].email,
        ),
    )
    fay = users["facilitator"]
    await circle_members.check_join(settings, fay, circle.id, 1)
    for role in ("invited", "member", "removed", "removed_token"):
        await circle_members.check_invite(settings, fay, circle.id, users[role].email)
        if role != "invited":
            await circle_members.check_join(settings, users[role], circle.id, 1)
    await circle_members.check_remove(settings, fay, circle.id, users["removed"].id)
    token = (
        await tokens.issue_token(TOKEN_SETTINGS, users["removed_token"].email, "before removal", 30)
    ).raw
    session = await sessions.start_session(users["removed_token"])
    await circle_members.check_remove(settings, fay, circle.id, users["removed_token"].id)
    thread = await circle_posts.check_start_thread(
        settings, users["member"], circle.id, "How do you sleep?", "Badly, since **March**."
    )
    post = await circle_posts.thread_view(users["member"], circle.id, thread.id)
    meeting = await circle_meetings.check_schedule(
        settings, fay, circle.id, "2031-05-06T15:00:00+00:00", 60, "https://meet.example.org/c"
    )
    values = {
        "{circle_id:id}": str(circle.id),
        "{thread_id:id}": str(thread.id),
        "{post_id:id}": str(post.posts[0].id),
        "{meeting_id:id}": str(meeting.id),
        "{user_id:id}": str(users["member"].id),
    }
    return World(users, values, token, session)


def concrete(path: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    assert "{" not in path, path
    return path


@pytest.fixture
async def script(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """An API client that keeps no cookies: its bearer token alone counts."""
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url), cookies=jar
    ) as http:
        yield http


async def _status(
    client: httpx.AsyncClient,
    script: httpx.AsyncClient,
    bearer: str,
    method: str,
    template: str,
    path: str,
) -> int:
    if path.startswith("/api/"):
        body = next((b for end, b in API_BODIES.items() if template.endswith(end)), None)
        if bearer:
            headers = {"Authorization": f"Bearer {bearer}"}
            return (await script.request(method, path, json=body, headers=headers)).status_code
        if method == "GET":
            return (await client.get(path)).status_code
        await client.get("/")
        headers = {"X-CSRF-Token": csrf_token(client)}
        return (await client.request(method, path, json=body, headers=headers)).status_code
    if method == "GET":
        return (await client.get(path)).status_code
    return (await post_form(client, path, {})).status_code


@pytest.mark.parametrize("kind", ["listed", "unlisted"])
@pytest.mark.parametrize("role", ROLES)
async def test_circle_access_matrix(
    client: httpx.AsyncClient,
    script: httpx.AsyncClient,
    settings: Settings,
    role: str,
    kind: str,
) -> None:
    world = await build_world(settings, kind)
    bearer = ""
    if role == "removed_token":
        # The session and the token were opened while a member, and are still open.
        client.cookies.set(session_cookie_name(False), world.session)
        bearer = world.token
    elif role != "anonymous":
        await sign_in(client, world.users[role].email)
    before = await CircleMembership.all().order_by("id").values_list("user_id", "state")
    seen: dict[tuple[str, str], int] = {}
    for (method, path), by_kind in RULES.items():
        expected = by_kind[kind][role]
        if expected == 0:
            continue  # an allowed change, done for real in test_circles.py
        url = concrete(path, world.values)
        seen[(method, path)] = await _status(client, script, bearer, method, path, url)
    wrong = {
        key: (status, RULES[key][kind][role])
        for key, status in seen.items()
        if status != RULES[key][kind][role]
    }
    assert not wrong, f"{role} / {kind}: (got, expected) {wrong}"
    if role not in (*MEMBERS, "invited"):
        # Refused people changed nothing about who is in the circle.
        assert await CircleMembership.all().order_by("id").values_list("user_id", "state") == (
            before
        )


def test_every_circle_route_has_a_rule(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    routes = {
        (method, route.path)
        for route in app.routes
        if getattr(route, "path", "").startswith(("/circles", "/api/v1/circles", "/admin/circles"))
        for method in getattr(route, "methods", None) or ()
        if method != "HEAD"
    }
    assert routes == set(RULES)


async def test_a_visitor_learns_nothing_from_a_circle_url(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Signed out, an existing unlisted circle and a made-up id answer alike: the sign-in
    page, before anything is looked up."""
    world = await build_world(settings, "unlisted")
    real = world.values["{circle_id:id}"]
    for path in ("/circles/{}", "/circles/{}/members", "/circles/{}/threads/new"):
        found = await client.get(path.format(real))
        missing = await client.get(path.format("987654"))
        assert found.status_code == missing.status_code == 303
        assert found.headers["location"].replace(real, "X") == missing.headers["location"].replace(
            "987654", "X"
        )
    for path in ("/api/v1/circles/{}", "/api/v1/circles/{}/threads"):
        found = await client.get(path.format(real))
        missing = await client.get(path.format("987654"))
        assert found.status_code == missing.status_code == 401
        assert found.json() == missing.json()
