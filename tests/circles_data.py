"""A cast for the circles' tests: staff who create circles, an admin, a facilitator, a
member, an official outside, and peers to fill a circle."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from exchange.models.accounts import Role, User
from exchange.models.circles import Circle
from exchange.services import circle_members, circles, tokens
from exchange.services.circles import CircleInput
from exchange.services.secrets import hash_password
from exchange.settings import Settings

from support import PASSWORD

# Tokens made for tests tell their owner by email, as every new token does.
TOKEN_SETTINGS = Settings(base_url="http://exchange.test")

NAME = "Harbour of the Zephyrine"
PURPOSE = "Mayors who lived through an attack on their city"


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


async def person(email: str, role: Role = Role.OFFICIAL, name: str = "", **extra: Any) -> User:
    """`support.make_user`, hashing the shared test password once rather than per user."""
    return await User.create(
        email=email,
        name=name or email.split("@")[0].title(),
        role=role,
        password_hash=_password_hash(),
        **extra,
    )


async def cast() -> dict[str, User]:
    """The people of the circles' tests (call it from a fixture that uses `client`)."""
    cast = {
        "staff": await person("sam@network.example", Role.STAFF, name="Sam Staff"),
        "admin": await person("ada@network.example", Role.ADMIN, name="Ada Admin"),
        "fay": await person("fay@nice.example", name="Fay", timezone="Europe/Paris"),
        "mo": await person("mo@lviv.example", name="Mo", timezone="Europe/Kyiv"),
        "ola": await person("ola@oslo.example", name="Ola"),
    }
    for n in range(6):
        cast[f"p{n}"] = await person(f"p{n}@peers.example", name=f"Peer {n}")
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
    created = await tokens.issue_token(TOKEN_SETTINGS, user.email, "tests", 30)
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
