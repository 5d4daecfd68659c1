"""Dialogues end to end: the API contract, calendar messages as calendars read them (parsed
back with icalendar), answers with a waiting list under concurrency, guest links, polls,
reminders exactly once, the personal feed, and who sees what."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx
import icalendar
import pytest

from exchange.models.accounts import Role, User
from exchange.models.dialogues import Dialogue, Invitee, Seat
from exchange.models.mail import OutboxMessage
from exchange.services import calendar_feed, dialogue_mail, dialogues, outbox, polls, rsvp, tokens
from exchange.services.cities import load_shipped_taxonomy
from exchange.services.dialogues import DialogueInput
from exchange.services.errors import ValidationError
from exchange.settings import Settings

from support import SMTPServer, make_user, post_form, sign_in

START = "2031-03-20T14:00:00+00:00"
END = "2031-03-20T15:30:00+00:00"


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, User]:
    await load_shipped_taxonomy()
    return {
        "staff": await make_user("sam@network.example", Role.STAFF, name="Sam Staff"),
        "olena": await make_user("olena@lviv.example", name="Olena", timezone="Europe/Kyiv"),
        "tom": await make_user("tom@toronto.example", name="Tom", timezone="America/Toronto"),
        "other": await make_user("ola@oslo.example", name="Ola"),
    }


@pytest.fixture
async def script(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """An API client that keeps no cookies: only its bearer token counts."""
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


def calendars(mail: EmailMessage) -> list[icalendar.Calendar]:
    """The calendar parts of a message, parsed as a calendar program would."""
    return [
        icalendar.Calendar.from_ical(part.get_content())
        for part in mail.walk()
        if part.get_content_type() == "text/calendar" and part.get_filename() is None
    ]


def only_event(mail: EmailMessage) -> tuple[icalendar.Calendar, icalendar.Event]:
    [calendar] = calendars(mail)
    [event] = calendar.walk("VEVENT")
    return calendar, event


async def deliver(settings: Settings, mailbox: SMTPServer) -> list[EmailMessage]:
    mailbox.box.clear()
    await outbox.send_due(settings, "tests")
    # Making the tests' API tokens tells their owners too: not what these tests read.
    return [m for m in mailbox.box.messages if "API token" not in m["Subject"]]


async def create_by_api(
    script: httpx.AsyncClient, staff: User, **extra: object
) -> dict[str, object]:
    body = {
        "title": "Recovery after an attack: a transatlantic dialogue",
        "description": "Cities that lived through it, **in confidence**.",
        "challenges": ["post-attack-recovery"],
        "format": "online",
        "start": START,
        "end": END,
        "capacity": 20,
        "online_url": "https://meet.example.org/recovery",
        "visibility": "invited",
        **extra,
    }
    response = await script.post("/api/v1/dialogues", json=body, headers=await bearer(staff))
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


async def test_the_api_convenes_invites_and_calendars_take_the_invitation(
    script: httpx.AsyncClient,
    people: dict[str, User],
    settings: Settings,
    mailbox: SMTPServer,
) -> None:
    created = await create_by_api(script, people["staff"], timezone="Europe/Brussels")
    assert created["status"] == "scheduled"
    assert created["start"] == "2031-03-20T14:00:00+00:00"
    headers = await bearer(people["staff"])
    invited = await script.post(
        f"/api/v1/dialogues/{created['id']}/invitations",
        json={"emails": ["olena@lviv.example", "guest@kyiv.example"]},
        headers=headers,
    )
    assert invited.status_code == 201, invited.text
    assert {(i["email"], i["guest"]) for i in invited.json()["invited"]} == {
        ("olena@lviv.example", False),
        ("guest@kyiv.example", True),
    }
    messages = await deliver(settings, mailbox)
    assert sorted(m["To"] for m in messages) == ["guest@kyiv.example", "olena@lviv.example"]
    for mail in messages:
        calendar, event = only_event(mail)
        assert calendar["METHOD"] == "REQUEST"
        # RFC 5546 REQUEST: ORGANIZER, ATTENDEE, DTSTAMP, DTSTART, SEQUENCE, SUMMARY, UID.
        for prop in ("ORGANIZER", "ATTENDEE", "DTSTAMP", "DTSTART", "SEQUENCE", "SUMMARY", "UID"):
            assert prop in event, prop
        assert event["SEQUENCE"] == 0
        assert str(event["ORGANIZER"]) == "mailto:sam@network.example"
        assert event["ORGANIZER"].params["SENT-BY"].startswith("mailto:")
        attendees = event["ATTENDEE"]
        assert {str(a) for a in attendees} == {
            "mailto:olena@lviv.example",
            "mailto:guest@kyiv.example",
        }
        # Nobody is marked as having accepted: they have not answered yet.
        assert {a.params["PARTSTAT"] for a in attendees} == {"NEEDS-ACTION"}
        assert {a.params["RSVP"] for a in attendees} == {"TRUE"}
        assert event["DTSTART"].params["TZID"] == "Europe/Brussels"
        assert event.decoded("DTSTART").astimezone(UTC) == datetime(2031, 3, 20, 14, tzinfo=UTC)
        assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Brussels"]
        assert "https://meet.example.org/recovery" in str(event.get("URL", ""))
        assert "/dialogues/invitation/" in str(event["DESCRIPTION"])
    # The times in the email are in the recipient's own zone.
    olena = next(m for m in messages if m["To"] == "olena@lviv.example")
    assert "(Europe/Kyiv)" in olena.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The calendar part carries a personal link: once sent, it is gone from the outbox.
    assert all(
        not row.attachments for row in await OutboxMessage.filter(to_address="guest@kyiv.example")
    )


async def test_a_time_change_updates_and_a_cancellation_cancels_with_the_same_uid(
    script: httpx.AsyncClient,
    people: dict[str, User],
    settings: Settings,
    mailbox: SMTPServer,
) -> None:
    created = await create_by_api(script, people["staff"])
    headers = await bearer(people["staff"])
    url = f"/api/v1/dialogues/{created['id']}"
    await script.post(
        url + "/invitations", json={"emails": ["tom@toronto.example"]}, headers=headers
    )
    [invitation] = await deliver(settings, mailbox)
    uid = only_event(invitation)[1]["UID"]

    renamed = await script.patch(url, json={"title": "Only the title"}, headers=headers)
    assert renamed.status_code == 200
    later = await script.patch(
        url,
        json={"start": "2031-03-21T14:00:00+00:00", "end": "2031-03-21T15:00:00+00:00"},
        headers=headers,
    )
    assert later.status_code == 200, later.text
    messages = await deliver(settings, mailbox)
    updates = [only_event(m) for m in messages]
    assert [e["SEQUENCE"] for _, e in updates] == [1, 2]
    calendar, event = updates[-1]
    assert calendar["METHOD"] == "REQUEST"
    assert event["UID"] == uid
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2031, 3, 21, 14, tzinfo=UTC)
    assert messages[-1]["Subject"].startswith("Updated:")

    cancelled = await script.post(url + "/cancel", headers=headers)
    assert cancelled.json()["status"] == "cancelled"
    [cancel] = await deliver(settings, mailbox)
    calendar, event = only_event(cancel)
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == uid
    assert event["SEQUENCE"] == 3
    for prop in ("ATTENDEE", "DTSTAMP", "ORGANIZER", "SEQUENCE", "UID"):
        assert prop in event, prop


async def test_removing_an_invitee_sends_that_one_a_cancel(
    people: dict[str, User], settings: Settings, mailbox: SMTPServer, client: httpx.AsyncClient
) -> None:
    dialogue = await dialogues.check_create_dialogue(
        settings, people["staff"], DialogueInput(title="Call", start=START, end=END)
    )
    [tom, olena] = await rsvp.check_invite_people(
        settings, people["staff"], dialogue.id, ["tom@toronto.example", "olena@lviv.example"]
    )
    await deliver(settings, mailbox)
    await rsvp.check_remove_invitee(settings, people["staff"], dialogue.id, tom.id)
    [mail] = await deliver(settings, mailbox)
    assert mail["To"] == "tom@toronto.example"
    calendar, event = only_event(mail)
    assert calendar["METHOD"] == "CANCEL"
    attendees = event["ATTENDEE"]
    assert str(attendees) == "mailto:tom@toronto.example"
    assert "STATUS" not in event  # uninviting one person is not cancelling the event
    assert (await Invitee.get(id=olena.id)).seat == Seat.INVITED


async def test_answers_fill_seats_then_the_waiting_list_and_a_freed_seat_is_given_on(
    script: httpx.AsyncClient,
    people: dict[str, User],
    settings: Settings,
    mailbox: SMTPServer,
) -> None:
    created = await create_by_api(script, people["staff"], capacity=1)
    url = f"/api/v1/dialogues/{created['id']}"
    await script.post(
        url + "/invitations",
        json={"emails": ["olena@lviv.example", "tom@toronto.example"]},
        headers=await bearer(people["staff"]),
    )
    olena, tom = await bearer(people["olena"]), await bearer(people["tom"])
    first = await script.post(url + "/rsvp", json={"answer": "yes"}, headers=olena)
    assert first.json() == {"answer": "yes", "state": "confirmed"}
    second = await script.post(url + "/rsvp", json={"answer": "yes"}, headers=tom)
    assert second.json() == {"answer": "yes", "state": "waiting"}
    bad = await script.post(url + "/rsvp", json={"answer": "perhaps"}, headers=tom)
    assert bad.status_code == 422
    await deliver(settings, mailbox)

    gone = await script.post(url + "/rsvp", json={"answer": "no"}, headers=olena)
    assert gone.json() == {"answer": "no", "state": "declined"}
    shown = await script.get(url, headers=tom)
    assert shown.json()["your_state"] == "confirmed"
    [told] = await deliver(settings, mailbox)
    assert told["To"] == "tom@toronto.example"
    assert told["Subject"].startswith("A seat is yours")
    _, event = only_event(told)
    attendees = {str(a): a.params["PARTSTAT"] for a in event["ATTENDEE"]}
    assert attendees == {
        "mailto:tom@toronto.example": "ACCEPTED",
        "mailto:olena@lviv.example": "DECLINED",
    }


async def test_a_hundred_simultaneous_yeses_never_overfill_twenty_seats(
    people: dict[str, User], settings: Settings, client: httpx.AsyncClient
) -> None:
    dialogue = await dialogues.check_create_dialogue(
        settings,
        people["staff"],
        DialogueInput(title="Full house", start=START, end=END, capacity="20"),
    )
    emails = [f"p{n}@example.org" for n in range(100)]
    invited = await rsvp.check_invite_people(settings, people["staff"], dialogue.id, emails)
    results = await asyncio.gather(
        *(rsvp.answer_as(settings, i.id, "yes") for i in invited), return_exceptions=True
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    seats = [i.seat for i in await Invitee.filter(dialogue_id=dialogue.id)]
    assert seats.count(Seat.CONFIRMED) == 20
    assert seats.count(Seat.WAITING) == 80
    assert (await Dialogue.get(id=dialogue.id)).seats_taken == 20
    # The waiting list keeps its order: the first to wait is the first promoted.
    waiting = await Invitee.filter(dialogue_id=dialogue.id, seat=Seat.WAITING).order_by(
        "waiting_since", "id"
    )
    confirmed = await Invitee.filter(dialogue_id=dialogue.id, seat=Seat.CONFIRMED).first()
    assert confirmed is not None
    await rsvp.answer_as(settings, confirmed.id, "no")
    assert (await Invitee.get(id=waiting[0].id)).seat == Seat.CONFIRMED
    assert (await Invitee.get(id=waiting[1].id)).seat == Seat.WAITING


async def test_a_guest_answers_from_the_link_and_opening_it_changes_nothing(
    people: dict[str, User], settings: Settings, client: httpx.AsyncClient
) -> None:
    dialogue = await dialogues.check_create_dialogue(
        settings, people["staff"], DialogueInput(title="Open door", start=START, end=END)
    )
    [guest] = await rsvp.check_invite_people(
        settings, people["staff"], dialogue.id, ["guest@example.org"], "Asia/Tokyo"
    )
    link = dialogue_mail.personal_link(settings, guest)
    page = await client.get(link)
    assert page.status_code == 200
    assert "Open door" in page.text
    assert "(Asia/Tokyo)" in page.text
    assert (await Invitee.get(id=guest.id)).seat == Seat.INVITED
    answered = await post_form(client, link, {"action": "answer", "answer": "yes"})
    assert answered.status_code == 303
    assert (await Invitee.get(id=guest.id)).seat == Seat.CONFIRMED
    assert (await client.get(link[:-3] + "xyz")).status_code == 404


async def test_a_poll_finds_the_time_and_picking_it_schedules_and_invites(
    people: dict[str, User], settings: Settings, mailbox: SMTPServer, client: httpx.AsyncClient
) -> None:
    draft = await dialogues.check_create_dialogue(
        settings, people["staff"], DialogueInput(title="When shall we meet?")
    )
    assert draft.status.value == "draft"
    await rsvp.check_invite_people(
        settings, people["staff"], draft.id, ["olena@lviv.example", "guest@example.org"], "UTC"
    )
    assert await deliver(settings, mailbox) == []  # a draft invites nobody yet
    found = await polls.suggest_slots(people["staff"], draft.id, "2031-03-17", "2031-03-21", 60)
    # Kyiv and a UTC guest both work 09:00-18:00: the best slots suit both.
    assert found.slots[0].inside == 2
    starts = [slot.start for slot in found.slots[:3]]
    options = await polls.check_open_poll(settings, people["staff"], draft.id, starts, 60)
    asked = await deliver(settings, mailbox)
    assert sorted(m["To"] for m in asked) == ["guest@example.org", "olena@lviv.example"]
    assert all(not calendars(m) for m in asked)
    guest = await Invitee.get(dialogue_id=draft.id, email="guest@example.org")
    link = dialogue_mail.personal_link(settings, guest)
    page = await client.get(link)
    assert "Which times suit you?" in page.text
    await post_form(
        client,
        link,
        {"action": "vote", f"option-{options[0].id}": "no", f"option-{options[1].id}": "yes"},
    )
    grid = await polls.poll_grid(people["staff"], draft.id)
    assert grid.totals[options[1].id] == {"yes": 1}
    scheduled = await polls.check_pick(settings, people["staff"], draft.id, options[1].id)
    assert scheduled.status.value == "scheduled"
    assert scheduled.starts_at == options[1].starts_at
    invitations = await deliver(settings, mailbox)
    assert len(invitations) == 2
    assert all(only_event(m)[0]["METHOD"] == "REQUEST" for m in invitations)


async def test_reminders_go_out_exactly_once_with_two_workers(
    people: dict[str, User], settings: Settings, client: httpx.AsyncClient
) -> None:
    soon = datetime.now(UTC) + timedelta(hours=20)
    dialogue = await dialogues.check_create_dialogue(
        settings,
        people["staff"],
        DialogueInput(
            title="Tomorrow",
            start=soon.isoformat(),
            end=(soon + timedelta(hours=1)).isoformat(),
            reminder_hours=24,
        ),
    )
    invited = await rsvp.check_invite_people(
        settings, people["staff"], dialogue.id, [f"r{n}@example.org" for n in range(6)]
    )
    await rsvp.answer_as(settings, invited[0].id, "no")  # not coming: no reminder
    before = await OutboxMessage.filter(subject__startswith="Reminder").count()
    counts = await asyncio.gather(rsvp.send_reminders(settings), rsvp.send_reminders(settings))
    assert sum(counts) == 5
    assert await rsvp.send_reminders(settings) == 0
    reminders = await OutboxMessage.filter(subject__startswith="Reminder").values_list(
        "to_address", flat=True
    )
    assert before == 0
    assert sorted(reminders) == sorted(i.email for i in invited[1:])


async def test_who_sees_a_dialogue_and_its_details(
    people: dict[str, User], settings: Settings, client: httpx.AsyncClient
) -> None:
    public = await dialogues.check_create_dialogue(
        settings,
        people["staff"],
        DialogueInput(
            title="Open to all",
            start=START,
            end=END,
            visibility="public",
            online_url="https://meet.example.org/secret-room",
        ),
    )
    invited_only = await dialogues.check_create_dialogue(
        settings,
        people["staff"],
        DialogueInput(title="Closed circle of two", start=START, end=END),
    )
    await rsvp.check_invite_people(settings, people["staff"], public.id, ["tom@toronto.example"])
    await rsvp.check_invite_people(
        settings, people["staff"], invited_only.id, ["olena@lviv.example"]
    )
    # A visitor sees the public one without the link or the participants.
    listed = await client.get("/dialogues")
    assert "Open to all" in listed.text and "Closed circle" not in listed.text
    page = await client.get(f"/dialogues/{public.id}")
    assert page.status_code == 200
    assert "secret-room" not in page.text and "Tom" not in page.text
    assert (await client.get(f"/dialogues/{invited_only.id}")).status_code == 404
    # An official who is not invited: the same, signed in.
    await sign_in(client, "ola@oslo.example")
    assert (await client.get(f"/dialogues/{invited_only.id}")).status_code == 404
    assert "secret-room" not in (await client.get(f"/dialogues/{public.id}")).text
    # The invitee sees the link and the list.
    client.cookies.clear()
    await sign_in(client, "tom@toronto.example")
    page = await client.get(f"/dialogues/{public.id}")
    assert "secret-room" in page.text and "Tom" in page.text
    ics = await client.get(f"/dialogues/{public.id}.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "secret-room" in ics.text


async def test_the_personal_feed_lists_my_dialogues_and_a_reset_ends_the_old_address(
    people: dict[str, User], settings: Settings, client: httpx.AsyncClient
) -> None:
    dialogue = await dialogues.check_create_dialogue(
        settings, people["staff"], DialogueInput(title="In my calendar", start=START, end=END)
    )
    await rsvp.check_invite_people(settings, people["staff"], dialogue.id, ["tom@toronto.example"])
    path = calendar_feed.feed_path(settings, people["tom"])
    response = await client.get(path)
    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.text)
    assert calendar["METHOD"] == "PUBLISH"
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == ["In my calendar"]
    assert (await client.get(calendar_feed.feed_path(settings, people["olena"]))).text.count(
        "VEVENT"
    ) == 0
    await calendar_feed.reset_feed(people["tom"])
    assert (await client.get(path)).status_code == 404
    assert (await client.get(calendar_feed.feed_path(settings, people["tom"]))).status_code == 200


async def test_staff_find_a_time_and_open_a_poll_from_the_console(
    people: dict[str, User], settings: Settings, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "sam@network.example")
    created = await post_form(
        client,
        "/dialogues/new",
        {
            "title": "Planning",
            "format": "online",
            "timezone": "UTC",
            "visibility": "invited",
            "reminder_hours": "24",
        },
    )
    assert created.status_code == 303, created.text
    console = created.headers["location"]
    invited = await post_form(
        client,
        console.replace("/organise", "/invite"),
        {"emails": "olena@lviv.example, tom@toronto.example", "timezone": "UTC"},
    )
    assert invited.status_code == 303
    page = await client.get(console + "?from=2031-03-17&to=2031-03-19&duration=60")
    assert page.status_code == 200
    assert "inside working hours for 2" in page.text
    refused = await post_form(client, console.replace("/organise", "/cancel"), {})
    assert refused.status_code == 303
    dialogue = await Dialogue.get(title="Planning")
    assert dialogue.status.value == "draft"  # not cancelled without the confirmation


async def test_create_token_prints_a_working_token(
    people: dict[str, User], script: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    """The admin's command, as a real process against the same database."""
    environment = {**os.environ, "EXCHANGE_DATABASE_URL": database_url}
    environment["EXCHANGE_VAR_DIR"] = str(tmp_path)
    command = [sys.executable, "-m", "exchange", "create-token", "--email", "olena@lviv.example"]
    result = await asyncio.to_thread(
        subprocess.run,
        [*command, "--days", "30"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    [token] = result.stdout.splitlines()
    response = await script.get("/api/v1/dialogues", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    unknown = await asyncio.to_thread(
        subprocess.run,
        [*command[:-1], "nobody@example.org"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert "no active user" in unknown.stderr


async def test_working_hours_and_the_feed_address_are_set_in_settings(
    people: dict[str, User], settings: Settings, client: httpx.AsyncClient
) -> None:
    await sign_in(client, "tom@toronto.example")
    page = await client.get("/settings")
    feed = calendar_feed.feed_path(settings, people["tom"])
    assert feed in page.text
    bad = await post_form(
        client, "/settings", {"action": "hours", "work_start": "18:00", "work_end": "09:00"}
    )
    assert bad.status_code == 400
    assert "must end after they start" in bad.text
    saved = await post_form(
        client,
        "/settings",
        {"action": "hours", "work_start": "07:30", "work_end": "15:30", "work_days": ["1", "2"]},
    )
    assert saved.status_code == 303
    tom = await User.get(id=people["tom"].id)
    assert (tom.work_start, tom.work_end, tom.work_days) == ("07:30", "15:30", "12")
    assert polls.working_hours_of(tom).weekdays == frozenset({1, 2})
    await post_form(client, "/settings", {"action": "feed"})
    assert (await client.get(feed)).status_code == 404


ANSWER_SCRIPT = """
import asyncio, sys
from exchange import db
from exchange.services import rsvp
from exchange.settings import load_settings

async def main(ids):
    settings = load_settings()
    await db.init_db(settings.database_url)
    try:
        await asyncio.gather(*(rsvp.answer_as(settings, i, "yes") for i in ids))
    finally:
        await db.close_db()

asyncio.run(main([int(i) for i in sys.argv[1:]]))
"""


async def test_yeses_from_several_processes_never_overfill(
    people: dict[str, User], settings: Settings, database_url: str, tmp_path: Path
) -> None:
    """Four real processes answer at once, as four web workers would on PostgreSQL."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite deployments run a single process; PostgreSQL serves several")
    dialogue = await dialogues.check_create_dialogue(
        settings,
        people["staff"],
        DialogueInput(title="Full house", start=START, end=END, capacity="20"),
    )
    emails = [f"q{n}@example.org" for n in range(100)]
    invited = await rsvp.check_invite_people(settings, people["staff"], dialogue.id, emails)
    environment = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": database_url,
        "EXCHANGE_VAR_DIR": str(tmp_path),
        "EXCHANGE_SECRET_KEY": settings.secret_key,
    }
    ids = [str(i.id) for i in invited]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", ANSWER_SCRIPT, *ids[n::4], env=environment, stderr=PIPE
        )
        for n in range(4)
    ]
    for process in processes:
        _, errors = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, errors.decode()
    seats = [i.seat for i in await Invitee.filter(dialogue_id=dialogue.id)]
    assert seats.count(Seat.CONFIRMED) == 20
    assert seats.count(Seat.WAITING) == 80


async def test_the_list_filters_by_host_city_format_and_challenge(
    people: dict[str, User], settings: Settings, client: httpx.AsyncClient
) -> None:
    from exchange.models.cities import City, Region

    await City.create(key="oslo-no", name="Oslo", country="NO", region=Region.EUROPE)
    for title, host, fmt in (("In Oslo", "oslo-no", "in-person"), ("Online one", "", "online")):
        await dialogues.check_create_dialogue(
            settings,
            people["staff"],
            DialogueInput(
                title=title,
                start=START,
                end=END,
                host_city=host,
                format=fmt,
                visibility="public",
                challenges=["online-harms"] if host == "" else [],
            ),
        )
    by_city = (await client.get("/dialogues?city=oslo-no")).text
    assert "In Oslo" in by_city and "Online one" not in by_city
    by_format = (await client.get("/dialogues?format=online")).text
    assert "Online one" in by_format and "In Oslo" not in by_format
    by_challenge = (await client.get("/dialogues?challenge=online-harms")).text
    assert "Online one" in by_challenge and "In Oslo" not in by_challenge


async def test_control_characters_are_refused_in_dialogue_fields(
    people: dict[str, User], settings: Settings, client: httpx.AsyncClient
) -> None:
    with pytest.raises(ValidationError) as refused:
        await dialogues.check_create_dialogue(
            settings,
            people["staff"],
            DialogueInput(title="Two\r\nlines", description="Keeps\nlines\tand tabs\x00"),
        )
    assert set(refused.value.fields) == {"title", "description"}
    assert not await Dialogue.exists()
    for link in ("javascript:alert(1)", "https://[::1/room", "https://meet.example/a b"):
        with pytest.raises(ValidationError) as refused:
            await dialogues.check_create_dialogue(
                settings, people["staff"], DialogueInput(title="Linked", online_url=link)
            )
        assert set(refused.value.fields) == {"online_url"}, link
    assert not await Dialogue.exists()
