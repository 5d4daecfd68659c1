"""An accepted exchange: who takes part, the thread between the two cities, the request
behind it, and feedback from both sides before it concludes."""

from __future__ import annotations

import httpx
import pytest
from test_matching_workflow import accepted_exchange

from exchange.models.accounts import User
from exchange.models.cities import Challenge, City
from exchange.models.matching import (
    ExchangeMessage,
    MatchRequest,
    Notice,
    PeerExchange,
    PeerInvitation,
    RequestStatus,
)
from exchange.services import catalogue_version, outbox
from exchange.settings import Settings

from matching_data import REQUEST_FORM, Catalogue, load_catalogue
from support import SMTPServer, first_link, make_user, post_form, switch, text_part


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


async def test_the_exchange_shows_both_cities_people_and_the_request(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    exchange = await accepted_exchange(client, catalogue)
    await User.filter(id=catalogue.manchester.id).update(share_email=True, timezone="Europe/London")
    await User.filter(id=catalogue.lviv.id).update(timezone="Europe/Kyiv")
    await switch(client, catalogue.lviv)
    page = (await client.get(f"/exchanges/{exchange.id}")).text
    people = page.split('id="people-heading"', 1)[1]
    assert "Mary" in people and "Olena" in people
    # Mary shares her address, Olena (by default) does not.
    assert "mailto:mary@manchester.example" in people
    assert "olena@lviv.example" not in people
    assert "Europe/London, now" in people and "Europe/Kyiv, now" in people
    assert REQUEST_FORM["description"] in page  # type: ignore[operator]
    assert "Post-attack recovery" in page.split('id="request-heading"', 1)[1]
    assert f'action="/exchanges/{exchange.id}/call"' in page
    assert "No messages yet." in page


async def test_a_message_tells_the_other_city_with_a_link_not_the_text(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    exchange = await accepted_exchange(client, catalogue)
    quiet = await make_user(
        "quiet@manchester.example",
        city=catalogue.cities["manchester-gb"],
        name="Quentin",
        email_on_exchange_message=False,
    )
    await outbox.send_due(settings, "test")  # the invitation's mail, out of the way
    await switch(client, catalogue.lviv)
    empty = await post_form(client, f"/exchanges/{exchange.id}/messages", {"body": "  "})
    assert empty.status_code == 400 and 'id="error-body"' in empty.text
    body = "**Hello** from Lviv.\n\nA second paragraph <script>alert(1)</script>"
    posted = await post_form(client, f"/exchanges/{exchange.id}/messages", {"body": body})
    assert posted.status_code == 303
    message = await ExchangeMessage.get(exchange_id=exchange.id)
    assert posted.headers["location"] == f"/exchanges/{exchange.id}#message-{message.id}"
    page = (await client.get(f"/exchanges/{exchange.id}")).text
    thread = page.split('id="messages-heading"', 1)[1]
    assert "<strong>Hello</strong> from Lviv." in thread
    assert "<p>A second paragraph" in thread and "<script>" not in thread
    assert "Olena, Lviv" in thread

    for person in (catalogue.manchester, quiet):
        notice = await Notice.get(user_id=person.id, kind="exchange_message")
        assert notice.link == f"/exchanges/{exchange.id}#messages-heading"
    assert not await Notice.exists(user_id=catalogue.lviv.id, kind="exchange_message")

    mailbox.box.clear()
    await outbox.send_due(settings, "test")
    [mail] = mailbox.box.to("mary@manchester.example")
    assert mail["Subject"] == "Olena of Lviv wrote on your exchange"
    assert first_link(text_part(mail)) == (
        f"http://exchange.test/exchanges/{exchange.id}#messages-heading"
    )
    assert "from Lviv." not in text_part(mail) and "second paragraph" not in text_part(mail)
    assert mailbox.box.to("quiet@manchester.example") == []
    assert mailbox.box.to("olena@lviv.example") == []

    # A third city cannot write on it.
    await switch(client, catalogue.nice)
    other = await post_form(client, f"/exchanges/{exchange.id}/messages", {"body": "Hi"})
    assert other.status_code == 404


async def test_settings_choose_sharing_the_email_and_message_mail(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await switch(client, catalogue.lviv)
    page = (await client.get("/settings")).text
    assert 'name="share_email" value="on" aria-describedby' in page
    assert 'name="email_on_exchange_message" value="on" checked' in page
    saved = await post_form(client, "/settings", {"action": "exchanges", "share_email": "on"})
    assert saved.status_code == 303
    user = await User.get(id=catalogue.lviv.id)
    assert user.share_email and not user.email_on_exchange_message


async def test_the_exchange_concludes_when_both_sides_have_given_feedback(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    exchange = await accepted_exchange(client, catalogue)
    url = f"/exchanges/{exchange.id}"
    await switch(client, catalogue.lviv)
    learned = "We learned **three** things.\n\nFirst, to listen."
    first = await post_form(client, url, {"rating": "5", "learned": learned})
    assert first.status_code == 303
    stored = await PeerExchange.get(id=exchange.id)
    assert stored.status.value == "active" and stored.concluded_at is None
    assert (await City.get(key="manchester-gb")).capacity_used == 1
    page = (await client.get(url)).text
    assert "Waiting for feedback from Manchester." in page
    assert "<p>We learned <strong>three</strong> things.</p>" in page
    assert "<p>First, to listen.</p>" in page

    await switch(client, catalogue.manchester)
    second = await post_form(client, url, {"rating": "4", "learned": "Ideas"})
    assert second.status_code == 303
    stored = await PeerExchange.get(id=exchange.id)
    assert stored.status.value == "concluded" and stored.concluded_at is not None
    assert (await City.get(key="manchester-gb")).capacity_used == 0
    assert (await MatchRequest.get(id=exchange.request_id)).status == RequestStatus.CLOSED  # type: ignore[attr-defined]
    assert "Waiting for feedback" not in (await client.get(url)).text


async def test_staff_close_an_exchange_without_waiting(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    exchange = await accepted_exchange(client, catalogue)
    url = f"/exchanges/{exchange.id}"
    await switch(client, catalogue.lviv)
    assert f'action="{url}/close"' not in (await client.get(url)).text
    assert (await post_form(client, f"{url}/close")).status_code == 403

    await switch(client, catalogue.staff)
    assert f'action="{url}/close"' in (await client.get(url)).text
    closed = await post_form(client, f"{url}/close")
    assert closed.status_code == 303
    stored = await PeerExchange.get(id=exchange.id)
    assert stored.status.value == "concluded"
    assert (await City.get(key="manchester-gb")).capacity_used == 0
    assert await Notice.exists(user_id=catalogue.lviv.id, kind="exchange_closed")
    again = await post_form(client, f"{url}/close")
    assert again.status_code in (403, 409)


async def test_reasons_are_kept_from_the_invitation_once_the_mentor_is_full(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await Challenge.filter(slug="post-attack-recovery").update(
        translations={"fr": {"name": "Rétablissement après un attentat"}}
    )
    await catalogue_version.bump()
    exchange = await accepted_exchange(client, catalogue)
    invitation = await PeerInvitation.get(id=exchange.invitation_id)
    assert invitation.match_reasons
    codes = [reason["code"] for reason in invitation.match_reasons]
    assert "practice_challenge" in codes
    # Manchester is now full: the ranking leaves it out, the pages keep its reasons.
    manchester = await City.get(key="manchester-gb")
    await City.filter(id=manchester.id).update(mentoring_capacity=manchester.capacity_used)
    await switch(client, catalogue.lviv)
    page = (await client.get(f"/exchanges/{exchange.id}")).text
    why = page.split("Why Manchester was proposed", 1)[1].split("</ul>", 1)[0]
    assert "Recovery after the Arena bombing" in why
    await switch(client, catalogue.manchester)
    shown = (await client.get(f"/peer-invitations/{invitation.id}")).text
    assert 'id="reasons-heading">Why Manchester was proposed' in shown
    assert "Recovery after the Arena bombing" in shown.split('id="reasons-heading"', 1)[1]
    # Kept as codes and facts: a French reader reads them in French.
    await User.filter(id=catalogue.manchester.id).update(locale="fr")
    french = (await client.get(f"/peer-invitations/{invitation.id}")).text
    assert "Pourquoi Manchester a été proposée" in french
    assert (
        "La pratique « Recovery after the Arena bombing » (2017) porte sur "
        "rétablissement après un attentat"
    ) in french


async def test_unreadable_kept_reasons_are_left_out() -> None:
    from exchange.services.reasons import stored_reason_texts

    texts = stored_reason_texts(
        [
            {"code": "retired_code", "params": {}},
            {"code": "capacity", "params": {"count": "two"}},
            {"code": "similar_size", "params": {"population": 568000}},
            "not a reason",
        ]
    )
    assert texts == ["Similar in size (population 568,000)"]
