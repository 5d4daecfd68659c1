"""The city library pages: who reads and edits what, the forms, the directory, the
taxonomy, and the staff catalogue upload."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from starlette.requests import Request

from exchange.models.accounts import Role
from exchange.models.cities import Challenge, City, CityLanguage, Practice, PracticeStatus, Region
from exchange.services import catalogue_version
from exchange.web.rendering import page_url

from library_data import city_entry, make_city, make_practice, practice_entry, taxonomy
from support import make_user, post_form, sign_in


@pytest.fixture
async def cities(client: httpx.AsyncClient) -> dict[str, City]:
    await taxonomy()
    lyon = await make_city("lyon-fr", name="Lyon", population=520000, languages=["fr"])
    leeds = await make_city(
        "leeds-gb",
        name="Leeds",
        country="GB",
        population=800000,
        languages=["en"],
        timezone="Europe/London",
    )
    boston = await make_city(
        "boston-us",
        name="Boston",
        country="US",
        population=None,
        region=Region.NORTH_AMERICA,
        languages=["en", "es"],
    )
    await make_practice(
        lyon,
        "Mediators",
        summary="**Bold** <script>alert(1)</script>",
        challenges=("community-engagement",),
    )
    await make_practice(lyon, "Hidden plan", status=PracticeStatus.DRAFT)
    await make_practice(leeds, "Flood wardens", challenges=("crisis-communication",))
    await make_user("lyon@example.org", Role.OFFICIAL, city=lyon)
    await make_user("staff@example.org", Role.STAFF)
    return {"lyon": lyon, "leeds": leeds, "boston": boston}


async def practice_id(title: str) -> int:
    return (await Practice.get(title=title)).id


async def test_visitors_read_cities_and_published_practices(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    response = await client.get("/cities/lyon-fr")
    assert response.status_code == 200
    assert "Mediators" in response.text
    assert "Hidden plan" not in response.text
    assert "Edit the profile" not in response.text
    response = await client.get(f"/practices/{await practice_id('Mediators')}")
    assert response.status_code == 200
    assert "<strong>Bold</strong>" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert (await client.get("/cities/nowhere-xx")).status_code == 404
    assert (await client.get("/practices/999999")).status_code == 404


async def test_drafts_are_404_except_for_the_citys_officials_and_staff(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    url = f"/practices/{await practice_id('Hidden plan')}"
    assert (await client.get(url)).status_code == 404
    await make_user("leeds@example.org", Role.OFFICIAL, city=cities["leeds"])
    await sign_in(client, "leeds@example.org")
    assert (await client.get(url)).status_code == 404
    assert "Hidden plan" not in (await client.get("/cities/lyon-fr")).text
    client.cookies.clear()
    await sign_in(client, "lyon@example.org")
    response = await client.get(url)
    assert response.status_code == 200 and "Draft" in response.text
    assert "Hidden plan" in (await client.get("/cities/lyon-fr")).text
    client.cookies.clear()
    await sign_in(client, "staff@example.org")
    assert (await client.get(url)).status_code == 200


async def test_an_official_edits_their_own_city_but_not_another(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    await sign_in(client, "lyon@example.org")
    assert (await client.get("/cities/leeds-gb/edit")).status_code == 403
    response = await post_form(client, "/cities/leeds-gb/edit", {"name": "Hacked"})
    assert response.status_code == 403
    assert (await City.get(key="leeds-gb")).name == "Leeds"
    leeds_practice = await practice_id("Flood wardens")
    assert (await client.get(f"/practices/{leeds_practice}/edit")).status_code == 403
    assert (await post_form(client, "/cities/leeds-gb/practices/new", {})).status_code == 403

    before = await catalogue_version.current()
    response = await post_form(
        client,
        "/cities/lyon-fr/edit",
        {
            "name": "Lyon",
            "country": "FR",
            "region": "europe",
            "population": "522000",
            "languages": "fr, en",
            "timezone": "Europe/Paris",
            "mentoring_capacity": "2",
            "profile": "Home of the *mediators*.",
        },
    )
    assert response.status_code == 303, response.text
    city = await City.get(key="lyon-fr")
    assert (city.population, city.mentoring_capacity) == (522000, 2)
    codes = await CityLanguage.filter(city=city).order_by("position").values_list("code", flat=True)
    assert codes == ["fr", "en"]
    assert await catalogue_version.current() == before + 1
    assert "<em>mediators</em>" in (await client.get("/cities/lyon-fr")).text


async def test_signed_out_editors_are_sent_to_sign_in(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    response = await client.get("/cities/lyon-fr/edit")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_the_city_form_shows_each_error_next_to_its_field(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    await sign_in(client, "lyon@example.org")
    response = await post_form(
        client,
        "/cities/lyon-fr/edit",
        {
            "name": "",
            "country": "ZZ",
            "region": "mars",
            "population": "lots",
            "languages": "fr, xx",
            "timezone": "Europe/Lyon",
            "mentoring_capacity": "-1",
            "profile": "",
        },
    )
    assert response.status_code == 400
    for field in (
        "name",
        "country",
        "region",
        "population",
        "languages",
        "timezone",
        "mentoring_capacity",
    ):
        assert f'id="error-{field}"' in response.text, field
    assert "Unknown language code &#39;xx&#39;" in response.text
    assert (await City.get(key="lyon-fr")).name == "Lyon"


async def test_the_city_form_says_a_huge_number_is_too_large_and_names_every_bad_language(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    await sign_in(client, "lyon@example.org")
    response = await post_form(
        client,
        "/cities/lyon-fr/edit",
        {
            "name": "Lyon",
            "country": "FR",
            "region": "europe",
            "population": "1" * 40,
            "languages": "english, fr, zz",
            "timezone": "Europe/Paris",
            "mentoring_capacity": "1",
            "profile": "",
        },
    )
    assert response.status_code == 400
    errors = dict(re.findall(r'<p class="error" id="error-([a-z_]+)">([^<]*)</p>', response.text))
    assert errors["population"] == "Is too large: the most allowed is 2,000,000,000"
    assert errors["languages"] == (
        "Unknown language codes &#39;english&#39;, &#39;zz&#39; (ISO 639-1, like &#39;en&#39;)"
    )
    assert (await City.get(key="lyon-fr")).population == 520000


async def test_officials_create_and_edit_practices_of_their_city(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    await sign_in(client, "lyon@example.org")
    form = {
        "title": "Night buses",
        "summary": "Safer journeys home.",
        "challenges": ["community-engagement", "soft-target-protection"],
        "since": "2021",
        "outcomes": "",
        "links": "https://example.org/buses\n",
        "status": "draft",
        "last_reviewed": "2025-03-01",
    }
    response = await post_form(client, "/cities/lyon-fr/practices/new", form)
    assert response.status_code == 303, response.text
    practice = await Practice.get(title="Night buses")
    assert response.headers["location"] == f"/practices/{practice.id}"
    assert practice.status == PracticeStatus.DRAFT
    assert practice.links == ["https://example.org/buses"]

    duplicate = await post_form(client, "/cities/lyon-fr/practices/new", form)
    assert duplicate.status_code == 400
    assert "already has a practice with this title" in duplicate.text

    edit = {**form, "status": "published", "challenges": ["online-harms"]}
    response = await post_form(client, f"/practices/{practice.id}/edit", edit)
    assert response.status_code == 303
    await practice.refresh_from_db()
    assert practice.status == PracticeStatus.PUBLISHED
    slugs = await practice.challenge_links.all().values_list("challenge__slug", flat=True)
    assert slugs == ["online-harms"]

    bad = {
        **form,
        "title": "",
        "challenges": [],
        "since": "1492",
        "links": "ftp://x",
        "last_reviewed": "soon",
    }
    response = await post_form(client, f"/practices/{practice.id}/edit", bad)
    assert response.status_code == 400
    for field in ("title", "challenges", "since", "links", "last_reviewed"):
        assert f'id="error-{field}"' in response.text, field
    # An address the standard library cannot even split is refused the same way.
    response = await post_form(
        client, f"/practices/{practice.id}/edit", {**form, "links": "https://[::1/x"}
    )
    assert response.status_code == 400
    assert 'id="error-links"' in response.text


async def test_the_directory_filters_sorts_and_pages(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    def names(response: httpx.Response) -> list[str]:
        return [name for name in ("Boston", "Leeds", "Lyon") if f">{name}</a>" in response.text]

    assert names(await client.get("/cities")) == ["Boston", "Leeds", "Lyon"]
    assert names(await client.get("/cities?region=north-america")) == ["Boston"]
    assert names(await client.get("/cities?country=gb")) == ["Leeds"]
    assert names(await client.get("/cities?language=es")) == ["Boston"]
    assert names(await client.get("/cities?challenge=community-engagement")) == ["Lyon"]
    # Only published practices count: Lyon's draft is on no other challenge.
    assert names(await client.get("/cities?challenge=online-harms")) == []
    response = await client.get("/cities?sort=population")
    text = response.text
    assert text.index(">Leeds<") < text.index(">Lyon<") < text.index(">Boston<")

    for n in range(30):
        await make_city(f"town-{n:02d}", name=f"Town {n:02d}")
    first = await client.get("/cities?region=europe")
    assert "Page 1 of 2" in first.text and 'rel="next"' in first.text
    second = await client.get("/cities?region=europe&page=2")
    assert ">Town 29</a>" in second.text and ">Town 00</a>" not in second.text
    assert "Boston" not in second.text


async def test_the_challenge_page_lists_its_practices_and_cities(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    response = await client.get("/challenges/community-engagement")
    assert response.status_code == 200
    assert "Mediators" in response.text and "Flood wardens" not in response.text
    assert "1 city has a practice on this challenge" in response.text
    assert (await client.get("/challenges/no-such-term")).status_code == 404
    assert "Community" in (await client.get("/challenges")).text


async def test_only_staff_edit_the_taxonomy(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    await sign_in(client, "lyon@example.org")
    assert (await client.get("/challenges/online-harms/edit")).status_code == 403
    client.cookies.clear()
    await sign_in(client, "staff@example.org")
    before = await catalogue_version.current()
    response = await post_form(
        client,
        "/challenges/online-harms/edit",
        {
            "name": "Online harms and hate",
            "description": "Abuse on the internet.",
            "related": ["hate-polarisation", "crisis-communication"],
        },
    )
    assert response.status_code == 303
    term = await Challenge.get(slug="online-harms")
    assert term.name == "Online harms and hate"
    assert term.related == ["hate-polarisation", "crisis-communication"]
    assert await catalogue_version.current() == before + 1
    response = await post_form(
        client,
        "/challenges/online-harms/edit",
        {
            "name": "",
            "description": "",
            "related": ["online-harms", "made-up"],
        },
    )
    assert response.status_code == 400
    assert 'id="error-name"' in response.text and 'id="error-related"' in response.text


def catalogue_upload(data: dict[str, object]) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("catalogue.json", json.dumps(data).encode(), "application/json")}


async def test_staff_import_a_catalogue_through_the_upload_page(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    data = {
        "cities": [city_entry("porto-pt", country="PT", languages=["pt"])],
        "practices": [practice_entry("porto-pt", "Harbour talks")],
    }
    await sign_in(client, "lyon@example.org")
    token = client.cookies.get("exchange_csrf")
    response = await client.post(
        "/import", data={"csrf_token": token}, files=catalogue_upload(data)
    )
    assert response.status_code == 403
    client.cookies.clear()
    await sign_in(client, "staff@example.org")
    assert (await client.get("/import")).status_code == 200

    no_token = await client.post("/import", files=catalogue_upload(data))
    assert no_token.status_code == 403
    assert not await City.filter(key="porto-pt").exists()

    token = client.cookies.get("exchange_csrf")
    response = await client.post(
        "/import", data={"csrf_token": token}, files=catalogue_upload(data)
    )
    assert response.status_code == 303, response.text
    assert await Practice.filter(city__key="porto-pt", title="Harbour talks").exists()
    page = await client.get(response.headers["location"])
    assert "Cities: 1 new" in page.text

    bad = {"cities": [city_entry("faro-pt", country="QQ")], "extra": []}
    response = await client.post("/import", data={"csrf_token": token}, files=catalogue_upload(bad))
    assert response.status_code == 400
    assert "cities[0].country: unknown country code &#39;QQ&#39;" in response.text
    assert "extra: unknown top-level key" in response.text
    assert not await City.filter(key="faro-pt").exists()


async def test_the_import_page_links_the_format_guide_served_by_the_app(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    await sign_in(client, "staff@example.org")
    page = await client.get("/import")
    assert 'href="/import/format"' in page.text
    guide = await client.get("/import/format")
    assert guide.status_code == 200
    assert "<h1>The catalogue format</h1>" in guide.text
    # The document's tables become HTML tables; its code stays code.
    assert (
        "<th>field</th>" in guide.text and "<td><code>mentoring_capacity</code></td>" in guide.text
    )
    assert "| field |" not in guide.text
    client.cookies.clear()
    await sign_in(client, "lyon@example.org")
    assert (await client.get("/import/format")).status_code == 403


async def test_the_import_page_counts_the_problems_once_and_says_where_json_breaks(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    await sign_in(client, "staff@example.org")
    token = client.cookies.get("exchange_csrf")
    bad = {"cities": [city_entry("faro-pt", country="QQ"), city_entry("ovar-pt", region="x")]}
    response = await client.post("/import", data={"csrf_token": token}, files=catalogue_upload(bad))
    assert response.status_code == 400
    assert "The file has 2 problems; nothing was imported." in response.text
    assert response.text.count("2 problem") == 1
    assert 'id="error-file"' in response.text

    broken = {"file": ("c.json", b'{"cities": [\n  {"key": "x"\n]}', "application/json")}
    response = await client.post("/import", data={"csrf_token": token}, files=broken)
    assert response.status_code == 400
    assert "not valid JSON: line 3, column 1: Expecting" in response.text
    assert "expected the file to be a JSON object" not in response.text


async def test_the_demo_catalogue_lists_manchester_among_others(
    client: httpx.AsyncClient, settings: object
) -> None:
    from exchange.demo import load_demo

    await load_demo(settings)  # type: ignore[arg-type]
    await load_demo(settings)  # type: ignore[arg-type]
    assert await City.all().count() == 41
    response = await client.get("/cities")
    assert ">Manchester</a>" in response.text
    assert "41 cities" in response.text
    official = await City.get(key="manchester-gb")
    assert await official.officials.all().count() == 1


async def test_nav_links_to_cities_and_library(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert 'href="/cities"' in response.text and 'href="/library"' in response.text


async def test_the_challenge_page_lists_its_cities_by_name_on_pages_of_their_own(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    # Two practices in one city name it once; a draft-only city is not listed.
    await make_practice(cities["lyon"], "Neighbourhood councils")
    await make_practice(cities["boston"], "Draft outreach", status=PracticeStatus.DRAFT)
    for n in range(30):
        town = await make_city(f"town{n:02d}-fr", name=f"Town {n:02d}")
        await make_practice(town, f"Town practice {n:02d}")

    def city_links(html: str) -> list[str]:
        section = html.split('id="cities-heading"', 1)[1].split("</section>", 1)[0]
        return re.findall(r'<a href="/cities/([a-z0-9-]+)">', section)

    first = await client.get("/challenges/community-engagement")
    assert first.status_code == 200
    assert "31 cities have practices on this challenge" in first.text
    expected = ["lyon-fr"] + [f"town{n:02d}-fr" for n in range(30)]  # "Lyon" < "Town 00"
    assert city_links(first.text) == expected[:25]
    assert "boston-us" not in city_links(first.text)
    assert 'href="/challenges/community-engagement?cities_page=2"' in first.text

    # The cities' page moves on its own; the practices' page stays where it was.
    second = await client.get("/challenges/community-engagement?page=2&cities_page=2")
    assert city_links(second.text) == expected[25:]
    assert "Town practice 29" in second.text and "Mediators" not in second.text
    assert 'href="/challenges/community-engagement?page=1&amp;cities_page=2"' in second.text
    assert 'href="/challenges/community-engagement?page=2&amp;cities_page=1"' in second.text


def test_page_links_change_only_their_own_page_parameter() -> None:
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/challenges/online-harms",
            "query_string": b"page=3&cities_page=2&q=x",
            "headers": [(b"host", b"exchange.test")],
        }
    )
    assert page_url(request, 4) == "/challenges/online-harms?page=4&cities_page=2&q=x"
    assert page_url(request, 1, "cities_page") == (
        "/challenges/online-harms?page=3&cities_page=1&q=x"
    )


async def test_the_challenge_page_names_each_of_its_two_paginations(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    for n in range(30):
        town = await make_city(f"town{n:02d}-fr", name=f"Town {n:02d}")
        await make_practice(town, f"Town practice {n:02d}")
    page = await client.get("/challenges/community-engagement?page=2&cities_page=2")
    assert '<nav class="pagination" aria-label="Pages of cities">' in page.text
    assert '<nav class="pagination" aria-label="Pages of practices">' in page.text
    assert page.text.count('class="pagination"') == 2


async def test_the_challenge_page_says_when_no_city_has_a_practice(
    client: httpx.AsyncClient, cities: dict[str, City]
) -> None:
    response = await client.get("/challenges/online-harms")
    assert response.status_code == 200
    assert "No city has a published practice on this challenge yet." in response.text
