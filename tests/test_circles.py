"""Circles end to end: the API contract, membership (invitations, requests, the
agreement and its versions, the cap under concurrent approvals, leaving and removal
ending access at once), the discussion, meetings as calendars read them, and the mail
members get."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import icalendar
import pytest

from exchange.models.accounts import User
from exchange.models.audit import AuditEvent
from exchange.models.circles import Circle, CirclePost, CircleThread, MembershipState
from exchange.models.mail import OutboxMessage
from exchange.services import (
    calendar_feed,
    circle_meetings,
    circle_members,
    circle_posts,
    circles,
    outbox,
)
from exchange.services.circles import CircleSettingsInput
from exchange.services.errors import Conflict, NotFound
from exchange.settings import Settings

from circles_data import NAME, PURPOSE, api_client, bearer, cast, make_circle
from support import SMTPServer, post_form, sign_in


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, User]:
    return await cast()


@pytest.fixture
async def script(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(client) as http:
        yield http


async def deliver(settings: Settings, mailbox: SMTPServer) -> list[EmailMessage]:
    mailbox.box.clear()
    await outbox.send_due(settings, "tests")
    return list(mailbox.box.messages)


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_the_api_contract_from_creation_to_removal(
    script: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    staff, fay, mo = [await bearer(people[k]) for k in ("staff", "fay", "mo")]
    created = await script.post(
        "/api/v1/circles",
        json={
            "name": NAME,
            "purpose": PURPOSE,
            "kind": "unlisted",
            "facilitator": "fay@nice.example",
            "cap": 10,
        },
        headers=staff,
    )
    assert created.status_code == 201, created.text
    circle = created.json()
    assert {"id", "name", "purpose", "kind", "cap"} <= set(circle)
    url = f"/api/v1/circles/{circle['id']}"
    assert created.headers["location"] == url
    # From now on the creator, who is not a member, sees nothing of it.
    assert (await script.get(url, headers=staff)).status_code == 404
    listed = await script.get("/api/v1/circles", headers=staff)
    assert listed.json()["items"] == []

    # The facilitator is invited: the agreement, and nothing inside yet.
    invited = await script.get(url, headers=fay)
    assert invited.json()["your_state"] == "invited"
    assert invited.json()["agreement"]["version"] == 1
    assert (await script.get(url + "/threads", headers=fay)).status_code == 404
    stale = await script.post(url + "/join", json={"agreement_version": 2}, headers=fay)
    assert (stale.status_code, error_code(stale)) == (409, "agreement_changed")
    joined = await script.post(url + "/join", json={"agreement_version": 1}, headers=fay)
    assert joined.json() == {"state": "active", "agreement_version": 1}

    asked = await script.post(url + "/invitations", json={"email": "mo@lviv.example"}, headers=fay)
    assert asked.status_code == 201
    assert asked.json() == {"user_id": people["mo"].id, "state": "invited"}
    assert (await script.post(url + "/join", json={"agreement_version": 1}, headers=mo)).json()[
        "state"
    ] == "active"
    members = await script.get(url + "/members", headers=mo)
    assert members.json()["members"] == [
        {"user_id": people["fay"].id, "name": "Fay", "facilitator": True},
        {"user_id": people["mo"].id, "name": "Mo", "facilitator": False},
    ]

    thread = await script.post(
        url + "/threads", json={"title": "Sleep", "body": "Since March, badly."}, headers=mo
    )
    assert thread.status_code == 201
    threads = await script.get(url + "/threads", headers=fay)
    assert [t["title"] for t in threads.json()["items"]] == ["Sleep"]
    checkin = await script.post(url + "/checkins", json={"score": 4, "note": "tired"}, headers=mo)
    assert checkin.status_code == 201
    assert checkin.json()["note"] == "tired"
    assert (await script.post(url + "/checkins", json={"score": 6}, headers=mo)).status_code == 422
    assert (await script.get(url + "/checkins/summary", headers=mo)).status_code == 403
    summary = await script.get(url + "/checkins/summary", headers=fay)
    assert summary.json() == {"period": "week", "periods": []}

    removed = await script.delete(f"{url}/members/{people['mo'].id}", headers=fay)
    assert removed.json() == {"user_id": people["mo"].id, "state": "removed"}
    # Mo's token was made while a member: it now opens nothing of the circle.
    for path in ("", "/threads", "/members", "/checkins/summary"):
        assert (await script.get(url + path, headers=mo)).status_code == 404
    assert (await script.post(url + "/leave", headers=fay)).json() == {"state": "left"}
    assert (await script.get(url, headers=fay)).status_code == 404


async def test_a_listed_circle_shows_its_name_and_purpose_and_takes_requests(
    script: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", kind="listed")
    ola, fay = await bearer(people["ola"]), await bearer(people["fay"])
    url = f"/api/v1/circles/{circle.id}"
    outline = await script.get(url, headers=ola)
    assert outline.json() == {
        "id": circle.id,
        "name": NAME,
        "purpose": PURPOSE,
        "kind": "listed",
        "your_state": "none",
    }
    for path in ("/threads", "/members", "/checkins/summary"):
        assert (await script.get(url + path, headers=ola)).status_code == 404
    asked = await script.post(url + "/requests", headers=ola)
    assert asked.json() == {"state": "requested"}
    told = await OutboxMessage.get(to_address="fay@nice.example", subject__contains="asks")
    assert told.subject == "Someone asks to join a circle of yours"
    again = await script.post(url + "/requests", headers=ola)
    assert again.status_code == 409
    stale = await script.post(url + "/join", json={"agreement_version": 1}, headers=ola)
    assert error_code(stale) == "not_invited"
    approved = await script.post(f"{url}/requests/{people['ola'].id}/approve", headers=fay)
    assert approved.json() == {"user_id": people["ola"].id, "state": "invited"}
    await script.post(url + "/join", json={"agreement_version": 1}, headers=ola)
    assert (await script.get(url + "/threads", headers=ola)).status_code == 200


async def test_a_new_agreement_version_asks_every_member_again(
    script: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo")
    change = CircleSettingsInput(
        name=NAME,
        purpose=PURPOSE,
        kind="unlisted",
        cap=12,
        agreement_text=circle.agreement_text,
        support_resources="- Helpline: 0800 000 000",
    )
    await circles.check_update_circle(settings, people["fay"], circle.id, change)
    assert (await Circle.get(id=circle.id)).agreement_version == 1  # same text, same version
    new_text = "We also keep names of cities out of what we repeat."
    changed = CircleSettingsInput(**{**change.__dict__, "agreement_text": new_text})
    await circles.check_update_circle(settings, people["fay"], circle.id, changed)
    assert (await Circle.get(id=circle.id)).agreement_version == 2

    mo, fay = await bearer(people["mo"]), await bearer(people["fay"])
    url = f"/api/v1/circles/{circle.id}"
    # The facilitator who wrote it stays in; Mo sees only the new agreement.
    assert (await script.get(url + "/threads", headers=fay)).status_code == 200
    assert (await script.get(url + "/threads", headers=mo)).status_code == 404
    shown = (await script.get(url, headers=mo)).json()
    assert shown["your_state"] == "agreement_changed"
    assert shown["agreement"] == {"version": 2, "text": new_text}
    subjects = await OutboxMessage.filter(to_address="mo@lviv.example").values_list(
        "subject", flat=True
    )
    assert "A circle of yours has an updated agreement" in subjects
    old = await script.post(url + "/join", json={"agreement_version": 1}, headers=mo)
    assert error_code(old) == "agreement_changed"
    await script.post(url + "/join", json={"agreement_version": 2}, headers=mo)
    assert (await script.get(url + "/threads", headers=mo)).status_code == 200
    accepted = await AuditEvent.filter(
        event="circle_agreement_accepted", subject_id=people["mo"].id
    ).order_by("id")
    assert [e.detail for e in accepted] == [
        {"circle": circle.id, "version": 1},
        {"circle": circle.id, "version": 2},
    ]


async def test_concurrent_approvals_never_pass_the_cap(
    people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", kind="listed", cap=4)
    peers = [people[f"p{n}"] for n in range(6)]
    for peer in peers:
        await circle_members.check_request(settings, peer, circle.id)
    results = await asyncio.gather(
        *(circle_members.check_approve(settings, people["fay"], circle.id, p.id) for p in peers),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 4
    assert all(isinstance(r, Conflict) and r.code == "circle_full" for r in refused)
    assert (await Circle.get(id=circle.id)).seats_taken == 4
    with pytest.raises(Conflict):
        await circle_members.check_invite(settings, people["fay"], circle.id, "ola@oslo.example")
    # A place freed is a place to give again.
    await circle_members.check_leave(settings, people["mo"], circle.id)
    still_asking = next(p for p, r in zip(peers, results, strict=True) if isinstance(r, Conflict))
    await circle_members.check_approve(settings, people["fay"], circle.id, still_asking.id)
    assert (await Circle.get(id=circle.id)).seats_taken == 4


async def test_removal_ends_access_in_an_open_session_at_once(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo")
    thread = await circle_posts.check_start_thread(
        settings, people["fay"], circle.id, "Welcome", "Say hello."
    )
    await sign_in(client, "mo@lviv.example")
    pages = [
        f"/circles/{circle.id}",
        f"/circles/{circle.id}/threads/{thread.id}",
        f"/circles/{circle.id}/members",
        f"/circles/{circle.id}/checkins",
        f"/circles/{circle.id}/meetings",
    ]
    for page in pages:
        assert (await client.get(page)).status_code == 200, page
    assert NAME in (await client.get("/circles")).text
    await circle_members.check_remove(settings, people["fay"], circle.id, people["mo"].id)
    # The same browser, the same session: the next request is refused.
    for page in pages:
        assert (await client.get(page)).status_code == 404, page
    assert NAME not in (await client.get("/circles")).text
    reply = await post_form(client, pages[1], {"body": "Still here?"})
    assert reply.status_code == 404
    told = await OutboxMessage.get(to_address="mo@lviv.example", subject__contains="no longer")
    assert NAME not in told.subject + told.body_text + told.body_html


async def test_anyone_leaves_at_any_time_and_the_last_facilitator_hands_over(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", "p0")
    await circle_members.check_leave(settings, people["fay"], circle.id)
    members = await circle_members.member_list(people["mo"], circle.id)
    assert [(m.user.name, m.is_facilitator) for m in members.members] == [
        ("Mo", True),
        ("Peer 0", False),
    ]
    told = await OutboxMessage.filter(to_address="mo@lviv.example").order_by("-id").first()
    assert told is not None and told.subject == "You are now a facilitator of a circle of yours"
    await sign_in(client, "p0@peers.example")
    page = await client.get(f"/circles/{circle.id}")
    assert page.status_code == 200
    left = await post_form(client, f"/circles/{circle.id}/leave")
    assert left.status_code == 303 and left.headers["location"] == "/circles"
    assert (await client.get(f"/circles/{circle.id}")).status_code == 404
    with pytest.raises(NotFound):
        await circle_members.check_leave(settings, people["p0"], circle.id)
    assert (await Circle.get(id=circle.id)).seats_taken == 1  # Mo's place only


async def test_joining_from_the_pages(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people)
    await circle_members.check_invite(settings, people["fay"], circle.id, "mo@lviv.example")
    await sign_in(client, "mo@lviv.example")
    listed = await client.get("/circles")
    assert NAME in listed.text and "accept the agreement" in listed.text
    page = await client.get(f"/circles/{circle.id}")
    assert "Confidentiality agreement" in page.text
    assert "What is said in this circle stays in this circle." in page.text
    assert "Start a thread" not in page.text
    joined = await post_form(client, f"/circles/{circle.id}/join", {"agreement_version": "1"})
    assert joined.status_code == 303
    home = await client.get(f"/circles/{circle.id}")
    assert "Start a thread" in home.text and PURPOSE in home.text


async def test_the_discussion_is_sanitised_and_authors_own_their_posts(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", "p0")
    body = "Hello <script>alert(1)</script> **strong** [x](javascript:alert(1))"
    thread = await circle_posts.check_start_thread(
        settings, people["mo"], circle.id, "Nights", body
    )
    [post] = await CirclePost.filter(thread_id=thread.id)
    url = f"/circles/{circle.id}/threads/{thread.id}"
    await sign_in(client, "p0@peers.example")
    page = await client.get(url)
    assert "<strong>strong</strong>" in page.text
    assert "<script>alert" not in page.text and 'href="javascript' not in page.text
    # Another member, and the facilitator, may not edit or delete it.
    assert (await client.get(f"/circles/{circle.id}/posts/{post.id}/edit")).status_code == 403
    refused = await post_form(client, f"/circles/{circle.id}/posts/{post.id}/delete")
    assert refused.status_code == 403
    with pytest.raises(Exception) as denied:
        await circle_posts.check_edit_post(people["fay"], circle.id, post.id, "Changed")
    assert getattr(denied.value, "status", None) == 403

    # A facilitator hides it: the others no longer read it, its author still does.
    await circle_posts.toggle_hidden(people["fay"], circle.id, post.id)
    page = await client.get(url)
    assert "Hidden by a facilitator." in page.text and "alert(1)" not in page.text
    author = await circle_posts.thread_view(people["mo"], circle.id, thread.id)
    assert author.shown(author.posts[0])
    await circle_posts.toggle_hidden(people["fay"], circle.id, post.id)

    await circle_posts.check_edit_post(
        people["mo"], circle.id, post.id, "Better now.", title="Mornings"
    )
    assert (await CircleThread.get(id=thread.id)).title == "Mornings"
    reply = await circle_posts.check_reply(settings, people["p0"], circle.id, thread.id, "Same.")
    await circle_posts.delete_post(people["mo"], circle.id, post.id)
    gone = await CirclePost.get(id=post.id)
    assert (gone.body, gone.deleted_at is not None) == ("", True)
    assert (await CircleThread.get(id=thread.id)).title == ""
    assert not await CirclePost.filter(body__contains="Better").exists()
    page = await client.get(url)
    assert "This post was deleted by its author." in page.text
    assert "Same." in page.text and (await CirclePost.get(id=reply.id)).body == "Same."


async def test_members_hear_only_that_something_is_new(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", "p0")
    await OutboxMessage.all().delete()
    thread = await circle_posts.check_start_thread(
        settings, people["mo"], circle.id, "Quillwort evenings", "The marmalade lighthouse."
    )
    mails = await OutboxMessage.all()
    assert sorted(m.to_address for m in mails) == ["fay@nice.example", "p0@peers.example"]
    for mail in mails:
        assert mail.subject == "Something new in a circle of yours"
        assert "There is something new in a circle of yours." in mail.body_text
        assert f"/circles/{circle.id}/threads/{thread.id}" in mail.body_text
        everything = mail.subject + mail.body_text + mail.body_html
        for secret in (NAME, PURPOSE, "Quillwort", "marmalade", "Mo"):
            assert secret not in everything, secret
    # More news before they have looked: no second email.
    await circle_posts.check_reply(settings, people["mo"], circle.id, thread.id, "And more.")
    assert await OutboxMessage.all().count() == 2
    # P0 looks; the next news reaches P0 again, not Fay who has not looked yet.
    await sign_in(client, "p0@peers.example")
    await client.get(f"/circles/{circle.id}/threads/{thread.id}")
    await asyncio.sleep(0.01)
    await circle_posts.check_reply(settings, people["mo"], circle.id, thread.id, "Again.")
    later = await OutboxMessage.filter(id__gt=max(m.id for m in mails))
    assert [m.to_address for m in later] == ["p0@peers.example"]


def _calendar(mail: EmailMessage) -> tuple[icalendar.Calendar, icalendar.Event]:
    [part] = [
        p
        for p in mail.walk()
        if p.get_content_type() == "text/calendar" and p.get_filename() is None
    ]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    [event] = calendar.walk("VEVENT")
    return calendar, event


async def test_meeting_invitations_say_circle_meeting_the_time_and_links_only(
    client: httpx.AsyncClient,
    people: dict[str, User],
    settings: Settings,
    mailbox: SMTPServer,
) -> None:
    circle = await make_circle(settings, people, "mo")
    await deliver(settings, mailbox)  # the invitations to the circle
    await sign_in(client, "fay@nice.example")
    finder = await client.get(
        f"/circles/{circle.id}/meetings?from=2031-03-17&to=2031-03-19&duration=60"
    )
    assert "Best times for 2 members in 2 zones" in finder.text
    found = await circle_meetings.suggest_times(
        people["fay"], circle.id, "2031-03-17", "2031-03-19", 60
    )
    start = found.slots[0].start
    scheduled = await post_form(
        client,
        f"/circles/{circle.id}/meetings",
        {"start": start.isoformat(), "duration": "60", "online_url": "https://meet.example/c1"},
    )
    assert scheduled.status_code == 303, scheduled.text
    await client.get("/")
    messages = await deliver(settings, mailbox)
    assert sorted(m["To"] for m in messages) == ["fay@nice.example", "mo@lviv.example"]
    link = f"http://exchange.test/circles/{circle.id}/meetings"
    for mail in messages:
        assert mail["Subject"] == "Circle meeting: invitation"
        calendar, event = _calendar(mail)
        assert calendar["METHOD"] == "REQUEST"
        assert str(event["SUMMARY"]) == "Circle meeting"
        assert str(event["DESCRIPTION"]) == link
        assert str(event["LOCATION"]) == str(event["URL"]) == "https://meet.example/c1"
        assert event.decoded("DTSTART").astimezone(UTC) == start
        # Each invitation names its recipient alone.
        assert str(event["ATTENDEE"]) == f"mailto:{mail['To']}"
        raw = mail.as_string()
        for secret in (NAME, PURPOSE, "Sam Staff"):
            assert secret not in raw, secret

    feed = await client.get(calendar_feed.feed_path(settings, people["mo"]))
    [entry] = icalendar.Calendar.from_ical(feed.text).walk("VEVENT")
    assert str(entry["SUMMARY"]) == "Circle meeting" and NAME not in feed.text

    # Someone joining later gets the meeting already scheduled.
    await circle_members.check_invite(settings, people["fay"], circle.id, "p0@peers.example")
    await circle_members.check_join(settings, people["p0"], circle.id, 1)
    [joined] = [m for m in await deliver(settings, mailbox) if m["Subject"].startswith("Circle")]
    assert joined["To"] == "p0@peers.example" and _calendar(joined)[0]["METHOD"] == "REQUEST"

    # Mo leaves: Mo's calendar drops the meeting, and the feed no longer lists it.
    await circle_members.check_leave(settings, people["mo"], circle.id)
    [cancel] = await deliver(settings, mailbox)
    calendar, event = _calendar(cancel)
    assert (cancel["To"], calendar["METHOD"]) == ("mo@lviv.example", "CANCEL")
    assert "STATUS" not in event
    feed = await client.get(calendar_feed.feed_path(settings, people["mo"]))
    assert "VEVENT" not in feed.text

    meeting_id = (await circle_meetings.meetings_view(people["fay"], circle.id)).upcoming[0].id
    await circle_meetings.check_cancel(settings, people["fay"], circle.id, meeting_id)
    cancels = await deliver(settings, mailbox)
    assert sorted(m["To"] for m in cancels) == ["fay@nice.example", "p0@peers.example"]
    _, cancelled = _calendar(cancels[0])
    assert (cancelled["SEQUENCE"], cancelled["STATUS"]) == (1, "CANCELLED")
    assert str(cancelled["UID"]) == str(event["UID"])


async def test_a_meeting_in_the_past_or_with_a_bad_link_is_refused(
    people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    with pytest.raises(Exception) as refused:
        await circle_meetings.check_schedule(
            settings, people["fay"], circle.id, past, 5, "javascript:alert(1)"
        )
    assert set(getattr(refused.value, "fields", {})) == {"start", "duration", "online_url"}
    with pytest.raises(Exception) as refused:
        await circle_meetings.check_schedule(
            settings, people["fay"], circle.id, "2031-01-01T10:00:00+00:00", 60, "https://[::1/c"
        )
    assert set(getattr(refused.value, "fields", {})) == {"online_url"}
    with pytest.raises(Exception) as denied:
        await circle_meetings.check_schedule(
            settings, people["mo"], circle.id, "2031-01-01T10:00:00+00:00", 60
        )
    assert getattr(denied.value, "status", None) == 403


async def test_membership_states_after_invitation_and_decline(
    people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people)
    invited = await circle_members.check_invite(
        settings, people["fay"], circle.id, "ola@oslo.example"
    )
    assert invited.state == MembershipState.INVITED
    with pytest.raises(Conflict):
        await circle_members.check_invite(settings, people["fay"], circle.id, "ola@oslo.example")
    await circle_members.check_leave(settings, people["ola"], circle.id)  # declines
    assert (await Circle.get(id=circle.id)).seats_taken == 1
    again = await circle_members.check_invite(
        settings, people["fay"], circle.id, "ola@oslo.example"
    )
    assert again.state == MembershipState.INVITED and again.id == invited.id


async def test_a_french_member_reads_the_circle_and_its_mail_in_french(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    await User.filter(id=people["mo"].id).update(locale="fr")
    circle = await make_circle(settings, people, "mo")
    await circle_posts.check_start_thread(settings, people["fay"], circle.id, "Nuits", "Dures.")
    mail = await OutboxMessage.get(to_address="mo@lviv.example", subject__contains="nouveau")
    assert mail.subject == "Du nouveau dans un de vos cercles"
    assert "Il y a du nouveau dans un de vos cercles." in mail.body_text
    await sign_in(client, "mo@lviv.example")
    page = await client.get(f"/circles/{circle.id}")
    assert "Lancer une discussion" in page.text and "Quitter le cercle" in page.text
