"""The loop closed by answers: decline reasons feed the ranking, automatic fallback
invites the next-ranked peer, and staff overrides of the ranking are recorded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from exchange.models.accounts import User
from exchange.models.matching import (
    DeclineReason,
    MatchRequest,
    PeerExchange,
    PeerInvitation,
    RequestEvent,
)
from exchange.services import (
    brokering_report,
    candidates,
    exchanges,
    match_requests,
    outbox,
    peer_invitations,
)
from exchange.services.errors import PermissionDenied, ValidationError
from exchange.settings import Settings

from matching_data import REQUEST_FORM, Catalogue, load_catalogue
from support import SMTPServer, post_form, switch, text_part


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


async def file_request(client: httpx.AsyncClient, user: User, **changes: object) -> int:
    await switch(client, user)
    response = await post_form(client, "/requests/new", {**REQUEST_FORM, **changes})
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/requests/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


async def first_candidate(user: User, request_id: int) -> str:
    return (await candidates.request_candidates(user, request_id))[0].city.key


async def test_a_decline_invites_the_next_ranked_peer_when_the_request_asks(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    request_id = await file_request(client, catalogue.lviv, auto_fallback="on")
    assert (await MatchRequest.get(id=request_id)).auto_fallback
    assert await first_candidate(catalogue.lviv, request_id) == "manchester-gb"
    await post_form(client, f"/requests/{request_id}/invite", {"city": "manchester-gb"})
    invitation = await PeerInvitation.get(request_id=request_id, city__key="manchester-gb")
    assert invitation.rank == 1 and not invitation.automatic

    await switch(client, catalogue.manchester)
    page = await client.get(f"/peer-invitations/{invitation.id}")
    assert "Not our experience" in page.text and "No capacity at the moment" in page.text
    response = await post_form(
        client,
        f"/peer-invitations/{invitation.id}",
        {"answer": "decline", "decline_reason": "timing"},
    )
    assert response.status_code == 303
    assert (await PeerInvitation.get(id=invitation.id)).decline_reason == DeclineReason.TIMING

    # Nice, the next-ranked peer not yet invited, is invited without anyone acting.
    following = await PeerInvitation.get(request_id=request_id, city__key="nice-fr")
    assert following.automatic and following.rank == 1 and following.invited_by_id is None
    await outbox.send_due(settings, "test")
    [mail] = mailbox.box.to("nadia@nice.example")
    assert mail["Subject"] == "Lviv asks your city for peer support"
    assert f"/peer-invitations/{following.id}" in text_part(mail)

    # Staff (and the requester) see it in the timeline.
    await switch(client, catalogue.staff)
    page = await client.get(f"/requests/{request_id}")
    assert "Nice was invited automatically, as the next-ranked peer" in page.text
    assert "Mary declined for Manchester: the timing does not suit" in page.text


async def test_an_expiry_also_falls_back_but_only_when_asked(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    asked = await file_request(client, catalogue.lviv, auto_fallback="on")
    plain = await file_request(client, catalogue.lviv)
    for request_id in (asked, plain):
        await post_form(client, f"/requests/{request_id}/invite", {"city": "manchester-gb"})
    past = datetime.now(UTC) - timedelta(minutes=1)
    await PeerInvitation.filter(city__key="manchester-gb").update(expires_at=past)
    assert await peer_invitations.expire_invitations(settings) == 2
    assert await PeerInvitation.filter(request_id=asked, automatic=True).count() == 1
    assert await PeerInvitation.filter(request_id=plain).count() == 1
    events = await RequestEvent.filter(request_id=asked).values_list("message", flat=True)
    assert "%(city)s was invited automatically, as the next-ranked peer" in events


async def test_not_our_experience_ranks_the_city_lower_for_that_challenge(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    other = await match_requests.check_file_request(
        catalogue.toronto,
        match_requests.RequestInput(
            city_key="toronto-ca",
            challenges=["post-attack-recovery"],
            description="How do we support victims and bereaved families after an attack?",
        ),
    )
    assert await first_candidate(catalogue.toronto, other.id) == "manchester-gb"
    invitation = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, request_id, "manchester-gb"
    )
    await peer_invitations.check_answer(
        settings, catalogue.manchester, invitation.id, False, "", "not-our-experience"
    )
    assert await first_candidate(catalogue.toronto, other.id) != "manchester-gb"


async def test_a_decline_reason_must_be_one_of_the_codes(
    catalogue: Catalogue, settings: Settings
) -> None:
    mr = await match_requests.check_file_request(
        catalogue.lviv,
        match_requests.RequestInput(
            city_key="lviv-ua", challenges=["post-attack-recovery"], description="After an attack"
        ),
    )
    invitation = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, mr.id, "manchester-gb"
    )
    with pytest.raises(ValidationError) as error:
        await peer_invitations.check_answer(
            settings, catalogue.manchester, invitation.id, False, "", "too-busy"
        )
    assert "decline_reason" in error.value.fields
    # None given counts as "other"; no fallback was asked for, so nobody else is invited.
    await peer_invitations.check_answer(settings, catalogue.manchester, invitation.id, False)
    assert (await PeerInvitation.get(id=invitation.id)).decline_reason == DeclineReason.OTHER
    assert await PeerInvitation.filter(request_id=mr.id).count() == 1


async def test_staff_override_the_ranking_only_with_a_reason_which_is_recorded(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await switch(client, catalogue.staff)
    page = await client.get(f"/requests/{request_id}")
    assert "Why this city before the first-ranked one?" in page.text

    refused = await post_form(client, f"/requests/{request_id}/invite", {"city": "nice-fr"})
    assert refused.status_code == 303
    assert not await PeerInvitation.filter(request_id=request_id).exists()

    await post_form(
        client,
        f"/requests/{request_id}/invite",
        {"city": "nice-fr", "override_reason": "Nice asked to mentor Lviv"},
    )
    invitation = await PeerInvitation.get(request_id=request_id, city__key="nice-fr")
    assert invitation.rank == 2
    assert invitation.override_reason == "Nice asked to mentor Lviv"
    page = await client.get(f"/requests/{request_id}")
    assert "Sam invited Nice over the ranking: Nice asked to mentor Lviv" in page.text

    # Officials choose among their candidates freely: no override for them.
    other = await file_request(client, catalogue.lviv)
    response = await post_form(client, f"/requests/{other}/invite", {"city": "nice-fr"})
    assert response.status_code == 303
    mine = await PeerInvitation.get(request_id=other, city__key="nice-fr")
    assert mine.rank == 2 and mine.override_reason == ""


async def test_staff_report_follows_the_first_ranked_peer_per_challenge(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    invitation = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, request_id, "manchester-gb"
    )
    await peer_invitations.check_answer(settings, catalogue.manchester, invitation.id, True)
    exchange = await PeerExchange.get(invitation_id=invitation.id)
    await exchanges.check_conclude(settings, catalogue.lviv, exchange.id, 5, "Memorial planning")

    rows = {r.slug: r for r in await brokering_report.first_ranked_report(catalogue.staff)}
    row = rows["post-attack-recovery"]
    assert (row.requests, row.first_invited, row.first_accepted, row.first_rated_well) == (
        1,
        1,
        1,
        1,
    )
    with pytest.raises(PermissionDenied):
        await brokering_report.first_ranked_report(catalogue.lviv)

    await switch(client, catalogue.staff)
    page = await client.get("/brokering/report")
    assert page.status_code == 200
    assert "Post-attack recovery" in page.text
    await switch(client, catalogue.lviv)
    assert (await client.get("/brokering/report")).status_code in (403, 404)


async def test_the_dashboard_lists_overrides_with_their_reasons(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await switch(client, catalogue.staff)
    page = await client.get(f"/requests/{request_id}")
    assert "Invite a city outside the list" in page.text
    ranked = {c.city.key for c in await candidates.request_candidates(catalogue.staff, request_id)}
    assert "toronto-ca" not in ranked
    await post_form(
        client,
        f"/requests/{request_id}/invite",
        {"city": "toronto-ca", "override_reason": "Toronto offered help directly"},
    )
    invitation = await PeerInvitation.get(request_id=request_id, city__key="toronto-ca")
    assert invitation.rank is None
    assert invitation.override_reason == "Toronto offered help directly"
    page = await client.get("/brokering")
    assert "Invitations past the ranking" in page.text
    assert "Toronto offered help directly" in page.text
