"""Findings and briefs: non-attribution that holds in every channel, the name warning,
consent, review, immutable versions and their diff, visibility for each role, search,
exports and hostile Markdown."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
import pytest

from exchange.models.accounts import Role, User
from exchange.models.briefs import Brief
from exchange.models.cities import City, Region
from exchange.models.dialogues import Dialogue, Invitee
from exchange.services import briefs, dialogues, findings, rsvp, tokens, visitor_stamp
from exchange.services.briefs import BriefInput
from exchange.services.cities import load_shipped_taxonomy
from exchange.services.dialogues import DialogueInput
from exchange.settings import Settings

from support import make_user, post_form, sign_in

START = "2031-03-20T14:00:00+00:00"
END = "2031-03-20T15:30:00+00:00"


@dataclass
class World:
    staff: User
    olena: User  # Kyiv, took part
    tom: User  # Toronto, took part, rapporteur
    ola: User  # Oslo, not invited
    dialogue: Dialogue


@pytest.fixture
async def world(client: httpx.AsyncClient, settings: Settings) -> World:
    await load_shipped_taxonomy()
    kyiv = await City.create(key="kyiv-ua", name="Kyiv", country="UA", region=Region.EUROPE)
    toronto = await City.create(
        key="toronto-ca", name="Toronto", country="CA", region=Region.NORTH_AMERICA
    )
    malmo = await City.create(key="malmo-se", name="Malmö", country="SE", region=Region.EUROPE)
    oslo = await City.create(key="oslo-no", name="Oslo", country="NO", region=Region.EUROPE)
    staff = await make_user("sam@network.example", Role.STAFF, name="Sam Staff")
    olena = await make_user("olena@kyiv.example", city=kyiv, name="Olena Kovalenko")
    tom = await make_user("tom@toronto.example", city=toronto, name="Tom Reyes")
    ola = await make_user("ola@oslo.example", city=oslo, name="Ola Nordmann")
    dialogue = await dialogues.check_create_dialogue(
        settings,
        staff,
        DialogueInput(title="After the attack", start=START, end=END, host_city="malmo-se"),
    )
    assert dialogue.host_city_id == malmo.id
    invited = await rsvp.check_invite_people(settings, staff, dialogue.id, [olena.email, tom.email])
    for invitee in invited:
        await rsvp.answer_as(settings, invitee.id, "yes")
    tom_place = next(i for i in invited if i.user_id == tom.id)
    await findings.check_set_rapporteur(staff, dialogue.id, tom_place.id, True)
    return World(staff, olena, tom, ola, dialogue)


@pytest.fixture
async def script(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url), cookies=jar
    ) as http:
        yield http


# Tokens made for tests tell their owner by email, as every new token does.
TOKEN_SETTINGS = Settings(base_url="http://exchange.test")


async def bearer(user: User) -> dict[str, str]:
    created = await tokens.issue_token(TOKEN_SETTINGS, user.email, "tests", 30)
    return {"Authorization": f"Bearer {created.raw}"}


SECRET_TEXT = "In the first week, as olena said, the KYIV team and the people of malmo held vigils."
CLEAN_TEXT = "In the first week, the city team held vigils every evening."


async def test_a_rapporteur_records_and_names_are_found_in_any_case_and_spelling(
    world: World, script: httpx.AsyncClient
) -> None:
    response = await script.post(
        f"/api/v1/dialogues/{world.dialogue.id}/findings",
        json={
            "title": "Vigils rebuild trust",
            "body": SECRET_TEXT,
            "challenges": ["post-attack-recovery"],
            "attribution": "non-attributed",
        },
        headers=await bearer(world.tom),
    )
    assert response.status_code == 201, response.text
    assert response.json()["names"] == ["olena", "KYIV", "malmo"]
    # Someone not made rapporteur may not record.
    refused = await script.post(
        f"/api/v1/dialogues/{world.dialogue.id}/findings",
        json={"title": "x", "attribution": "non-attributed"},
        headers=await bearer(world.olena),
    )
    assert refused.status_code == 403


async def test_an_attributed_finding_names_only_cities_that_consented(
    world: World, client: httpx.AsyncClient
) -> None:
    data = findings.FindingInput(
        title="Kyiv's hotline", body="A hotline.", attribution="attributed", cities=["kyiv-ua"]
    )
    with pytest.raises(findings.ValidationError) as refused:
        await findings.check_record_finding(world.tom, world.dialogue.id, data)
    assert "kyiv-ua" in refused.value.fields["cities"]
    await sign_in(client, world.olena.email)
    page = await client.get(f"/dialogues/{world.dialogue.id}")
    assert "Findings may name my city" in page.text
    consented = await post_form(
        client, f"/dialogues/{world.dialogue.id}/consent", {"consent": "yes"}
    )
    assert consented.status_code == 303
    saved = await findings.check_record_finding(world.tom, world.dialogue.id, data)
    assert saved.names == []  # attributed findings may name their cities


async def publish_clean_brief(world: World, settings: Settings, visibility: str) -> int:
    saved = await findings.check_record_finding(
        world.tom,
        world.dialogue.id,
        findings.FindingInput(title="Vigils rebuild trust", body=SECRET_TEXT),
    )
    brief = await briefs.check_create_brief(
        world.staff,
        BriefInput(
            title="Ten key findings on recovery",
            summary="What cities learned after attacks.",
            visibility=visibility,
            findings=[saved.finding.id],
            challenges=["post-attack-recovery"],
        ),
    )
    with pytest.raises(briefs.PublishRefused) as refused:
        await briefs.check_publish(settings, world.staff, brief.id)
    assert set(refused.value.blocking.names[saved.finding.id]) == {"olena", "KYIV", "malmo"}
    await findings.check_record_finding(
        world.tom,
        world.dialogue.id,
        findings.FindingInput(title="Vigils rebuild trust", body=CLEAN_TEXT),
        finding_id=saved.finding.id,
    )
    version = await briefs.check_publish(settings, world.staff, brief.id)
    assert version.number == 1
    return brief.id


FORBIDDEN = ("Olena", "Kovalenko", "Tom Reyes", "Kyiv", "Toronto", "Malm", "olena@", "tom@")


async def test_a_non_attributed_finding_shows_no_city_or_person_anywhere(
    world: World, settings: Settings, client: httpx.AsyncClient, script: httpx.AsyncClient
) -> None:
    brief_id = await publish_clean_brief(world, settings, "public")
    channels = [
        f"/briefs/{brief_id}",
        f"/briefs/{brief_id}.md",
        f"/briefs/{brief_id}/print",
        f"/briefs/{brief_id}/versions/1",
        "/briefs/feed.atom",
        "/briefs",
        "/library?q=vigils",
    ]
    for user in (None, world.ola, world.olena, world.staff):
        client.cookies.clear()
        if user is not None:
            await sign_in(client, user.email)
        for url in channels:
            response = await client.get(url)
            assert response.status_code == 200, (url, user)
            # The reader's own name is in the navigation: it is not the brief naming them.
            body = response.text.replace(user.name if user else "\0", "")
            assert "Ten key findings" in response.text, url
            assert not [word for word in FORBIDDEN if word in body], (url, user)
    for path in (f"/api/v1/briefs/{brief_id}", f"/api/v1/briefs/{brief_id}/versions/1"):
        response = await script.get(path, headers=await bearer(world.ola))
        assert response.status_code == 200
        assert not [word for word in FORBIDDEN if word in response.text], path
        assert all(
            not f["cities"] for f in (response.json().get("version") or response.json())["findings"]
        )


async def test_publishing_through_the_api_lists_the_names_and_confirm_keeps_them(
    world: World, script: httpx.AsyncClient
) -> None:
    staff = await bearer(world.staff)
    finding = await script.post(
        f"/api/v1/dialogues/{world.dialogue.id}/findings",
        json={
            "title": "Trust",
            "body": "Olena's city, Kyiv, listened.",
            "attribution": "non-attributed",
        },
        headers=await bearer(world.tom),
    )
    created = await script.post(
        "/api/v1/briefs",
        json={
            "title": "A brief",
            "summary": "s",
            "findings": [finding.json()["id"]],
            "visibility": "members",
            "challenges": [],
        },
        headers=staff,
    )
    assert created.status_code == 201, created.text
    brief_id = created.json()["id"]
    refused = await script.post(f"/api/v1/briefs/{brief_id}/publish", headers=staff)
    assert refused.status_code == 409
    assert refused.json()["names"] == ["Kyiv", "Olena"]
    assert refused.json()["error"]["code"] == "not_publishable"
    partly = await script.post(
        f"/api/v1/briefs/{brief_id}/publish", json={"confirm": ["Kyiv"]}, headers=staff
    )
    assert partly.json()["names"] == ["Olena"]
    done = await script.post(
        f"/api/v1/briefs/{brief_id}/publish", json={"confirm": ["Olena"]}, headers=staff
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"id": brief_id, "version": 1}


async def test_visibility_for_each_role_in_every_channel(
    world: World, settings: Settings, client: httpx.AsyncClient, script: httpx.AsyncClient
) -> None:
    members = await publish_clean_brief(world, settings, "members")
    participants = await publish_clean_brief(world, settings, "participants")
    expectations = {
        None: {members: 404, participants: 404},
        world.ola: {members: 200, participants: 404},
        world.olena: {members: 200, participants: 200},
        world.staff: {members: 200, participants: 200},
    }
    for user, wanted in expectations.items():
        client.cookies.clear()
        if user is not None:
            await sign_in(client, user.email)
        for brief_id, status in wanted.items():
            for url in (
                f"/briefs/{brief_id}",
                f"/briefs/{brief_id}.md",
                f"/briefs/{brief_id}/print",
            ):
                assert (await client.get(url)).status_code == status, (url, user)
            listed = await client.get("/briefs")
            assert (f'href="/briefs/{brief_id}"' in listed.text) == (status == 200)
            found = await client.get("/library?q=vigils")
            assert (f'href="/briefs/{brief_id}"' in found.text) == (status == 200), user
            if user is not None:
                api = await script.get(f"/api/v1/briefs/{brief_id}", headers=await bearer(user))
                assert api.status_code == status
    feed = await client.get("/briefs/feed.atom")
    assert f"/briefs/{members}" not in feed.text and f"/briefs/{participants}" not in feed.text


async def test_an_unpublished_draft_is_a_404_for_readers(
    world: World, settings: Settings, client: httpx.AsyncClient
) -> None:
    draft = await briefs.check_create_brief(
        world.staff, BriefInput(title="Still a draft", visibility="public")
    )
    assert (await client.get(f"/briefs/{draft.id}")).status_code == 404
    await sign_in(client, world.olena.email)
    assert (await client.get(f"/briefs/{draft.id}")).status_code == 404
    client.cookies.clear()
    await sign_in(client, world.staff.email)
    assert "Still a draft" in (await client.get(f"/briefs/{draft.id}")).text


async def test_versions_are_immutable_and_any_two_compare_word_by_word(
    world: World, settings: Settings, client: httpx.AsyncClient
) -> None:
    brief_id = await publish_clean_brief(world, settings, "public")
    for summary in ("Cities met in June to talk.", "Cities met in July to talk openly."):
        await briefs.check_update_brief(
            world.staff,
            brief_id,
            BriefInput(
                title="Ten key findings on recovery",
                summary=summary,
                visibility="public",
                findings=[(await findings.Finding.first()).id],
            ),  # type: ignore[union-attr]
        )
        latest = await client.get(f"/briefs/{brief_id}")
        assert summary not in latest.text  # readers see the published version meanwhile
        await briefs.check_publish(settings, world.staff, brief_id)
    first = await client.get(f"/briefs/{brief_id}/versions/1")
    assert "What cities learned after attacks." in first.text
    assert "An earlier version" in first.text
    diff = await client.get(f"/briefs/{brief_id}/diff?from=1&to=3")
    assert "<del>What cities learned after attacks.</del>" in diff.text.replace("\n", "")
    between = await client.get(f"/briefs/{brief_id}/diff?from=2&to=3")
    assert "<del>June </del>" in between.text and "<ins>July </ins>" in between.text
    assert (await client.get(f"/briefs/{brief_id}/versions/9")).status_code == 404
    version_one = await briefs.version_of(None, brief_id, 1)
    assert version_one.summary == "What cities learned after attacks."


async def test_publishing_waits_for_every_named_reviewer(
    world: World, settings: Settings, client: httpx.AsyncClient
) -> None:
    reviewer = await make_user("rita@network.example", Role.STAFF, name="Rita Reviewer")
    brief = await briefs.check_create_brief(
        world.staff,
        BriefInput(title="Reviewed brief", visibility="public", reviewers=[reviewer.email]),
    )
    with pytest.raises(briefs.PublishRefused) as refused:
        await briefs.check_publish(settings, world.staff, brief.id)
    assert refused.value.blocking.waiting_for == ["Rita Reviewer"]
    await briefs.check_submit_for_review(settings, world.staff, brief.id)
    with pytest.raises(briefs.NotFound):  # a draft she is not on does not exist for her
        await briefs.check_approve(world.olena, brief.id)
    with pytest.raises(briefs.PermissionDenied):  # staff see it, but only reviewers approve
        await briefs.check_approve(world.staff, brief.id)
    await sign_in(client, reviewer.email)
    page = await client.get(f"/briefs/{brief.id}")
    assert "Approve" in page.text
    await post_form(client, f"/briefs/{brief.id}/comment", {"body": "Fine by me."})
    await post_form(client, f"/briefs/{brief.id}/approve", {})
    version = await briefs.check_publish(settings, world.staff, brief.id)
    assert version.number == 1


async def test_hostile_markdown_is_made_harmless(
    world: World, settings: Settings, client: httpx.AsyncClient
) -> None:
    saved = await findings.check_record_finding(
        world.tom,
        world.dialogue.id,
        findings.FindingInput(
            title="<script>alert(1)</script>",
            body='<img src=x onerror="alert(2)"> [click](javascript:alert(3)) <script>x()</script>',
        ),
    )
    brief = await briefs.check_create_brief(
        world.staff, BriefInput(title="Hostile", visibility="public", findings=[saved.finding.id])
    )
    await briefs.check_publish(settings, world.staff, brief.id)
    page = (await client.get(f"/briefs/{brief.id}")).text
    # The hostile markup is there only as text: no tag carries it.
    assert "<script" not in page and "<img src=x" not in page
    assert not re.search(r"<[^>]*\sonerror=", page)
    assert 'href="javascript:' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_a_published_brief_keeps_the_city_it_names_from_consent_withdrawal(
    world: World, settings: Settings
) -> None:
    await findings.give_consent(world.olena, world.dialogue.id)
    saved = await findings.check_record_finding(
        world.tom,
        world.dialogue.id,
        findings.FindingInput(title="A hotline", attribution="attributed", cities=["kyiv-ua"]),
    )
    brief = await briefs.check_create_brief(
        world.staff, BriefInput(title="Named", visibility="public", findings=[saved.finding.id])
    )
    version = await briefs.check_publish(settings, world.staff, brief.id)
    assert version.findings[0]["cities"] == ["Kyiv"]
    with pytest.raises(findings.Conflict):
        await findings.revoke_consent(world.olena, world.dialogue.id)
    assert await Invitee.exists(dialogue_id=world.dialogue.id)


async def edit_clean_brief(world: World, brief_id: int, summary: str, visibility: str) -> None:
    """Staff edit the brief `publish_clean_brief` made: a new summary and visibility."""
    finding = await findings.Finding.first()
    assert finding is not None
    await briefs.check_update_brief(
        world.staff,
        brief_id,
        BriefInput(
            title="Ten key findings on recovery",
            summary=summary,
            visibility=visibility,
            findings=[finding.id],
        ),
    )


async def test_a_brief_kept_for_visitors_follows_each_publication_and_visibility_change(
    world: World, settings: Settings, client: httpx.AsyncClient
) -> None:
    brief_id = await publish_clean_brief(world, settings, "public")
    assert "What cities learned after attacks." in (await client.get(f"/briefs/{brief_id}")).text
    await edit_clean_brief(world, brief_id, "Cities met in June.", "public")
    await briefs.check_publish(settings, world.staff, brief_id)
    assert "Cities met in June." in (await client.get(f"/briefs/{brief_id}")).text
    await edit_clean_brief(world, brief_id, "Cities met in June.", "members")
    assert (await client.get(f"/briefs/{brief_id}")).status_code == 404


async def test_the_library_search_kept_for_visitors_follows_the_briefs(
    world: World, settings: Settings, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    brief_id = await publish_clean_brief(world, settings, "public")
    link = f'href="/briefs/{brief_id}"'
    assert link in (await client.get("/library?q=recovery")).text
    await edit_clean_brief(world, brief_id, "Lantern walks.", "members")
    assert link not in (await client.get("/library?q=recovery")).text
    await edit_clean_brief(world, brief_id, "Lantern walks.", "public")
    await briefs.check_publish(settings, world.staff, brief_id)
    assert link in (await client.get("/library?q=lantern")).text
    # Another worker hides it: this one finds out when it reads the stamp again.
    await Brief.filter(id=brief_id).update(visibility="members", updated_at=datetime.now(UTC))
    monkeypatch.setattr(visitor_stamp, "REFRESH_SECONDS", 0.0)
    assert link not in (await client.get("/library?q=lantern")).text
