"""The brokering workflow through HTTP: filing, inviting, answering, expiry, feedback."""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import connections

from exchange.domain.matching import Candidate, MatchIndex, MatchQuery
from exchange.models.accounts import User
from exchange.models.cities import City
from exchange.models.mail import OutboxMessage
from exchange.models.matching import (
    InvitationStatus,
    MatchRequest,
    Notice,
    PeerExchange,
    PeerInvitation,
    RequestEvent,
    RequestStatus,
)
from exchange.services import (
    candidates,
    errors,
    exchanges,
    labels,
    match_requests,
    matching,
    outbox,
    peer_invitations,
)
from exchange.settings import Settings
from exchange.web import exchanges as web_exchanges
from exchange.web import match_requests as web_match_requests
from exchange.web import options as web_options
from exchange.web import peer_invitations as web_peer_invitations

from matching_data import REQUEST_FORM, Catalogue, load_catalogue
from support import (
    SMTPServer,
    first_link,
    html_part,
    make_user,
    post_form,
    sign_in,
    switch,
    text_part,
)


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


async def file_request(client: httpx.AsyncClient, user: User, **changes: object) -> int:
    await sign_in(client, user.email)
    response = await post_form(client, "/requests/new", {**REQUEST_FORM, **changes})
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/requests/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


async def invite(client: httpx.AsyncClient, request_id: int, city: str) -> httpx.Response:
    return await post_form(client, f"/requests/{request_id}/invite", {"city": city})


async def invitation_for(request_id: int, city: str) -> PeerInvitation:
    return await PeerInvitation.get(request_id=request_id, city__key=city)


