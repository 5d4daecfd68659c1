"""Text fields refuse control characters (CR and LF in one-line fields, NUL anywhere) with
a field error, in forms, the API and the catalogue import; multi-line fields keep their
line breaks and tabs."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from exchange.models.accounts import Role, User
from exchange.models.cities import City, Practice
from exchange.models.matching import MatchRequest
from exchange.services import catalogue as catalogue_service
from exchange.services import peer_invitations, tokens
from exchange.services.catalogue import CatalogueError
from exchange.settings import Settings

from matching_data import Catalogue, load_catalogue
from support import PASSWORD, make_user, post_form, sign_in

LINE_BREAKS = ("Lviv\r\nBcc: everyone@example.org", "Lviv\nnext", "Lviv\rnext", "Lviv\u2028x")
NUL = "Lviv\x00"


def field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="error" id="error-([a-z_]+)">([^<]*)</p>', html))


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


CITY_FORM = {
    "name": "Lviv",
    "country": "UA",
    "region": "europe",
    "population": "",
    "languages": "uk",
    "timezone": "Europe/Kyiv",
    "mentoring_capacity": "1",
    "profile": "",
}


@pytest.mark.parametrize("name", [*LINE_BREAKS, NUL, "Li\tviv", "Lviv\x1b[31m"])
async def test_a_city_name_keeps_to_one_clean_line(
    client: httpx.AsyncClient, catalogue: Catalogue, name: str
) -> None:
    await sign_in(client, catalogue.lviv.email)
    response = await post_form(client, "/cities/lviv-ua/edit", {**CITY_FORM, "name": name})
    assert response.status_code == 400
    assert "name" in field_errors(response.text)
    assert (await City.get(key="lviv-ua")).name == "Lviv"


async def test_multi_line_fields_keep_line_breaks_and_tabs_but_not_nul(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await sign_in(client, catalogue.lviv.email)
    profile = "First line\r\n\tindented\nlast"
    ok = await post_form(client, "/cities/lviv-ua/edit", {**CITY_FORM, "profile": profile})
    assert ok.status_code == 303
    assert (await City.get(key="lviv-ua")).profile == profile
    bad = await post_form(
        client, "/cities/lviv-ua/edit", {**CITY_FORM, "profile": "Text\x00with NUL"}
    )
    assert bad.status_code == 400
    assert set(field_errors(bad.text)) == {"profile"}


async def test_practice_titles_and_links_are_one_line(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await sign_in(client, catalogue.lviv.email)
    form = {
        "title": "Night\rbuses",
        "summary": "Safer journeys\nhome.\x00",
        "challenges": ["post-attack-recovery"],
        "links": "https://example.org/a\x0bb",
        "status": "draft",
    }
    response = await post_form(client, "/cities/lviv-ua/practices/new", form)
    assert response.status_code == 400
    assert {"title", "summary", "links"} <= set(field_errors(response.text))
    assert not await Practice.filter(title__startswith="Night").exists()


async def test_names_of_people_and_tokens_are_one_line(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    profile = await post_form(
        client, "/settings", {"name": "Sam\r\nX", "timezone": "UTC", "locale": "en"}
    )
    assert "name" in field_errors(profile.text)
    invite = await post_form(
        client,
        "/invitations/new",
        {"email": "n@example.org", "name": "N\nBcc: x", "role": "staff", "city": ""},
    )
    assert "name" in field_errors(invite.text)
    nul_email = await post_form(
        client,
        "/invitations/new",
        {"email": "n\x00@example.org", "name": "N", "role": "staff", "city": ""},
    )
    assert "email" in field_errors(nul_email.text)
    token = await post_form(
        client, "/settings/tokens", {"name": "scr\r\nipt", "password": PASSWORD}
    )
    assert "name" in field_errors(token.text)
    assert (await User.get(email="s@example.org")).name == "S"


async def test_the_challenge_name_is_one_line(client: httpx.AsyncClient) -> None:
    await load_catalogue()
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    response = await post_form(
        client,
        "/challenges/post-attack-recovery/edit",
        {"name": "Recovery\nafter", "description": "Fine\nlines\x00"},
    )
    assert response.status_code == 400
    assert {"name", "description"} <= set(field_errors(response.text))


async def test_the_api_refuses_control_characters_field_by_field(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    raw = (await tokens.check_create_token(settings, catalogue.lviv, "s", PASSWORD)).raw
    body = {
        "city": "lviv-ua",
        "challenges": ["post-attack-recovery"],
        "description": "What now?\u0000",
        "time_frame": "spring\r\nsummer",
    }
    response = await client.post(
        "/api/v1/requests", json=body, headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"description", "time_frame"}
    body.update(description="What now?\nTwo lines\tand a tab.", time_frame="spring")
    response = await client.post(
        "/api/v1/requests", json=body, headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 201, response.text
    assert (await MatchRequest.get()).description == "What now?\nTwo lines\tand a tab."


async def test_answers_and_feedback_refuse_nul(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    await sign_in(client, catalogue.lviv.email)
    form = {
        "city": "lviv-ua",
        "challenges": ["post-attack-recovery"],
        "description": "Help",
        "format": "online",
        "peers_wanted": "1",
    }
    response = await post_form(client, "/requests/new", form)
    request_id = int(response.headers["location"].rsplit("/", 1)[1])
    invitation = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, request_id, "nice-fr"
    )
    client.cookies.clear()
    await sign_in(client, catalogue.nice.email)
    declined = await post_form(
        client, f"/peer-invitations/{invitation.id}", {"answer": "decline", "reason": "No\x00"}
    )
    assert declined.status_code == 400
    assert "reason" in field_errors(declined.text)


async def test_the_catalogue_import_refuses_control_characters(clean_db: str) -> None:
    await load_catalogue()
    data = {
        "cities": [
            {
                "key": "kyiv-ua",
                "name": "Ky\r\niv",
                "country": "UA",
                "region": "europe",
                "profile": "Line one\nline two\x00",
            }
        ]
    }
    with pytest.raises(CatalogueError) as refused:
        await catalogue_service.import_catalogue(_stream(json.dumps(data)))
    problems = "\n".join(refused.value.problems)
    assert "cities[0].name:" in problems
    assert "cities[0].profile:" in problems
    assert not await City.filter(key="kyiv-ua").exists()


def _stream(text: str) -> object:
    import io

    return io.BytesIO(text.encode())


async def test_sign_in_and_reset_with_nul_are_plain_failures(client: httpx.AsyncClient) -> None:
    await client.get("/login")
    response = await post_form(client, "/login", {"email": "o\x00@example.org", "password": "x"})
    assert response.status_code == 400
    reset = await post_form(client, "/password/reset", {"email": "o\x00@example.org"})
    assert reset.status_code == 200


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/cities/lviv%00-ua", 404),
        ("/challenges/x%00", 404),
        ("/library?q=a%00b&challenge=x%00", 200),
        ("/cities?country=%00", 200),
        ("/admin/users?q=a%00", 200),
        ("/admin/audit?event=sign_in%00", 200),
    ],
)
async def test_nul_in_a_url_is_never_an_error(
    client: httpx.AsyncClient, url: str, status: int
) -> None:
    """PostgreSQL cannot even compare a NUL: a path holding one names nothing (404), and a
    query value holding one is read without it, like any impossible filter."""
    await make_user("admin@example.org", Role.ADMIN)
    await sign_in(client, "admin@example.org")
    response = await client.get(url)
    assert response.status_code == status
