"""Calendar invitations: every message is parsed back with icalendar and checked against
the properties RFC 5546 requires for its method, its zones and its text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Component

from exchange.domain.calendar import (
    PRODID,
    Attendee,
    CalendarEvent,
    Person,
    cancel_ics,
    feed_ics,
    request_ics,
)

NEW_YORK = ZoneInfo("America/New_York")
OLENA = Attendee("Olena Kovalenko", "olena@kyiv.example")
JO = Attendee("Jo Smith", "jo@nyc.example", partstat="ACCEPTED", rsvp=False)
HOSTILE = 'Kyiv — Київ; recovery, "after"\nthe attack: \\ step 1\r\nDTSTART:19700101T000000Z'

# A wall time with no zone: what the events refuse.
NAIVE = datetime(2027, 3, 16, 14, tzinfo=UTC).replace(tzinfo=None)

REQUEST_REQUIRED = ("ORGANIZER", "ATTENDEE", "DTSTAMP", "DTSTART", "SEQUENCE", "SUMMARY", "UID")
CANCEL_REQUIRED = ("ATTENDEE", "DTSTAMP", "ORGANIZER", "SEQUENCE", "UID")


def event(**changes: Any) -> CalendarEvent:
    base = CalendarEvent(
        uid="dialogue-12@exchange.test",
        sequence=0,
        summary="Transatlantic dialogue: recovery after an attack",
        description="Agenda and reading list on the dialogue page.",
        # 10:00 in New York on Tuesday 16 March 2027, a week after the US change.
        start=datetime(2027, 3, 16, 14, 0, tzinfo=UTC),
        end=datetime(2027, 3, 16, 15, 30, tzinfo=UTC),
        tzid="America/New_York",
        organizer=Person("Network Staff", "staff@exchange.test"),
        attendees=[OLENA, JO],
        stamp=datetime(2027, 3, 1, 12, 0, tzinfo=UTC),
    )
    return replace(base, **changes)


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def only_event(calendar: Calendar) -> Component:
    [vevent] = calendar.walk("VEVENT")
    return vevent


def attendees(vevent: Component) -> list[Any]:
    found = vevent.get("ATTENDEE", [])
    return found if isinstance(found, list) else [found]


def tzids_used(calendar: Calendar) -> set[str]:
    """TZID parameters on any property of any event."""
    used = set()
    for vevent in calendar.walk("VEVENT"):
        for _, value in vevent.property_items(recursive=False):
            params = getattr(value, "params", {})
            if "TZID" in params:
                used.add(params["TZID"])
    return used


def test_request_has_what_rfc_5546_requires() -> None:
    calendar = parse(request_ics(event()))
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"] == PRODID
    vevent = only_event(calendar)
    for name in REQUEST_REQUIRED:
        assert name in vevent, name
    assert vevent["UID"] == "dialogue-12@exchange.test"
    assert vevent["SEQUENCE"] == 0
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent.decoded("DTSTAMP") == datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    assert vevent["DESCRIPTION"] == "Agenda and reading list on the dialogue page."


def test_request_names_the_organiser_and_every_attendee() -> None:
    vevent = only_event(parse(request_ics(event(sent_by="mailer@exchange.test"))))
    organizer = vevent["ORGANIZER"]
    assert str(organizer) == "mailto:staff@exchange.test"
    assert organizer.params["CN"] == "Network Staff"
    assert organizer.params["SENT-BY"] == "mailto:mailer@exchange.test"
    found = [(str(a), dict(a.params)) for a in attendees(vevent)]
    assert found == [
        (
            "mailto:olena@kyiv.example",
            {
                "CN": "Olena Kovalenko",
                "CUTYPE": "INDIVIDUAL",
                "ROLE": "REQ-PARTICIPANT",
                "PARTSTAT": "NEEDS-ACTION",
                "RSVP": "TRUE",
            },
        ),
        (
            "mailto:jo@nyc.example",
            {
                "CN": "Jo Smith",
                "CUTYPE": "INDIVIDUAL",
                "ROLE": "REQ-PARTICIPANT",
                "PARTSTAT": "ACCEPTED",
                "RSVP": "FALSE",
            },
        ),
    ]


def test_no_sent_by_unless_given() -> None:
    vevent = only_event(parse(request_ics(event())))
    assert "SENT-BY" not in vevent["ORGANIZER"].params


def test_location_falls_back_to_the_meeting_url() -> None:
    url = "https://meet.example/room?id=12;pwd=x"
    online = only_event(parse(request_ics(event(url=url))))
    assert (online["LOCATION"], online["URL"]) == (url, url)
    both = only_event(parse(request_ics(event(url=url, location="City Hall, room 3"))))
    assert (both["LOCATION"], both["URL"]) == ("City Hall, room 3", url)
    neither = only_event(parse(request_ics(event())))
    assert "LOCATION" not in neither and "URL" not in neither


def test_start_and_end_carry_the_tzid_with_its_vtimezone() -> None:
    data = request_ics(event())
    assert b"DTSTART;TZID=America/New_York:20270316T100000\r\n" in data
    assert b"DTEND;TZID=America/New_York:20270316T113000\r\n" in data
    calendar = parse(data)
    assert tzids_used(calendar) == {"America/New_York"}
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        # Before, during and after New York's change (02:00 -> 03:00 on 14 March 2027),
        # one event that spans the jump itself (01:00 EST to 04:00 EDT is two hours), and
        # one that starts in the first run of the repeated hour in November.
        (datetime(2027, 3, 12, 15, tzinfo=UTC), datetime(2027, 3, 12, 16, tzinfo=UTC)),
        (datetime(2027, 3, 16, 14, tzinfo=UTC), datetime(2027, 3, 16, 15, tzinfo=UTC)),
        (datetime(2027, 3, 14, 6, tzinfo=UTC), datetime(2027, 3, 14, 8, tzinfo=UTC)),
        (datetime(2027, 11, 7, 5, 30, tzinfo=UTC), datetime(2027, 11, 7, 5, 45, tzinfo=UTC)),
    ],
)
def test_times_round_trip_to_the_same_instant_through_the_vtimezone(
    start: datetime, end: datetime
) -> None:
    calendar = parse(request_ics(event(start=start, end=end)))
    vevent = only_event(calendar)
    # Read the wall times with the VTIMEZONE we sent, not the receiver's zone database.
    [vtimezone] = calendar.timezones
    sent_zone = vtimezone.to_tz(lookup_tzid=False)
    for name, expected in (("DTSTART", start), ("DTEND", end)):
        assert vevent[name].params["TZID"] == "America/New_York"
        wall = vevent.decoded(name).replace(tzinfo=None)
        assert wall.replace(tzinfo=sent_zone).astimezone(UTC) == expected
        assert vevent.decoded(name).astimezone(UTC) == expected
    elapsed = vevent.decoded("DTEND").astimezone(UTC) - vevent.decoded("DTSTART").astimezone(UTC)
    assert elapsed == end - start


def test_a_moment_the_clocks_show_twice_is_written_in_utc() -> None:
    # New York turns 02:00 back to 01:00 on 7 November 2027. 05:30 UTC is the first 01:30
    # (EDT), 06:30 UTC the second (EST); both would be written 01:30, which RFC 5545 reads
    # as the first. So the second is written in UTC.
    start, end = datetime(2027, 11, 7, 5, 30, tzinfo=UTC), datetime(2027, 11, 7, 6, 30, tzinfo=UTC)
    data = request_ics(event(start=start, end=end))
    assert b"DTSTART;TZID=America/New_York:20271107T013000\r\n" in data
    assert b"DTEND:20271107T063000Z\r\n" in data
    vevent = only_event(parse(data))
    assert vevent.decoded("DTSTART").astimezone(UTC) == start
    assert vevent.decoded("DTEND") == end
    # An hour later, 07:30 UTC is 02:30 EST, shown once: back to local time.
    later = request_ics(event(start=start, end=datetime(2027, 11, 7, 7, 30, tzinfo=UTC)))
    assert b"DTEND;TZID=America/New_York:20271107T023000\r\n" in later


def test_the_same_wall_time_moves_in_utc_across_the_change() -> None:
    before = request_ics(
        event(
            start=datetime(2027, 3, 12, 15, tzinfo=UTC), end=datetime(2027, 3, 12, 16, tzinfo=UTC)
        )
    )
    after = request_ics(
        event(
            start=datetime(2027, 3, 16, 14, tzinfo=UTC), end=datetime(2027, 3, 16, 15, tzinfo=UTC)
        )
    )
    # Both are 10:00 on New York clocks.
    assert b"DTSTART;TZID=America/New_York:20270312T100000" in before
    assert b"DTSTART;TZID=America/New_York:20270316T100000" in after


def test_a_utc_event_needs_no_vtimezone() -> None:
    data = request_ics(event(tzid="UTC"))
    assert b"DTSTART:20270316T140000Z\r\n" in data
    calendar = parse(data)
    assert calendar.walk("VTIMEZONE") == []
    assert tzids_used(calendar) == set()


def test_hostile_text_survives_and_injects_nothing() -> None:
    data = request_ics(
        event(
            summary=HOSTILE,
            description=HOSTILE * 3,
            location=HOSTILE,
            organizer=Person(HOSTILE, "staff@exchange.test"),
            attendees=[Attendee(HOSTILE, "olena@kyiv.example")],
        )
    )
    vevent = only_event(parse(data))
    # Every character comes back but the carriage return: iCalendar writes a line break
    # as "\n" in text (RFC 5545 3.3.11) and "^n" in parameters (RFC 6868), nothing else.
    kept = HOSTILE.replace("\r\n", "\n")
    assert str(vevent["SUMMARY"]) == kept
    assert str(vevent["DESCRIPTION"]) == kept * 3
    assert str(vevent["LOCATION"]) == kept
    assert vevent["ORGANIZER"].params["CN"] == kept
    [attendee] = attendees(vevent)
    assert attendee.params["CN"] == kept
    # The fake DTSTART inside the text stayed text, and no bare line break got through.
    assert vevent.decoded("DTSTART").astimezone(UTC) == datetime(2027, 3, 16, 14, tzinfo=UTC)
    assert data[data.index(b"BEGIN:VEVENT") :].count(b"\r\nDTSTART") == 1
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_lines_are_folded_at_75_octets_without_splitting_characters() -> None:
    long_text = "Київ — Kyiv, Львів — Lviv; " * 20
    data = request_ics(event(summary=long_text, description=long_text))
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)  # something was folded
    for line in lines:
        line.decode("utf-8")  # no multi-octet character split across two lines
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert str(only_event(parse(data))["SUMMARY"]) == long_text


def test_cancel_has_what_rfc_5546_requires() -> None:
    original = event()
    data = cancel_ics(replace(original, sequence=1, status="CANCELLED"))
    calendar = parse(data)
    assert calendar["METHOD"] == "CANCEL"
    vevent = only_event(calendar)
    for name in CANCEL_REQUIRED:
        assert name in vevent, name
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent["UID"] == original.uid
    assert vevent["SEQUENCE"] == 1
    assert [str(a) for a in attendees(vevent)] == [
        "mailto:olena@kyiv.example",
        "mailto:jo@nyc.example",
    ]
    assert all(a.params["RSVP"] == "FALSE" for a in attendees(vevent))
    assert tzids_used(calendar) == {"America/New_York"}
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]


def test_cancel_for_some_attendees_uninvites_only_them() -> None:
    calendar = parse(cancel_ics(event(sequence=2), attendees=[JO]))
    vevent = only_event(calendar)
    assert calendar["METHOD"] == "CANCEL"
    assert [str(a) for a in attendees(vevent)] == ["mailto:jo@nyc.example"]
    # RFC 5546 3.2.5: STATUS cancels the whole event, so it must not be sent here.
    assert "STATUS" not in vevent
    assert vevent["SEQUENCE"] == 2
    for name in CANCEL_REQUIRED:
        assert name in vevent, name


def test_cancel_needs_someone_to_tell() -> None:
    with pytest.raises(ValueError, match="at least one attendee"):
        cancel_ics(event(), attendees=[])
    with pytest.raises(ValueError, match="at least one attendee"):
        cancel_ics(event(attendees=[]))


def test_request_refuses_a_cancelled_or_empty_event() -> None:
    with pytest.raises(ValueError, match="cancel_ics"):
        request_ics(event(status="CANCELLED"))
    with pytest.raises(ValueError, match="at least one attendee"):
        request_ics(event(attendees=[]))


def test_feed_publishes_events_without_attendees() -> None:
    kyiv = event(
        uid="dialogue-13@exchange.test",
        tzid="Europe/Kyiv",
        start=datetime(2027, 10, 30, 9, tzinfo=UTC),
        end=datetime(2027, 10, 30, 10, tzinfo=UTC),
    )
    gone = event(uid="dialogue-14@exchange.test", sequence=3, status="CANCELLED")
    data = feed_ics([event(), kyiv, gone], "Exchange — Olena Kovalenko")
    calendar = parse(data)
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-CALNAME"] == "Exchange — Olena Kovalenko"
    vevents = calendar.walk("VEVENT")
    assert [v["UID"] for v in vevents] == [
        "dialogue-12@exchange.test",
        "dialogue-13@exchange.test",
        "dialogue-14@exchange.test",
    ]
    assert [v["STATUS"] for v in vevents] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    assert all("ATTENDEE" not in v and "ORGANIZER" in v and "DTSTAMP" in v for v in vevents)
    assert b"RSVP" not in data and b"olena@kyiv.example" not in data
    assert tzids_used(calendar) == {"America/New_York", "Europe/Kyiv"}
    assert sorted(str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")) == [
        "America/New_York",
        "Europe/Kyiv",
    ]


def test_empty_feed_is_still_a_calendar() -> None:
    calendar = parse(feed_ics([], "Nothing yet"))
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar.walk("VEVENT") == []


def test_vtimezone_covers_every_year_the_feed_spans() -> None:
    later = event(
        uid="next-year@exchange.test",
        start=datetime(2029, 7, 1, 14, tzinfo=UTC),
        end=datetime(2029, 7, 1, 15, tzinfo=UTC),
    )
    calendar = parse(feed_ics([event(), later], "Two years"))
    [vtimezone] = calendar.timezones
    sent_zone = vtimezone.to_tz(lookup_tzid=False)
    for vevent in calendar.walk("VEVENT"):
        wall = vevent.decoded("DTSTART").replace(tzinfo=None)
        assert wall.replace(tzinfo=sent_zone).utcoffset() == timedelta(hours=-4)


def test_output_is_pure() -> None:
    assert request_ics(event()) == request_ics(event())
    assert feed_ics([event()], "x") == feed_ics([event()], "x")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"start": NAIVE}, "start must be an aware datetime"),
        ({"stamp": NAIVE}, "stamp must be an aware datetime"),
        ({"end": datetime(2027, 3, 16, 14, tzinfo=UTC)}, "must end after it starts"),
        ({"tzid": "Mars/Olympus"}, "unknown time zone"),
        ({"uid": " "}, "needs a UID"),
        ({"summary": ""}, "needs a summary"),
        ({"sequence": -1}, "must not be negative"),
        ({"url": "javascript:alert(1)"}, r"not an http\(s\) URL"),
        ({"url": "https://meet.example/a\r\nX-EVIL:1"}, r"not an http\(s\) URL"),
        ({"sent_by": "a@b.org\r\nX-EVIL:1"}, "not an email address"),
        ({"status": "TENTATIVE"}, "unknown event status"),
    ],
)
def test_bad_events_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        event(**changes)


@pytest.mark.parametrize("email", ["", "nobody", "a@b@c", "a b@c.org", "a@b.org\nX:1", "a;x@b"])
def test_bad_addresses_are_refused(email: str) -> None:
    with pytest.raises(ValueError, match="not an email address"):
        Attendee("Someone", email)
    with pytest.raises(ValueError, match="not an email address"):
        Person("Someone", email)


def test_unknown_participation_status_is_refused() -> None:
    with pytest.raises(ValueError, match="participation status"):
        Attendee("Someone", "a@b.org", partstat="MAYBE")  # type: ignore[arg-type]


def test_attendees_are_kept_as_a_tuple() -> None:
    listed = [OLENA]
    built = event(attendees=listed)
    listed.append(JO)
    assert built.attendees == (OLENA,)
    assert NEW_YORK.key == built.tzid