async def test_official_files_sees_candidates_with_reasons_and_invites(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    page = await client.get(f"/requests/{request_id}")
    assert page.status_code == 200
    assert "Manchester" in page.text and "Nice" in page.text
    assert "Recovery after the Arena bombing" in page.text
    assert "Berlin" not in page.text  # no free capacity
    assert "Open" in page.text

    response = await invite(client, request_id, "manchester-gb")
    assert response.status_code == 303
    mr = await MatchRequest.get(id=request_id)
    assert mr.status == RequestStatus.INVITING
    invitation = await invitation_for(request_id, "manchester-gb")
    assert invitation.expires_at - invitation.created_at == timedelta(days=14)

    await outbox.send_due(settings, "test")
    [mail] = mailbox.box.to("mary@manchester.example")
    assert mail["Subject"] == "Lviv asks your city for peer support"
    body = text_part(mail)
    assert "Lviv asks Manchester for peer support." in body
    assert "Post-attack recovery" in body
    assert REQUEST_FORM["description"] in body
    assert first_link(body) == f"http://exchange.test/peer-invitations/{invitation.id}"
    assert f"/peer-invitations/{invitation.id}" in html_part(mail)

    # The invited official sees the notice, with a count in the navigation.
    await switch(client, catalogue.manchester)
    home = await client.get("/")
    assert re.search(r'href="/notices">Notices <span class="nav-count">1', home.text)
    notices = await client.get("/notices")
    assert "Lviv asks your city for peer support" in notices.text
    await post_form(client, "/notices")
    assert 'class="nav-count"' not in (await client.get("/")).text


async def test_acceptance_creates_an_exchange_takes_capacity_and_tells_the_requester(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await invite(client, request_id, "manchester-gb")
    invitation = await invitation_for(request_id, "manchester-gb")
    await switch(client, catalogue.manchester)
    page = await client.get(f"/peer-invitations/{invitation.id}")
    assert page.status_code == 200 and REQUEST_FORM["description"] in page.text
    response = await post_form(
        client, f"/peer-invitations/{invitation.id}", {"answer": "accept", "reason": "Glad to"}
    )
    assert response.status_code == 303
    manchester = await City.get(key="manchester-gb")
    assert manchester.capacity_used == 1
    exchange = await PeerExchange.get(request_id=request_id)
    assert exchange.mentor_id == manchester.id  # type: ignore[attr-defined]
    mr = await MatchRequest.get(id=request_id)
    assert mr.status == RequestStatus.MATCHED

    mailbox.box.clear()
    await outbox.send_due(settings, "test")
    [mail] = mailbox.box.to("olena@lviv.example")
    assert mail["Subject"] == "Manchester accepted your request for peer support"
    assert "Glad to" in text_part(mail)
    assert first_link(text_part(mail)) == f"http://exchange.test/requests/{request_id}"

    await switch(client, catalogue.lviv)
    detail = await client.get(f"/requests/{request_id}")
    assert "Matched" in detail.text
    assert "Olena filed the request for Lviv" in detail.text
    assert "Olena invited Manchester" in detail.text
    assert "Mary accepted for Manchester" in detail.text
    # A city without free capacity is no longer proposed anywhere.
    assert "manchester-gb" not in [
        c.city_key for c in await matching.rank(candidates.query_for(mr, "lviv-ua", 10))
    ]


async def test_decline_with_a_reason_reopens_the_request(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await invite(client, request_id, "nice-fr")
    invitation = await invitation_for(request_id, "nice-fr")
    await switch(client, catalogue.nice)
    response = await post_form(
        client,
        f"/peer-invitations/{invitation.id}",
        {"answer": "decline", "reason": "Our team is busy until June"},
    )
    assert response.status_code == 303
    assert (await MatchRequest.get(id=request_id)).status == RequestStatus.OPEN
    assert (await City.get(key="nice-fr")).capacity_used == 0
    await outbox.send_due(settings, "test")
    [mail] = mailbox.box.to("olena@lviv.example")
    assert mail["Subject"] == "Nice declined your request for peer support"
    assert "Our team is busy until June" in text_part(mail)
    # Answering twice is refused.
    again = await post_form(client, f"/peer-invitations/{invitation.id}", {"answer": "accept"})
    assert again.status_code == 409


async def test_permission_edges(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await invite(client, request_id, "manchester-gb")
    invitation = await invitation_for(request_id, "manchester-gb")

    # An official cannot file for another city.
    response = await post_form(client, "/requests/new", {**REQUEST_FORM, "city": "nice-fr"})
    assert response.status_code == 403
    # The requester sees the invitation but cannot answer for the invited city.
    assert (await client.get(f"/peer-invitations/{invitation.id}")).status_code == 200
    response = await post_form(client, f"/peer-invitations/{invitation.id}", {"answer": "accept"})
    assert response.status_code == 403
    # Officials are not staff.
    assert (await client.get("/brokering")).status_code == 403

    # An official of a third city sees neither the request nor the invitation.
    await switch(client, catalogue.nice)
    assert (await client.get(f"/requests/{request_id}")).status_code == 404
    assert (await client.get(f"/peer-invitations/{invitation.id}")).status_code == 404
    response = await post_form(client, f"/peer-invitations/{invitation.id}", {"answer": "accept"})
    assert response.status_code == 404
    assert (await invite(client, request_id, "nice-fr")).status_code == 404
    assert (await PeerInvitation.get(id=invitation.id)).status == InvitationStatus.PENDING
    # The invited city cannot invite others on the requester's behalf.
    await switch(client, catalogue.manchester)
    assert (await invite(client, request_id, "nice-fr")).status_code == 404
    assert (await client.get(f"/requests/{request_id}")).status_code == 404

    # Staff can file for any city and answer for any city.
    await switch(client, catalogue.staff)
    response = await post_form(client, "/requests/new", {**REQUEST_FORM, "city": "toronto-ca"})
    assert response.status_code == 303
    response = await post_form(client, f"/peer-invitations/{invitation.id}", {"answer": "accept"})
    assert response.status_code == 303

    # Signed out: sent to sign in.
    client.cookies.clear()
    response = await client.get(f"/requests/{request_id}")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_invitations_are_limited_to_the_number_wanted(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    assert (await invite(client, request_id, "manchester-gb")).status_code == 303
    await invite(client, request_id, "nice-fr")
    assert await PeerInvitation.filter(request_id=request_id).count() == 1
    page = await client.get(f"/requests/{request_id}")
    assert "Candidates" not in page.text
    # Own city, and a city without capacity, cannot be invited.
    second = await file_request(client, catalogue.lviv, peers_wanted="3")
    await invite(client, second, "lviv-ua")
    await invite(client, second, "berlin-de")
    assert await PeerInvitation.filter(request_id=second).count() == 0


async def test_form_errors_are_shown_next_to_fields(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await sign_in(client, catalogue.lviv.email)
    response = await post_form(
        client,
        "/requests/new",
        {
            "city": "lviv-ua",
            "description": "",
            "languages": "english",
            "peers_wanted": "40",
            "format": "by-carrier-pigeon",
            "challenges": ["nope"],
        },
    )
    assert response.status_code == 400
    for field in ("challenges", "description", "languages", "peers_wanted", "format"):
        assert f'id="error-{field}"' in response.text
    assert await MatchRequest.all().count() == 0


async def test_unanswered_invitations_expire_and_the_next_candidate_can_be_invited(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await invite(client, request_id, "manchester-gb")
    now = datetime.now(UTC)
    assert await peer_invitations.expire_invitations(settings, now + timedelta(days=13)) == 0
    assert (
        await peer_invitations.expire_invitations(settings, now + timedelta(days=14, minutes=1))
        == 1
    )
    assert await peer_invitations.expire_invitations(settings, now + timedelta(days=15)) == 0
    invitation = await invitation_for(request_id, "manchester-gb")
    assert invitation.status == InvitationStatus.EXPIRED
    assert (await MatchRequest.get(id=request_id)).status == RequestStatus.OPEN

    mailbox.box.clear()
    await outbox.send_due(settings, "test")
    [mail] = mailbox.box.to("olena@lviv.example")
    assert mail["Subject"] == "Your invitation to Manchester expired unanswered"
    assert "You can invite the next candidate" in text_part(mail)
    assert await Notice.filter(user=catalogue.lviv, kind="invitation_expired").count() == 1

    # Too late to accept; the next candidate can be invited.
    await switch(client, catalogue.manchester)
    late = await post_form(client, f"/peer-invitations/{invitation.id}", {"answer": "accept"})
    assert late.status_code == 409
    await switch(client, catalogue.lviv)
    assert (await invite(client, request_id, "nice-fr")).status_code == 303
    assert (await MatchRequest.get(id=request_id)).status == RequestStatus.INVITING
    # The expiry counts against Manchester's response history.
    history = await matching.load_history()
    assert history["manchester-gb"].expired == 1


async def test_expiry_days_come_from_the_setting(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    mr = await match_requests.check_file_request(
        catalogue.lviv,
        match_requests.RequestInput(
            city_key="lviv-ua", challenges=["post-attack-recovery"], description="After an attack"
        ),
    )
    short = replace(settings, invitation_expiry_days=3)
    invitation = await peer_invitations.check_invite_peer(short, catalogue.lviv, mr.id, "nice-fr")
    assert invitation.expires_at - invitation.created_at == timedelta(days=3)
    later = datetime.now(UTC) + timedelta(days=3, minutes=1)
    assert await peer_invitations.expire_invitations(short, later) == 1


async def test_conclusion_with_feedback_frees_capacity_and_feeds_the_ranking(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await invite(client, request_id, "manchester-gb")
    invitation = await invitation_for(request_id, "manchester-gb")
    await switch(client, catalogue.manchester)
    await post_form(client, f"/peer-invitations/{invitation.id}", {"answer": "accept"})
    exchange = await PeerExchange.get(request_id=request_id)

    # A third city cannot see or conclude it.
    await switch(client, catalogue.nice)
    assert (await client.get(f"/exchanges/{exchange.id}")).status_code == 404

    await switch(client, catalogue.lviv)
    bad = await post_form(client, f"/exchanges/{exchange.id}", {"rating": "9"})
    assert bad.status_code == 400 and 'id="error-rating"' in bad.text
    response = await post_form(
        client,
        f"/exchanges/{exchange.id}",
        {"rating": "5", "learned": "How to run a victims' support hub"},
    )
    assert response.status_code == 303
    exchange = await PeerExchange.get(id=exchange.id)
    assert exchange.status.value == "active" and exchange.mentee_rating == 5
    assert (await City.get(key="manchester-gb")).capacity_used == 1
    assert (await MatchRequest.get(id=request_id)).status == RequestStatus.MATCHED

    # The other side's feedback concludes it, frees capacity once and closes the request.
    await switch(client, catalogue.manchester)
    await post_form(client, f"/exchanges/{exchange.id}", {"rating": "4", "learned": "Ideas"})
    exchange = await PeerExchange.get(id=exchange.id)
    assert exchange.mentor_rating == 4 and exchange.mentee_rating == 5
    assert exchange.status.value == "concluded"
    assert (await City.get(key="manchester-gb")).capacity_used == 0
    assert (await MatchRequest.get(id=request_id)).status == RequestStatus.CLOSED

    best = (
        await matching.rank(
            candidates.query_for(await MatchRequest.get(id=request_id), "lviv-ua", 5)
        )
    )[0]
    texts = matching.reason_texts(best.reasons)
    assert best.city_key == "manchester-gb"
    assert "Accepted 1 of 1 past request" in texts
    assert "Past exchanges rated 5.0 out of 5 (1 rating)" in texts


async def test_withdrawing_withdraws_pending_invitations(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    request_id = await file_request(client, catalogue.lviv, peers_wanted="2")
    await invite(client, request_id, "manchester-gb")
    unconfirmed = await post_form(client, f"/requests/{request_id}/withdraw")
    assert unconfirmed.headers["location"] == f"/requests/{request_id}#end-heading"
    assert (await MatchRequest.get(id=request_id)).status != RequestStatus.WITHDRAWN
    page = await client.get(f"/requests/{request_id}")
    assert "Tick the box to confirm that you withdraw the request." in page.text
    assert 'name="confirm"' in page.text
    response = await post_form(client, f"/requests/{request_id}/withdraw", {"confirm": "on"})
    assert response.status_code == 303
    assert (await MatchRequest.get(id=request_id)).status == RequestStatus.WITHDRAWN
    invitation = await invitation_for(request_id, "manchester-gb")
    assert invitation.status == InvitationStatus.WITHDRAWN
    await switch(client, catalogue.manchester)
    late = await post_form(client, f"/peer-invitations/{invitation.id}", {"answer": "accept"})
    assert late.status_code == 409
    assert (await City.get(key="manchester-gb")).capacity_used == 0


async def test_staff_dashboard_lists_waiting_requests_oldest_first(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    first = await file_request(client, catalogue.lviv)
    second = await file_request(client, catalogue.lviv)
    await MatchRequest.filter(id=first).update(created_at=datetime.now(UTC) - timedelta(days=3))
    done = await file_request(client, catalogue.lviv)
    await post_form(client, f"/requests/{done}/withdraw", {"confirm": "on"})
    await switch(client, catalogue.staff)
    page = await client.get("/brokering")
    assert page.status_code == 200
    text = page.text
    assert text.index(f"Request #{first}") < text.index(f"Request #{second}")
    assert f"Request #{done}" not in text
    assert "3 days" in text


async def test_the_request_list_names_challenges_not_codes(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    request_id = await file_request(
        client, catalogue.lviv, challenges=["post-attack-recovery", "mental-health-trauma"]
    )
    listing = (await client.get("/requests")).text
    assert (
        f"Request #{request_id}</a>: Post-attack recovery, Mental health and trauma support"
        in listing
    )
    assert "post-attack-recovery, mental-health-trauma" not in listing


async def test_candidates_link_their_city_and_flag_a_city_nobody_answers_for(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await User.filter(id=catalogue.nice.id).update(is_active=False)
    request_id = await file_request(client, catalogue.lviv, peers_wanted="2")
    page = (await client.get(f"/requests/{request_id}")).text
    flag = "No official on Exchange yet: staff will need to answer for this city"
    assert '<a href="/cities/manchester-gb">Manchester</a>' in page
    assert '<a href="/cities/nice-fr">Nice</a>' in page
    nice = page[page.index('href="/cities/nice-fr"') :]
    manchester = page[page.index('href="/cities/manchester-gb"') :]
    assert flag in nice[: nice.index("Invite Nice")]
    assert flag not in manchester[: manchester.index("Invite Manchester")]

    # Inviting is not blocked; staff hear that nobody was emailed.
    mails_before = await OutboxMessage.all().count()
    assert (await invite(client, request_id, "nice-fr")).status_code == 303
    assert await OutboxMessage.all().count() == mails_before
    event = await RequestEvent.get(request_id=request_id, kind="invited")
    assert match_requests.event_text(event) == (
        "Olena invited Nice, which has no official on Exchange yet: nobody was emailed"
    )
    notice = await Notice.get(user=catalogue.staff, kind="invited_without_official")
    assert notice.params == {"city": "Nice"}
    assert notice.link == f"/peer-invitations/{(await invitation_for(request_id, 'nice-fr')).id}"

    # A city with officials is invited as before.
    assert (await invite(client, request_id, "manchester-gb")).status_code == 303
    assert await OutboxMessage.all().count() == mails_before + 1
    assert await Notice.filter(kind="invited_without_official").count() == 1


async def test_lists_and_forms_render(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    request_id = await file_request(client, catalogue.lviv)
    form = await client.get("/requests/new")
    assert form.status_code == 200
    assert 'for="challenge-post-attack-recovery"' in form.text
    assert 'value="lviv-ua"' in form.text and 'value="nice-fr"' not in form.text
    listing = await client.get("/requests")
    assert f'href="/requests/{request_id}"' in listing.text
    await invite(client, request_id, "nice-fr")
    await switch(client, catalogue.nice)
    invitations = await client.get("/peer-invitations")
    assert "Lviv" in invitations.text and "Waiting for an answer" in invitations.text
    assert f'href="/requests/{request_id}"' not in (await client.get("/requests")).text
    tokens_page = await client.get("/settings/tokens")
    assert tokens_page.status_code == 200 and "No tokens yet." in tokens_page.text


async def accepted_exchange(client: httpx.AsyncClient, catalogue: Catalogue) -> PeerExchange:
    request_id = await file_request(client, catalogue.lviv)
    await invite(client, request_id, "manchester-gb")
    invitation = await invitation_for(request_id, "manchester-gb")
    await switch(client, catalogue.manchester)
    await post_form(client, f"/peer-invitations/{invitation.id}", {"answer": "accept"})
    return await PeerExchange.get(request_id=request_id)


async def test_a_partly_matched_request_shows_its_progress_everywhere(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    request_id = await file_request(client, catalogue.lviv, peers_wanted="2")
    await invite(client, request_id, "manchester-gb")
    await invite(client, request_id, "nice-fr")
    await switch(client, catalogue.manchester)
    accepted = await invitation_for(request_id, "manchester-gb")
    await post_form(client, f"/peer-invitations/{accepted.id}", {"answer": "accept"})
    await switch(client, catalogue.nice)
    declined = await invitation_for(request_id, "nice-fr")
    await post_form(client, f"/peer-invitations/{declined.id}", {"answer": "decline"})
    # Nothing is pending, so the stored status is "open" again; the pages say how far.
    assert (await MatchRequest.get(id=request_id)).status == RequestStatus.OPEN
    progress = "Open — 1 of 2 peers matched"

    await switch(client, catalogue.lviv)
    assert progress in (await client.get(f"/requests/{request_id}")).text
    assert progress in (await client.get("/requests")).text
    await switch(client, catalogue.staff)
    assert progress in (await client.get("/brokering")).text


def test_request_progress_labels() -> None:
    assert labels.request_progress_label("open", 0, 2) == "Open"
    assert labels.request_progress_label("inviting", 1, 3) == "Inviting — 1 of 3 peers matched"
    assert labels.request_progress_label("matched", 2, 2) == "Matched"
    assert labels.request_progress_label("closed", 1, 2) == "Closed"


async def test_accepting_leads_to_the_exchange_and_its_rating_says_which_end_is_good(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    exchange = await accepted_exchange(client, catalogue)
    invitation = await invitation_for(exchange.request_id, "manchester-gb")  # type: ignore[attr-defined]
    answered = await client.get(f"/peer-invitations/{invitation.id}")
    assert f'<a href="/exchanges/{exchange.id}">Go to the exchange</a>' in answered.text

    await switch(client, catalogue.lviv)
    detail = await client.get(f"/requests/{exchange.request_id}")  # type: ignore[attr-defined]
    invitations = detail.text.split('id="invitations-heading"', 1)[1].split("</section>", 1)[0]
    assert f'<a href="/exchanges/{exchange.id}">See the exchange</a>' in invitations

    page = await client.get(f"/exchanges/{exchange.id}")
    assert "How useful was the exchange? (5 is best)" in page.text
    assert '<option value="5">5 — very useful</option>' in page.text
    assert '<option value="1">1 — not useful</option>' in page.text
    bad = await post_form(
        client, f"/exchanges/{exchange.id}", {"rating": "4", "learned": "x" * 10_001}
    )
    assert bad.status_code == 400
    assert '<option value="4" selected>4 — useful</option>' in bad.text


async def test_feedback_given_is_never_overwritten(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    exchange = await accepted_exchange(client, catalogue)
    await switch(client, catalogue.lviv)
    first = await post_form(client, f"/exchanges/{exchange.id}", {"rating": "5", "learned": "A"})
    assert first.status_code == 303
    page = await client.get(f"/exchanges/{exchange.id}")
    assert "Lviv has already given feedback on this exchange." in page.text
    assert 'name="rating"' not in page.text

    again = await post_form(client, f"/exchanges/{exchange.id}", {"rating": "1", "learned": "B"})
    assert again.status_code == 409
    assert "Lviv has already given feedback on this exchange." in again.text
    stored = await PeerExchange.get(id=exchange.id)
    assert (stored.mentee_rating, stored.mentee_learned) == (5, "A")
    assert stored.mentor_rating is None

    # Staff say on whose behalf they speak, and never overwrite a side's feedback.
    await switch(client, catalogue.staff)
    assert 'name="rating"' in (await client.get(f"/exchanges/{exchange.id}")).text
    staff = await post_form(
        client,
        f"/exchanges/{exchange.id}",
        {"rating": "3", "learned": "C", "on_behalf_of": "manchester-gb"},
    )
    assert staff.status_code == 303
    late = await post_form(
        client,
        f"/exchanges/{exchange.id}",
        {"rating": "1", "learned": "D", "on_behalf_of": "manchester-gb"},
    )
    assert late.status_code == 409
    stored = await PeerExchange.get(id=exchange.id)
    assert (stored.mentee_rating, stored.mentee_learned) == (5, "A")
    assert (stored.mentor_rating, stored.mentor_learned) == (3, "C")
    assert await RequestEvent.filter(request_id=exchange.request_id, kind="feedback").count() == 2  # type: ignore[attr-defined]

    # The mentor's officials find their side answered for.
    await switch(client, catalogue.manchester)
    mentor = await post_form(client, f"/exchanges/{exchange.id}", {"rating": "2", "learned": "E"})
    assert mentor.status_code == 409
    assert (await PeerExchange.get(id=exchange.id)).mentor_rating == 3


async def test_staff_give_feedback_only_on_behalf_of_a_city_they_name(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    exchange = await accepted_exchange(client, catalogue)
    url = f"/exchanges/{exchange.id}"
    await switch(client, catalogue.staff)
    page = await client.get(url)
    assert "Conclude with feedback" in page.text
    assert 'name="on_behalf_of"' in page.text
    assert '<option value="lviv-ua">Lviv</option>' in page.text
    assert '<option value="manchester-gb">Manchester</option>' in page.text

    unnamed = await post_form(client, url, {"rating": "4", "learned": "A"})
    assert unnamed.status_code == 400 and 'id="error-on_behalf_of"' in unnamed.text
    foreign = await post_form(client, url, {"rating": "4", "on_behalf_of": "nice-fr"})
    assert foreign.status_code == 400
    stored = await PeerExchange.get(id=exchange.id)
    assert stored.mentee_rating is None and stored.mentor_rating is None

    done = await post_form(client, url, {"rating": "4", "learned": "A", "on_behalf_of": "lviv-ua"})
    assert done.status_code == 303
    twice = await post_form(client, url, {"rating": "2", "learned": "B", "on_behalf_of": "lviv-ua"})
    assert twice.status_code == 409
    assert "Lviv has already given feedback on this exchange." in twice.text
    stored = await PeerExchange.get(id=exchange.id)
    assert (stored.mentee_rating, stored.mentee_learned) == (4, "A")
    assert stored.mentor_rating is None

    event = await RequestEvent.get(request_id=exchange.request_id, kind="feedback")  # type: ignore[attr-defined]
    assert match_requests.event_text(event) == (
        f"{catalogue.staff.name} (staff) gave feedback on behalf of Lviv"
    )
    for official in (catalogue.lviv, catalogue.manchester):
        notice = await Notice.get(user=official, kind="exchange_feedback")
        assert notice.message == "Staff gave feedback on your exchange on behalf of %(city)s"
        assert notice.params == {"city": "Lviv"}

    # The mentor city's own official still answers for Manchester, and only for it.
    await switch(client, catalogue.manchester)
    page = await client.get(url)
    assert "Conclude with feedback" in page.text
    assert "Waiting for feedback from Manchester." in page.text
    assert 'name="on_behalf_of"' not in page.text
    own = await post_form(client, url, {"rating": "5", "learned": "E", "on_behalf_of": "lviv-ua"})
    assert own.status_code == 303
    stored = await PeerExchange.get(id=exchange.id)
    assert (stored.mentee_rating, stored.mentor_rating) == (4, 5)
    assert "Waiting for feedback" not in (await client.get(url)).text


async def test_two_submissions_for_one_side_record_one(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    exchange = await accepted_exchange(client, catalogue)
    results = await asyncio.gather(
        exchanges.check_conclude(settings, catalogue.lviv, exchange.id, 4, "First"),
        exchanges.check_conclude(settings, catalogue.lviv, exchange.id, 2, "Second"),
        return_exceptions=True,
    )
    conflicts = [r for r in results if isinstance(r, errors.Conflict)]
    assert len(conflicts) == 1 and conflicts[0].code == "feedback_given"
    stored = await PeerExchange.get(id=exchange.id)
    assert (stored.mentee_rating, stored.mentee_learned) in ((4, "First"), (2, "Second"))
    # One side's feedback does not conclude the exchange: the mentor's capacity stays taken.
    assert (await City.get(key="manchester-gb")).capacity_used == 1


async def test_inviting_ranks_before_taking_the_request_lock(
    client: httpx.AsyncClient,
    catalogue: Catalogue,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mr = await match_requests.check_file_request(
        catalogue.lviv,
        match_requests.RequestInput(
            city_key="lviv-ua", challenges=["post-attack-recovery"], description="After an attack"
        ),
    )
    in_transaction: list[bool] = []
    rank = matching.rank

    async def watched_rank(query: MatchQuery, index: MatchIndex | None = None) -> list[Candidate]:
        in_transaction.append(isinstance(connections.get("default"), TransactionalDBClient))
        return await rank(query, index)

    monkeypatch.setattr(matching, "rank", watched_rank)
    invitation = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, mr.id, "manchester-gb"
    )
    assert in_transaction == [False]
    assert invitation.score is not None and invitation.score > 0
    assert (await PeerInvitation.get(id=invitation.id)).score == invitation.score


async def test_the_invitation_mail_names_the_format(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    request_id = await file_request(client, catalogue.lviv, format="study-visit")
    await invite(client, request_id, "manchester-gb")
    await outbox.send_due(settings, "test")
    [mail] = mailbox.box.to("mary@manchester.example")
    assert "Format: Study visit" in text_part(mail)
    assert "Study visit" in html_part(mail)
    assert "study-visit" not in text_part(mail) + html_part(mail)


async def test_request_pages_read_through_services(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    options = await match_requests.request_form_options(catalogue.lviv)
    assert options.own_city is not None and options.own_city.key == "lviv-ua"
    assert options.cities == [("lviv-ua", "Lviv")]
    assert options.challenges[0] == ("post-attack-recovery", "Post-attack recovery")
    everyone = await match_requests.request_form_options(catalogue.staff)
    assert everyone.own_city is None
    assert [key for key, _name in everyone.cities] == [
        "berlin-de",
        "lviv-ua",
        "manchester-gb",
        "nice-fr",
        "oslo-no",
        "toronto-ca",
    ]
    cityless = await make_user("nobody@example.org")
    with pytest.raises(errors.PermissionDenied):
        await match_requests.request_form_options(cityless)

    request_id = await file_request(client, catalogue.lviv)
    detail = await match_requests.request_detail(catalogue.lviv, request_id)
    assert detail.challenge_names == {"post-attack-recovery": "Post-attack recovery"}
    await invite(client, request_id, "nice-fr")
    invitation = await invitation_for(request_id, "nice-fr")
    assert not (await peer_invitations.invitation_detail(catalogue.lviv, invitation.id)).can_answer
    answering = await peer_invitations.invitation_detail(catalogue.nice, invitation.id)
    assert answering.can_answer
    assert answering.challenge_names == {"post-attack-recovery": "Post-attack recovery"}


def test_matching_routes_and_form_options_run_no_queries() -> None:
    """Routes parse, call a service and render: no model is queried in these modules."""
    queries = {"all", "filter", "get", "get_or_none", "exists", "fetch_related", "values_list"}
    for module in (web_match_requests, web_peer_invitations, web_exchanges, web_options):
        tree = ast.parse(inspect.getsource(module))
        imported = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("exchange.models")
            for alias in node.names
        }
        calls = [
            f"{node.func.value.id}.{node.func.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in queries
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in imported
        ]
        awaited_fetches = [
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "fetch_related"
        ]
        assert calls == [] and awaited_fetches == [], (module.__name__, calls, awaited_fetches)
