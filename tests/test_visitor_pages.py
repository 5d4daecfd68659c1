"""Library pages kept for visitors: each visitor gets their own CSRF token, a change shows
on the next request, and signed-in readers and flashed messages never see a kept copy."""

from __future__ import annotations

import asyncio
import logging
import re

import httpx
import pytest

from exchange.models.accounts import Role
from exchange.models.cities import City, Practice
from exchange.services import capacity, catalogue_version, visitor_stamp
from exchange.services.unit_of_work import unit_of_work
from exchange.settings import Settings
from exchange.web import visitor_pages
from exchange.web.csrf import cookie_name

from library_data import make_city, make_practice, taxonomy
from support import make_user, post_form, sign_in

PAGES = ["/", "/cities", "/cities/lyon-fr", "/challenges", "/challenges/community-engagement"]


@pytest.fixture
async def lyon() -> City:
    await taxonomy()
    city = await make_city("lyon-fr", name="Lyon", languages=["fr"], mentoring_capacity=2)
    await make_practice(city, "Mediators", challenges=("community-engagement",))
    await make_user("staff@example.org", Role.STAFF)
    return city


def page_token(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', html)
    assert found, "the layout names the page's CSRF token"
    return found.group(1)


async def test_each_visitor_gets_their_own_token_in_a_kept_page(
    client: httpx.AsyncClient, lyon: City
) -> None:
    practice = await Practice.get(title="Mediators")
    for url in [*PAGES, f"/practices/{practice.id}"]:
        client.cookies.clear()
        first = await client.get(url)
        client.cookies.clear()
        second = await client.get(url)
        assert first.status_code == second.status_code == 200, url
        tokens = page_token(first.text), page_token(second.text)
        assert tokens[0] != tokens[1], url
        assert tokens[1] == second.cookies.get(cookie_name(False)), url
        assert visitor_pages.PLACEHOLDER not in second.text, url
        # Apart from the token, the second visitor reads the page the first one did.
        assert first.text.replace(tokens[0], "") == second.text.replace(tokens[1], ""), url


async def test_a_change_shows_to_visitors_on_the_next_request(
    client: httpx.AsyncClient, lyon: City
) -> None:
    practice = await Practice.get(title="Mediators")
    assert "Mediators" in (await client.get(f"/practices/{practice.id}")).text
    assert "Mediators" in (await client.get("/cities/lyon-fr")).text
    await sign_in(client, "staff@example.org")
    form = {
        "title": "Street mediators",
        "summary": "Mediators in the streets.",
        "challenges": "community-engagement",
        "status": "published",
    }
    response = await post_form(client, f"/practices/{practice.id}/edit", form)
    assert response.status_code == 303, response.text
    client.cookies.clear()
    assert "Street mediators" in (await client.get(f"/practices/{practice.id}")).text
    assert "Street mediators" in (await client.get("/cities/lyon-fr")).text


async def test_capacity_taken_shows_to_visitors_on_the_next_request(
    client: httpx.AsyncClient, lyon: City, settings: Settings
) -> None:
    practice = await Practice.get(title="Mediators")
    assert "Can host 2 more exchanges" in (await client.get(f"/practices/{practice.id}")).text
    async with unit_of_work(settings) as uow:
        await capacity.take_capacity(lyon)
        uow.availability_changed()
    assert "Can host 1 more exchange" in (await client.get(f"/practices/{practice.id}")).text


async def test_another_workers_change_shows_once_the_stamp_is_read_again(
    client: httpx.AsyncClient, lyon: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Lyon" in (await client.get("/cities")).text
    # Another process renames the city and bumps the version: this worker has no hook
    # to run, so it finds out by reading the stamp again.
    await City.filter(id=lyon.id).update(name="Lugdunum")
    await catalogue_version.bump()
    monkeypatch.setattr(visitor_stamp, "REFRESH_SECONDS", 0.0)
    assert "Lugdunum" in (await client.get("/cities")).text


async def test_signed_in_readers_and_flashed_messages_bypass_kept_pages(
    client: httpx.AsyncClient, lyon: City
) -> None:
    assert "Sign in" in (await client.get("/")).text
    assert "Edit the profile" not in (await client.get("/cities/lyon-fr")).text
    await sign_in(client, "staff@example.org")
    assert "Edit the profile" in (await client.get("/cities/lyon-fr")).text
    assert "Sign out" in (await client.get("/")).text
    # Signing out lands a visitor on the front page with a message for them alone.
    signed_out = await post_form(client, "/logout")
    assert signed_out.status_code == 303
    front = await client.get(signed_out.headers["location"])
    assert "You are signed out." in front.text
    assert "You are signed out." not in (await client.get("/")).text


async def test_a_missing_page_is_not_kept(client: httpx.AsyncClient, lyon: City) -> None:
    assert (await client.get("/cities/nowhere")).status_code == 404
    await make_city("nowhere", name="Nowhere")
    assert (await client.get("/cities/nowhere")).status_code == 200


def statements_logged(caplog: pytest.LogCaptureFixture) -> list[int]:
    return [int(r.db_statements) for r in caplog.records if hasattr(r, "db_statements")]


async def test_visitors_arriving_together_wait_for_one_render(
    client: httpx.AsyncClient, lyon: City, caplog: pytest.LogCaptureFixture
) -> None:
    """When the kept pages are dropped (the data or the minute moved), the visitors then
    arriving for a page take the one render the first of them started."""
    caplog.set_level(logging.INFO, logger="exchange.access")
    await client.get("/cities")
    visitor_pages.forget()
    caplog.clear()
    await client.get("/cities")
    (alone,) = statements_logged(caplog)
    assert alone >= 3
    visitor_pages.forget()
    caplog.clear()
    client.cookies.clear()  # eight new visitors, eight tokens
    answers = await asyncio.gather(*(client.get("/cities") for _ in range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert len({page_token(a.text) for a in answers}) == 8
    counts = statements_logged(caplog)
    assert len(counts) == 8
    assert sum(counts) == alone, counts
