"""The JSON API: personal access tokens, the workflow, errors and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.routing import Route

from exchange.models.accounts import User
from exchange.models.cities import Challenge, City
from exchange.models.matching import MatchRequest, PeerInvitation, PersonalAccessToken
from exchange.services import catalogue_version, outbox, tokens
from exchange.settings import Settings
from exchange.web import api

from matching_data import Catalogue, load_catalogue
from support import PASSWORD, SMTPServer, csrf_token, post_form, sign_in

NEW_REQUEST = {
    "city": "lviv-ua",
    "challenges": ["post-attack-recovery"],
    "description": "How do we support victims and bereaved families after an attack?",
    "languages": ["en"],
    "regions": ["europe"],
    "format": "study-visit",
    "time_frame": "spring",
    "peers_wanted": 2,
}


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


@pytest.fixture
async def script(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """An API client as a script is: it never keeps cookies, so only its token counts."""
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url), cookies=jar
    ) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def token_for(client: httpx.AsyncClient, email: str) -> str:
    """Create a token on the settings page, the way a person does, and read it once."""
    client.cookies.clear()
    await sign_in(client, email)
    page = await post_form(client, "/settings/tokens", {"name": "script", "password": PASSWORD})
    assert page.status_code == 200
    match = re.search(r"<code class=\"token\">(exch_[\w-]+)</code>", page.text)
    assert match, page.text
    client.cookies.clear()
    return match.group(1)


async def test_token_is_shown_once_and_stored_hashed(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    raw = await token_for(client, catalogue.lviv.email)
    stored = await PersonalAccessToken.get(user=catalogue.lviv)
    assert stored.token_hash != raw and raw not in stored.token_hash
    await sign_in(client, catalogue.lviv.email)
    listing = await client.get("/settings/tokens")
    assert "script" in listing.text and raw not in listing.text


async def test_full_workflow_through_the_api(
    client: httpx.AsyncClient,
    script: httpx.AsyncClient,
    catalogue: Catalogue,
    settings: Settings,
    mailbox: SMTPServer,
) -> None:
    lviv = await token_for(client, catalogue.lviv.email)
    manchester = await token_for(client, catalogue.manchester.email)

    created = await script.post("/api/v1/requests", json=NEW_REQUEST, headers=bearer(lviv))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "open" and body["format"] == "study-visit"
    request_id = body["id"]
    assert created.headers["location"] == f"/api/v1/requests/{request_id}"

    candidates = await script.get(f"/api/v1/requests/{request_id}/candidates", headers=bearer(lviv))
    assert candidates.status_code == 200
    ranked = candidates.json()["candidates"]
    assert [c["city"] for c in ranked[:2]] == ["manchester-gb", "nice-fr"]
    assert 0 < ranked[0]["score"] <= 1
    assert any("Recovery after the Arena bombing" in r for r in ranked[0]["reasons"])
    parts = ranked[0]["score_parts"]
    assert [p["part"] for p in parts] == [
        "taxonomy",
        "text",
        "language",
        "region",
        "size",
        "availability",
    ]
    assert [p["label"] for p in parts][:2] == ["Taxonomy fit", "Text match"]
    assert abs(sum(p["share"] for p in parts) - 1) < 0.01
    assert parts[0]["share"] > parts[4]["share"]  # declared experience outweighs size

    invited = await script.post(
        f"/api/v1/requests/{request_id}/invitations",
        json={"city": "manchester-gb"},
        headers=bearer(lviv),
    )
    assert invited.status_code == 201, invited.text
    invitation_id = invited.json()["id"]
    again = await script.post(
        f"/api/v1/requests/{request_id}/invitations",
        json={"city": "manchester-gb"},
        headers=bearer(lviv),
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_invited"

    mine = await script.get("/api/v1/invitations", headers=bearer(manchester))
    assert [i["id"] for i in mine.json()["items"]] == [invitation_id]
    shown = await script.get(f"/api/v1/invitations/{invitation_id}", headers=bearer(manchester))
    assert shown.json()["match_request"]["description"] == NEW_REQUEST["description"]

    # The requester cannot answer for Manchester.
    forbidden = await script.post(
        f"/api/v1/invitations/{invitation_id}/answer",
        json={"answer": "accept"},
        headers=bearer(lviv),
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"

    answered = await script.post(
        f"/api/v1/invitations/{invitation_id}/answer",
        json={"answer": "accept", "reason": "Happy to help"},
        headers=bearer(manchester),
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "accepted"
    assert (await City.get(key="manchester-gb")).capacity_used == 1

    detail = await script.get(f"/api/v1/requests/{request_id}", headers=bearer(lviv))
    data = detail.json()
    assert data["status"] == "open"  # one of two wanted peers so far
    assert data["invitations_left"] == 1
    assert [e["mentor"] for e in data["exchanges"]] == ["manchester-gb"]
    assert [e["kind"] for e in data["timeline"]] == ["filed", "invited", "accepted"]

    listing = await script.get("/api/v1/requests", headers=bearer(lviv))
    assert [r["id"] for r in listing.json()["items"]] == [request_id]

    await outbox.send_due(settings, "test")
    assert mailbox.box.to("mary@manchester.example")
    assert mailbox.box.to("olena@lviv.example")


async def test_authentication_and_revocation(
    client: httpx.AsyncClient, script: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    raw = await token_for(client, catalogue.lviv.email)
    assert (await script.get("/api/v1/requests", headers=bearer(raw))).status_code == 200

    missing = await client.get("/api/v1/requests")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthenticated"
    wrong = await script.get("/api/v1/requests", headers=bearer("exch_not-a-real-token"))
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_token"

    # Revoke on the settings page: the token stops working at once.
    await sign_in(client, catalogue.lviv.email)
    token = await PersonalAccessToken.get(user=catalogue.lviv)
    response = await post_form(client, f"/settings/tokens/{token.id}/revoke")
    assert response.status_code == 303
    client.cookies.clear()
    revoked = await script.get("/api/v1/requests", headers=bearer(raw))
    assert revoked.status_code == 401
    created = await script.post("/api/v1/requests", json=NEW_REQUEST, headers=bearer(raw))
    assert created.status_code == 401

    # Nobody revokes someone else's token.
    other = await tokens.check_create_token(settings, catalogue.nice, "nice script", PASSWORD)
    await sign_in(client, catalogue.lviv.email)
    response = await post_form(client, f"/settings/tokens/{other.token.id}/revoke")
    assert response.status_code == 404
    client.cookies.clear()
    assert (await script.get("/api/v1/requests", headers=bearer(other.raw))).status_code == 200

    # A deactivated user's tokens stop working too.
    catalogue.nice.is_active = False
    await catalogue.nice.save()
    assert (await script.get("/api/v1/requests", headers=bearer(other.raw))).status_code == 401


async def test_cookie_sessions_need_the_csrf_header(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await sign_in(client, catalogue.lviv.email)
    assert (await client.get("/api/v1/requests")).status_code == 200
    refused = await client.post("/api/v1/requests", json=NEW_REQUEST)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    accepted = await client.post(
        "/api/v1/requests", json=NEW_REQUEST, headers={"X-CSRF-Token": csrf_token(client)}
    )
    assert accepted.status_code == 201


async def test_errors_have_one_shape(
    client: httpx.AsyncClient, script: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    lviv = await token_for(client, catalogue.lviv.email)
    nice = await token_for(client, catalogue.nice.email)

    def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()["error"]
        assert body["code"] == code and body["message"]
        assert isinstance(body["fields"], dict)
        return body

    malformed = await script.post(
        "/api/v1/requests",
        content=b"{not json",
        headers={**bearer(lviv), "Content-Type": "application/json"},
    )
    error(malformed, 400, "bad_request")
    invalid = await script.post(
        "/api/v1/requests",
        json={**NEW_REQUEST, "challenges": [], "peers_wanted": 99, "languages": ["english"]},
        headers=bearer(lviv),
    )
    fields = error(invalid, 422, "invalid")["fields"]
    assert set(fields) == {"challenges", "peers_wanted", "languages"}
    wrong_type = await script.post(
        "/api/v1/requests",
        json={**NEW_REQUEST, "challenges": "post-attack-recovery"},
        headers=bearer(lviv),
    )
    assert "challenges" in error(wrong_type, 422, "invalid")["fields"]

    other_city = await script.post(
        "/api/v1/requests", json={**NEW_REQUEST, "city": "nice-fr"}, headers=bearer(lviv)
    )
    error(other_city, 403, "forbidden")
    created = await script.post("/api/v1/requests", json=NEW_REQUEST, headers=bearer(lviv))
    request_id = created.json()["id"]
    error(
        await script.get(f"/api/v1/requests/{request_id}", headers=bearer(nice)), 404, "not_found"
    )
    error(
        await script.get(f"/api/v1/requests/{request_id}/candidates", headers=bearer(nice)),
        404,
        "not_found",
    )
    error(await script.get("/api/v1/requests/999999", headers=bearer(lviv)), 404, "not_found")
    invite = await script.post(
        f"/api/v1/requests/{request_id}/invitations",
        json={"city": "atlantis-xx"},
        headers=bearer(lviv),
    )
    assert "city" in error(invite, 422, "invalid")["fields"]
    bad_answer = await script.post(
        "/api/v1/invitations/1/answer", json={"answer": "maybe"}, headers=bearer(lviv)
    )
    assert bad_answer.status_code in (404, 422)


async def test_openapi_document_is_valid_and_lists_every_route(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"bearerAuth", "cookieSession"}
    assert "X-CSRF-Token" in schemes["cookieSession"]["description"]
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = set()
    for route in client._transport.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path.startswith("/api/v1/"):
            if route.path.endswith("openapi.json"):
                continue
            path = re.sub(r":id}", "}", route.path)
            served |= {(m, path) for m in (route.methods or ()) if m != "HEAD"}
    assert served == documented
    assert len(api.ENDPOINTS) == len(documented)


async def test_unknown_language_codes_are_refused(
    client: httpx.AsyncClient, script: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    lviv = await token_for(client, catalogue.lviv.email)
    response = await script.post(
        "/api/v1/requests", json={**NEW_REQUEST, "languages": ["uk", "zz"]}, headers=bearer(lviv)
    )
    assert response.status_code == 422
    assert "zz" in response.json()["error"]["fields"]["languages"]
    assert "uk" not in response.json()["error"]["fields"]["languages"]


async def test_every_field_of_the_wrong_type_is_reported_at_once(
    client: httpx.AsyncClient, script: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    lviv = await token_for(client, catalogue.lviv.email)
    response = await script.post(
        "/api/v1/requests",
        json={**NEW_REQUEST, "description": 123, "peers_wanted": "2", "languages": "en"},
        headers=bearer(lviv),
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "description": "Give a string.",
        "peers_wanted": "Give a whole number.",
        "languages": "Give a list of strings.",
    }
    assert await MatchRequest.all().count() == 0


async def test_unknown_fields_are_refused_by_every_write_endpoint(
    client: httpx.AsyncClient, script: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    lviv = await token_for(client, catalogue.lviv.email)
    manchester = await token_for(client, catalogue.manchester.email)

    def unknown(response: httpx.Response) -> set[str]:
        assert response.status_code == 422, response.text
        return set(response.json()["error"]["fields"])

    typo = {**NEW_REQUEST, "peers_wated": 2, "priority": "high"}
    refused = await script.post("/api/v1/requests", json=typo, headers=bearer(lviv))
    assert unknown(refused) == {"peers_wated", "priority"}
    assert "peers_wanted" in refused.json()["error"]["fields"]["peers_wated"]
    assert await MatchRequest.all().count() == 0

    created = await script.post("/api/v1/requests", json=NEW_REQUEST, headers=bearer(lviv))
    request_id = created.json()["id"]
    invitations = f"/api/v1/requests/{request_id}/invitations"
    refused = await script.post(
        invitations, json={"city": "manchester-gb", "note": "hi"}, headers=bearer(lviv)
    )
    assert unknown(refused) == {"note"}
    assert await PeerInvitation.all().count() == 0

    invited = await script.post(invitations, json={"city": "manchester-gb"}, headers=bearer(lviv))
    answer = f"/api/v1/invitations/{invited.json()['id']}/answer"
    refused = await script.post(
        answer, json={"answer": "accept", "comment": "Glad to"}, headers=bearer(manchester)
    )
    assert unknown(refused) == {"comment"}
    refused = await script.post(
        answer, json={"answer": 1, "reason": ["busy"]}, headers=bearer(manchester)
    )
    assert unknown(refused) == {"answer", "reason"}
    assert (await PeerInvitation.get(id=invited.json()["id"])).status.value == "pending"


async def test_the_openapi_document_says_request_bodies_take_no_other_fields(
    client: httpx.AsyncClient,
) -> None:
    schemas = (await client.get("/api/v1/openapi.json")).json()["components"]["schemas"]
    for name in ("NewMatchRequest", "NewInvitation", "Answer"):
        assert schemas[name]["additionalProperties"] is False, name


async def test_the_api_names_challenges_in_the_token_owners_language(
    client: httpx.AsyncClient, script: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await Challenge.filter(slug="post-attack-recovery").update(
        translations={"fr": {"name": "Rétablissement après un attentat"}}
    )
    await catalogue_version.bump()
    await User.filter(id=catalogue.lviv.id).update(locale="fr")
    lviv = await token_for(client, catalogue.lviv.email)
    created = await script.post("/api/v1/requests", json=NEW_REQUEST, headers=bearer(lviv))
    request_id = created.json()["id"]
    found = await script.get(f"/api/v1/requests/{request_id}/candidates", headers=bearer(lviv))
    reasons = found.json()["candidates"][0]["reasons"]
    assert any("porte sur rétablissement après un attentat" in r for r in reasons), reasons
    assert created.json()["challenges"] == ["post-attack-recovery"]  # slugs stay slugs
