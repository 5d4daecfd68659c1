"""The redesigned pages: the front page and the dashboards, city and practice pages,
asking a city for help, the candidates, and the components every page is built from."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from exchange.models.matching import PeerInvitation

from matching_data import Catalogue, load_catalogue
from support import post_form, switch

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
REQUEST = {
    "city": "lviv-ua",
    "challenges": ["post-attack-recovery"],
    "description": "How do we support victims and bereaved families after an attack?",
    "languages": "en",
    "format": "online",
    "peers_wanted": "2",
}


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


async def file_request(client: httpx.AsyncClient, **changes: object) -> str:
    response = await post_form(client, "/requests/new", {**REQUEST, **changes})
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


async def invite(client: httpx.AsyncClient, location: str, city: str) -> PeerInvitation:
    request_id = int(location.split("?")[0].rsplit("/", 1)[1])
    response = await post_form(client, f"/requests/{request_id}/invite", {"city": city})
    assert response.status_code == 303
    return await PeerInvitation.get(request_id=request_id, city__key=city)


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"', 1)[1].split("</section>", 1)[0]


async def test_visitors_see_challenges_with_counts_recent_practices_and_how_to_join(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    page = (await client.get("/")).text
    # Three published practices address post-attack recovery; the draft does not count.
    assert re.search(
        r'<a class="chip" href="/challenges/post-attack-recovery">Post-attack recovery '
        r'<span class="chip-count">3<',
        page,
    )
    assert "Recovery after the Arena bombing" in page
    assert "Recovery after the July attacks" not in page
    assert "How a city joins" in page and 'href="/login"' in page


async def test_an_officials_dashboard_follows_requests_invitations_and_exchanges(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await switch(client, catalogue.lviv)
    location = await file_request(client)
    invitation = await invite(client, location, "manchester-gb")

    await switch(client, catalogue.manchester)
    home = (await client.get("/")).text
    waiting = section(home, "answer-heading")
    assert "Lviv asks Manchester for peer support" in waiting
    assert f'href="/peer-invitations/{invitation.id}"' in waiting
    assert "Answer by" in waiting
    await post_form(client, f"/peer-invitations/{invitation.id}", {"answer": "accept"})
    assert "Your city helps Lviv" in (await client.get("/")).text

    await switch(client, catalogue.lviv)
    home = (await client.get("/")).text
    requests = section(home, "requests-heading")
    assert location.split("?")[0] in requests
    assert '<progress value="1" max="2"' in requests and "1 of 2 peers" in requests
    assert "Manchester helps your city" in section(home, "exchanges-heading")


async def test_staff_see_the_brokering_queue_counted(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await switch(client, catalogue.lviv)
    location = await file_request(client)
    await invite(client, location, "oslo-no")  # Oslo has no official on Exchange
    await switch(client, catalogue.staff)
    home = (await client.get("/")).text

    def count(label: str) -> int:
        match = re.search(
            rf'<span class="stat-label">{label}</span>\s*<span class="stat-value">(\d+)<', home
        )
        assert match, label
        return int(match.group(1))

    assert count("Requests with invitations out") == 1
    assert count("Invitations waiting for an answer") == 1
    assert count("Invitations to cities with no official") == 1
    assert "Lviv asks Oslo for peer support" in section(home, "answer-heading")


async def test_the_city_page_shows_time_capacity_experience_practices_and_exchanges(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    page = (await client.get("/cities/manchester-gb")).text
    assert "Local time now" in page
    assert "Can host 1 more exchange" in page
    experience = section(page, "experience-heading")
    assert 'href="/challenges/post-attack-recovery"' in experience
    practices = section(page, "practices-heading")
    assert "Recovery after the Arena bombing" in practices
    assert "since 2017" in practices and "Long-term support for victims" in practices
    assert "Manchester has not taken part in an exchange on Exchange yet." in page
    assert "Not hosting now" in (await client.get("/cities/berlin-de")).text


async def test_asking_a_city_for_help_is_offered_to_officials_of_other_cities(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    ask = 'href="/requests/new?peer=nice-fr"'
    assert ask not in (await client.get("/cities/nice-fr")).text
    await switch(client, catalogue.nice)
    assert ask not in (await client.get("/cities/nice-fr")).text
    await switch(client, catalogue.lviv)
    assert ask in (await client.get("/cities/nice-fr")).text


async def test_a_request_started_from_a_city_page_shows_that_city_first(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await switch(client, catalogue.lviv)
    form = (await client.get("/requests/new?peer=nice-fr")).text
    assert "You are asking Nice for help." in form
    assert '<input type="hidden" name="peer" value="nice-fr">' in form
    # An unknown or own city is no preference at all.
    assert "You are asking" not in (await client.get("/requests/new?peer=lviv-ua")).text
    assert "You are asking" not in (await client.get("/requests/new?peer=nowhere")).text

    location = await file_request(client, peer="nice-fr")
    assert location.endswith("?peer=nice-fr")
    page = (await client.get(location)).text
    candidates = section(page, "candidates-heading")
    assert candidates.index('href="/cities/nice-fr"') < candidates.index(
        'href="/cities/manchester-gb"'
    )
    assert "You asked this city" in candidates
    # Without the preference the ranking decides the order.
    plain = section((await client.get(location.split("?")[0])).text, "candidates-heading")
    assert "You asked this city" not in plain


async def test_candidates_are_compact_cards_below_the_invitations_once_there_are_some(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await switch(client, catalogue.lviv)
    location = await file_request(client)
    page = (await client.get(location)).text
    assert page.index('id="candidates-heading"') < page.index('id="invitations-heading"')
    candidates = section(page, "candidates-heading")
    assert "<meter" in candidates and "Fit with the request" in candidates
    assert candidates.count("<article") == candidates.count('name="city"')
    # the score's parts, labelled, one share each
    assert candidates.count("How the score is made up") == candidates.count("<article")
    for label in ("Taxonomy fit", "Text match", "Language", "Region", "Size", "Availability"):
        assert f'aria-label="{label}"' in candidates

    await invite(client, location, "manchester-gb")
    page = (await client.get(location)).text
    assert page.index('id="invitations-heading"') < page.index('id="candidates-heading"')


async def test_the_practice_page_lists_related_practices(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    page = (await client.get("/cities/manchester-gb")).text
    practice_id = re.search(r'href="/practices/(\d+)">Recovery after the Arena', page)
    assert practice_id
    practice = (await client.get(f"/practices/{practice_id.group(1)}")).text
    related = section(practice, "related-heading")
    assert "Accompagner les victimes" in related and "Breitscheidplatz" in related
    assert "Newcomer welcome centres" not in related  # no challenge in common
    assert "Recovery after the July attacks" not in related  # a draft


async def test_the_navigation_collapses_into_a_menu_that_needs_no_script(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    page = (await client.get("/cities")).text
    assert '<details class="site-menu">' in page and "<script" not in page
    assert '<a href="/cities" aria-current="page">Cities</a>' in page


def test_pages_build_facts_tables_and_styles_from_the_components() -> None:
    """Facts go through m.key_values, tables through m.data_table, and no page carries
    styles of its own (the CSP forbids inline styles anyway)."""
    for template in TEMPLATES.rglob("*.html"):
        if template.name == "macros.html" or template.parent.name == "mail":
            continue
        text = template.read_text(encoding="utf-8")
        name = template.relative_to(TEMPLATES)
        assert "<dl" not in text, f"{name}: use m.key_values"
        assert "<table" not in text, f"{name}: use m.data_table"
        assert "style=" not in text and "<style" not in text, name
