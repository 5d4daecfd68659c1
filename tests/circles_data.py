"""A cast for the circles' tests: staff who create circles, an admin, a facilitator, a
member, an official outside, and peers to fill a circle."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from exchange.models.accounts import Role, User
from exchange.models.circles import Circle
from exchange.services import circle_members, circles, tokens
from exchange.services.circles import CircleInput
from exchange.settings import Settings

from support import make_user

NAME = "Harbour of the Zephyrine"
PURPOSE = "Mayors who lived through an attack on their city"


async def cast() -> dict[str, User]:
    """The people of the circles' tests (call it from a fixture that uses `client`)."""
    cast = {
        "staff": await make_user("sam@network.example", Role.STAFF, name="Sam Staff"),
        "admin": await make_user("ada@network.example", Role.ADMIN, name="Ada Admin"),
        "fay": await make_user("fay@nice.example", name="Fay", timezone="Europe/Paris"),
        "mo": await make_user("mo@lviv.example", name="Mo", timezone="Europe/Kyiv"),
        "ola": await make_user("ola@oslo.example", name="Ola"),
    }
    for n in range(6):
        cast[f"p{n}"] = await make_user(f"p{n}@peers.example", name=f"Peer {n}")
    return cast


@contextlib.asynccontextmanager
async def api_client(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """An API client on the same app that keeps no cookies: only its bearer token counts."""
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url), cookies=jar
    ) as http:
        yield http


async def bearer(user: User) -> dict[str, str]:
    created = await tokens.issue_token(user.email, "tests", 30)
    return {"Authorization": f"Bearer {created.raw}"}


async def make_circle(
    settings: Settings,
    people: dict[str, User],
    *members: str,
    kind: str = "unlisted",
    name: str = NAME,
    cap: int = 12,
) -> Circle:
    """A circle made by staff and facilitated by Fay, with `members` in it (agreed)."""
    made = await circles.check_create_circle(
        settings,
        people["staff"],
        CircleInput(
            name=name,
            purpose=PURPOSE,
            kind=kind,
            facilitator=people["fay"].email,
            cap=cap,
            timezone="UTC",
        ),
    )
    await circle_members.check_join(settings, people["fay"], made.id, 1)
    for key in members:
        await circle_members.check_invite(settings, people["fay"], made.id, people[key].email)
        await circle_members.check_join(settings, people[key], made.id, 1)
    return await Circle.get(id=made.id)
