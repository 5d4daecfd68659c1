"""The confidentiality guarantees of circles, each tested: k-anonymous check-in summaries
(and kept as shown when someone deletes their account), notes read by their author alone,
an audit log of ids, the download of one's own words, account deletion, the admins'
totals, and a search for an unlisted circle's name and a post's words, as an admin and as
its creator, finding nothing in any page, API answer, email, audit entry, export or log.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from exchange.domain.privacy import PeriodSummary
from exchange.models.accounts import User
from exchange.models.audit import AuditEvent
from exchange.models.circles import Circle, CircleCheckIn, CirclePost, CircleThread
from exchange.models.mail import OutboxMessage
from exchange.models.matching import Notice
from exchange.services import (
    account_deletion,
    calendar_feed,
    catalogue_export,
    checkins,
    circle_meetings,
    circle_members,
    circle_posts,
)
from exchange.services.errors import Conflict, PermissionDenied
from exchange.settings import Settings

from circles_data import NAME, PURPOSE, bearer, cast, make_circle, person
from support import PASSWORD, post_form, sign_in


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, User]:
    return await cast()


def monday_noon(weeks_ago: int) -> datetime:
    now = datetime.now(UTC)
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    return monday - timedelta(weeks=weeks_ago)


def week_of(moment: datetime) -> str:
    iso = moment.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


async def test_a_period_shows_from_five_members_never_from_five_checkins(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", "p0", "p1", "p2", "p3", "p4")
    fay = people["fay"]
    last_week, two_weeks_ago = monday_noon(1), monday_noon(2)
    four = [people[k] for k in ("mo", "p0", "p1", "p2")]
    for n, member in enumerate(four):
        await checkins.check_record(member, circle.id, (2, 3, 4, 2)[n], "", now=last_week)
    # Four members: nothing, not even the count.
    assert (await checkins.summary(fay, circle.id)).periods == []
    # Five check-ins from four members: still nothing.
    for n, member in enumerate([*four, four[0]]):
        when = two_weeks_ago + timedelta(hours=n)
        await checkins.check_record(member, circle.id, 5, "", now=when)
    assert (await checkins.summary(fay, circle.id)).periods == []
    # A fifth member: the week shows, each member once: (2 + 3 + 4 + 2 + 5) / 5.
    await checkins.check_record(people["p3"], circle.id, 5, "", now=last_week)
    expected = [PeriodSummary(week_of(last_week), 5, 3.2)]
    assert (await checkins.summary(fay, circle.id)).periods == expected
    # The week under way never shows, however many check in: it is still changing.
    for key in ("fay", "mo", "p0", "p1", "p2", "p3", "p4"):
        await checkins.check_record(people[key], circle.id, 1, "")
    assert (await checkins.summary(fay, circle.id)).periods == expected
    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url)
    ) as script:
        answer = await script.get(
            f"/api/v1/circles/{circle.id}/checkins/summary", headers=await bearer(fay)
        )
    assert answer.json() == {
        "period": "week",
        "periods": [{"period": week_of(last_week), "members": 5, "mean": 3.2}],
    }


async def test_notes_are_read_by_their_author_alone(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", "p0", "p1", "p2", "p3")
    for key in ("mo", "p0", "p1", "p2", "p3"):
        await checkins.check_record(
            people[key], circle.id, 3, f"private note of {key}", now=monday_noon(1)
        )
    await sign_in(client, "mo@lviv.example")
    mine = await client.get(f"/circles/{circle.id}/checkins")
    assert "private note of mo" in mine.text and "private note of p0" not in mine.text
    client.cookies.clear()
    await sign_in(client, "fay@nice.example")
    summary = await client.get(f"/circles/{circle.id}/checkins/summary")
    assert week_of(monday_noon(1)) in summary.text
    assert "private note" not in summary.text
    for path in ("checkins", "members", ""):
        assert "private note" not in (await client.get(f"/circles/{circle.id}/{path}")).text


async def test_summaries_stay_as_shown_when_a_member_deletes_their_account(
    people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", "p0", "p1", "p2", "p3", "p4")
    fay = people["fay"]
    last_week, two_weeks_ago = monday_noon(1), monday_noon(2)
    for n, key in enumerate(("mo", "p0", "p1", "p2", "p3", "p4")):
        await checkins.check_record(people[key], circle.id, 1 + n % 5, "", now=last_week)
    for key in ("p0", "p1", "p2", "p3", "p4"):
        await checkins.check_record(people[key], circle.id, 4, "", now=two_weeks_ago)
    # Facilitators look at last week only before p0 goes; nobody looked at the week before.
    shown = (await checkins.summary(fay, circle.id)).periods
    assert shown[-1] == PeriodSummary(week_of(last_week), 6, 2.7)
    await account_deletion.delete_account(settings, people["p0"], people["p0"].id)
    assert not await CircleCheckIn.filter(user_id=people["p0"].id).exists()
    # Set beside the figures shown before, the new ones would tell what p0 said: they
    # stay as they were, the week nobody had looked at included.
    assert (await checkins.summary(fay, circle.id)).periods == [
        PeriodSummary(week_of(two_weeks_ago), 5, 4.0),
        PeriodSummary(week_of(last_week), 6, 2.7),
    ]


async def test_the_audit_log_holds_membership_events_with_ids_only(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", "p0", kind="listed")
    await circle_members.check_request(settings, people["ola"], circle.id)
    await circle_members.check_approve(settings, people["fay"], circle.id, people["ola"].id)
    await circle_members.check_join(settings, people["ola"], circle.id, 1)
    await circle_members.check_name_facilitator(settings, people["fay"], circle.id, people["mo"].id)
    await circle_members.check_leave(settings, people["ola"], circle.id)
    await circle_members.check_remove(settings, people["fay"], circle.id, people["p0"].id)
    events = await AuditEvent.filter(event__startswith="circle_")
    assert {e.event for e in events} == {
        "circle_created",
        "circle_invited",
        "circle_joined",
        "circle_agreement_accepted",
        "circle_join_requested",
        "circle_join_approved",
        "circle_facilitator_named",
        "circle_left",
        "circle_removed",
    }
    for event in events:
        assert event.detail["circle"] == circle.id
        assert set(event.detail) <= {"circle", "version", "facilitator"}
        assert event.email == ""
    stored = json.dumps([e.detail for e in events])
    assert NAME not in stored and PURPOSE not in stored
    await sign_in(client, "ada@network.example")
    page = await client.get("/admin/audit")
    assert "Joined a circle" in page.text and "Removed from a circle" in page.text
    assert NAME not in page.text


async def test_a_member_downloads_their_own_words_and_deleting_the_account_deletes_them(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    circle = await make_circle(settings, people, "mo", "p0")
    seats = (await Circle.get(id=circle.id)).seats_taken
    mine = await circle_posts.check_start_thread(
        settings, people["mo"], circle.id, "Mo's nights", "mo opening words"
    )
    theirs = await circle_posts.check_start_thread(
        settings, people["p0"], circle.id, "P0's days", "p0 opening words"
    )
    await circle_posts.check_reply(settings, people["p0"], circle.id, mine.id, "p0 reply words")
    await circle_posts.check_reply(settings, people["mo"], circle.id, theirs.id, "mo reply words")
    await checkins.check_record(people["mo"], circle.id, 2, "mo private note")
    await checkins.check_record(people["p0"], circle.id, 4, "p0 private note")

    await sign_in(client, "mo@lviv.example")
    download = await client.get("/circles/my-data")
    assert download.headers["content-disposition"].startswith("attachment")
    data = download.json()
    assert [(p["title"], p["body"]) for p in data["posts"]] == [
        ("Mo's nights", "mo opening words"),
        (None, "mo reply words"),
    ]
    assert [(c["score"], c["note"]) for c in data["checkins"]] == [(2, "mo private note")]
    assert "p0" not in download.text

    refused = await post_form(
        client, "/settings/delete-account", {"password": "wrong", "confirm": "yes"}
    )
    assert refused.status_code == 400
    deleted = await post_form(
        client, "/settings/delete-account", {"password": PASSWORD, "confirm": "yes"}
    )
    assert deleted.status_code == 303
    assert not await User.filter(email="mo@lviv.example").exists()
    assert not await CirclePost.filter(body__startswith="mo ").exists()
    assert not await CircleCheckIn.filter(note="mo private note").exists()
    # The thread Mo opened keeps p0's reply, without Mo's title or author.
    kept = await CircleThread.get(id=mine.id)
    assert (kept.title, kept.author_id) == ("", None)
    assert await CirclePost.filter(thread_id=mine.id).values_list("body", flat=True) == [
        "p0 reply words"
    ]
    assert await CircleCheckIn.filter(note="p0 private note").exists()
    assert (await Circle.get(id=circle.id)).seats_taken == seats - 1
    [event] = await AuditEvent.filter(event="account_deleted")
    assert event.detail == {"user": people["mo"].id}
    assert (await client.get("/circles")).status_code == 303  # signed out for good

    with pytest.raises(PermissionDenied):
        await account_deletion.delete_account(settings, people["ola"], people["p0"].id)
    await account_deletion.delete_account(settings, people["admin"], people["p0"].id)
    assert not await User.filter(email="p0@peers.example").exists()
    with pytest.raises(Conflict):
        await account_deletion.delete_account(settings, people["admin"], people["admin"].id)


async def test_admins_see_only_the_totals(
    client: httpx.AsyncClient, people: dict[str, User], settings: Settings
) -> None:
    await make_circle(settings, people, "mo", "p0")
    await make_circle(settings, people, "mo", "p1", name="Second circle", kind="listed")
    await sign_in(client, "ada@network.example")
    page = await client.get("/admin/circles")
    assert page.status_code == 200
    assert "<dd>2</dd>" in page.text and "<dd>4</dd>" in page.text  # Fay, Mo, P0, P1
    for secret in (NAME, "Second circle", PURPOSE, "Fay", "Mo"):
        assert secret not in page.text


# The only modules that may read circle tables. A list, a search, an export, a brief or a
# feed elsewhere cannot show a circle if it cannot read one.
READERS_OF_CIRCLES = {
    "services/account_deletion.py",
    "services/checkins.py",
    "services/circle_mail.py",
    "services/circle_meetings.py",
    "services/circle_members.py",
    "services/circle_posts.py",
    "services/circles.py",
    "services/permissions.py",
    "services/visibility.py",
    "web/api/circles.py",
    "web/circles.py",
}


def test_only_the_circle_modules_read_circle_tables() -> None:
    source = Path(__file__).resolve().parent.parent / "exchange"
    readers = {
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if "exchange.models.circles" in path.read_text(encoding="utf-8")
        and path.parts[-2] != "models"
    }
    assert readers == READERS_OF_CIRCLES


SECRETS = ("Zephyrine", "Quillwort", "Brambleberry", "marmalade")


async def test_an_admin_searching_for_an_unlisted_circle_finds_nothing_anywhere(
    client: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The name of an unlisted circle and the words of a post in it, looked for as an
    admin and as the staff member who created it, on every page and API path of the app,
    in search, and then in the mail, the audit log, notices, the export and the logs."""
    from test_access_matrix import RULES, app_routes, build_world, concrete

    caplog.set_level(logging.DEBUG, logger="exchange")
    world = await build_world(settings)
    staff, admin = world.users["staff"], world.users["admin"]
    fay = await person("fay.secret@circle.example", name="Fay Facilitator")
    member = await person("mia.secret@circle.example", name="Mia Member")
    people = {"staff": staff, "fay": fay, "mia": member}
    circle = await make_circle(
        settings, people, "mia", name="Zephyrine Quillwort Harbour", kind="unlisted"
    )
    thread = await circle_posts.check_start_thread(
        settings, member, circle.id, "Brambleberry evenings", "A marmalade lighthouse at dusk."
    )
    await circle_posts.check_reply(settings, fay, circle.id, thread.id, "marmalade too")
    await checkins.check_record(member, circle.id, 2, "Brambleberry note")
    meeting = await circle_meetings.check_schedule(
        settings, fay, circle.id, "2031-05-06T15:00:00+00:00", 60, "https://meet.example/zq"
    )
    own = await circle_posts.thread_view(member, circle.id, thread.id)
    values = {
        **world.values,
        "{circle_id:id}": str(circle.id),
        "{thread_id:id}": str(thread.id),
        "{post_id:id}": str(own.posts[0].id),
        "{meeting_id:id}": str(meeting.id),
    }

    def clean(text: str) -> None:
        found = [secret for secret in SECRETS if secret.lower() in text.lower()]
        assert not found, found

    for looker in (admin, staff):
        client.cookies.clear()
        await sign_in(client, looker.email)
        for method, path in sorted(app_routes(client)):
            if method != "GET" or (method, path) not in RULES:
                continue
            response = await client.get(concrete(path, values))
            clean(response.text)
            if "{circle_id:id}" in path:
                assert response.status_code == 404, path
        for extra in (
            "/circles",
            "/api/v1/circles",
            "/admin/audit?event=circle_created",
            "/admin/mail?status=pending",
            calendar_feed.feed_path(settings, looker),
        ):
            clean((await client.get(extra)).text)
        # Search answers for a circle's words exactly as for a word that is nowhere.
        for search in ("/library?q={}", "/admin/users?q={}"):
            for secret in SECRETS:
                found = await client.get(search.format(secret))
                control = await client.get(search.format("Xylophonic"))
                assert found.status_code == control.status_code
                if found.status_code == 200:
                    assert found.text.replace(secret, "TERM") == control.text.replace(
                        "Xylophonic", "TERM"
                    )

    mail = await OutboxMessage.all()
    assert mail, "members were mailed"
    for message in mail:
        clean(message.subject + message.body_text + message.body_html)
        clean(json.dumps(message.attachments or []))
    for event in await AuditEvent.all():
        clean(json.dumps(event.detail) + event.email)
    for notice in await Notice.all():
        clean(notice.message + json.dumps(notice.params))
    export = io.StringIO()
    await catalogue_export.export_catalogue(export)
    clean(export.getvalue())
    clean(caplog.text)
