"""Calendar invitations: iCalendar (RFC 5545) objects for iTIP (RFC 5546) messages.

`request_ics` invites, `cancel_ics` cancels (or uninvites some attendees), `feed_ics`
publishes a personal feed to subscribe to. The icalendar library writes the text: it
escapes values, encodes parameter values (RFC 6868), folds lines at 75 octets and ends
them with CRLF, so nothing here escapes by hand. Start and end are written in the event's
own zone with a TZID and a matching VTIMEZONE built from zoneinfo for the years the
events span, so every client places them at the same instant across daylight saving
(a moment that zone's clocks show twice is written in UTC instead).

Pure: the DTSTAMP is passed in, and the caller keeps UID and SEQUENCE (bumping SEQUENCE
on every change and cancellation, as RFC 5546 requires).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress

from exchange.domain.scheduling import load_zone

PRODID = "-//Exchange//Exchange city network//EN"

PartStat = Literal["NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE"]
Status = Literal["CONFIRMED", "CANCELLED"]

# An address fit for a mailto: URI: no spaces, controls or characters that end a URI or
# a parameter. icalendar refuses line breaks in addresses; we refuse the rest too.
_EMAIL = re.compile(r"[^\s@:;,<>\"\x00-\x1f\x7f]+@[^\s@:;,<>\"\x00-\x1f\x7f]+")
_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f]+")


def _check_email(email: str) -> None:
    if not _EMAIL.fullmatch(email):
        raise ValueError(f"not an email address for a calendar: {email!r}")


def _check_aware(name: str, moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


@dataclass(frozen=True)
class Person:
    """Someone named in an invitation: the organiser."""

    name: str
    email: str

    def __post_init__(self) -> None:
        _check_email(self.email)


@dataclass(frozen=True)
class Attendee:
    """An invited person, their answer so far, and whether an answer is asked for."""

    name: str
    email: str
    partstat: PartStat = "NEEDS-ACTION"
    rsvp: bool = True

    def __post_init__(self) -> None:
        _check_email(self.email)
        if self.partstat not in get_args(PartStat):
            raise ValueError(f"unknown participation status: {self.partstat!r}")


@dataclass(frozen=True, kw_only=True)
class CalendarEvent:
    """One meeting as every message about it describes it.

    `start` and `end` may be in any zone; they are written in `tzid`, the zone the
    meeting is organised in, so that clients show it the way the organiser planned it.
    `sent_by` is the address of whoever sends on the organiser's behalf.
    """

    uid: str
    sequence: int
    summary: str
    description: str
    start: datetime
    end: datetime
    tzid: str
    organizer: Person
    attendees: Sequence[Attendee]
    stamp: datetime
    location: str | None = None
    url: str | None = None
    sent_by: str | None = None
    status: Status = "CONFIRMED"

    def __post_init__(self) -> None:
        # A tuple, so that the event stays immutable and hashable.
        object.__setattr__(self, "attendees", tuple(self.attendees))
        if not self.uid.strip():
            raise ValueError("an event needs a UID")
        if not self.summary.strip():
            raise ValueError("an event needs a summary")
        if self.sequence < 0:
            raise ValueError("the sequence must not be negative")
        for name in ("start", "end", "stamp"):
            _check_aware(name, getattr(self, name))
        if self.end <= self.start:
            raise ValueError("an event must end after it starts")
        load_zone(self.tzid)
        if self.url is not None and not _URL.fullmatch(self.url):
            raise ValueError(f"not an http(s) URL: {self.url!r}")
        if self.sent_by is not None:
            _check_email(self.sent_by)
        if self.status not in get_args(Status):
            raise ValueError(f"unknown event status: {self.status!r}")


def request_ics(event: CalendarEvent) -> bytes:
    """An iTIP REQUEST: invite the attendees, or update them with a higher SEQUENCE."""
    if event.status == "CANCELLED":
        raise ValueError("a cancelled event is sent with cancel_ics, not as a request")
    if not event.attendees:
        raise ValueError("a request invites at least one attendee")
    vevent = _vevent(event, "CONFIRMED")
    for attendee in event.attendees:
        vevent.add("attendee", _attendee(attendee, rsvp=attendee.rsvp))
    return _serialise(_calendar("REQUEST", [vevent]))


def cancel_ics(event: CalendarEvent, attendees: Iterable[Attendee] | None = None) -> bytes:
    """An iTIP CANCEL, with the SEQUENCE the caller bumped.

    Without `attendees`, the whole event is cancelled for everyone (STATUS:CANCELLED).
    With them, only those are uninvited: RFC 5546 (3.2.5) then forbids STATUS, since the
    event goes on for the others.
    """
    whole = attendees is None
    removed = tuple(event.attendees if attendees is None else attendees)
    if not removed:
        raise ValueError("a cancellation names at least one attendee")
    vevent = _vevent(event, "CANCELLED" if whole else None)
    for attendee in removed:
        vevent.add("attendee", _attendee(attendee, rsvp=False))
    return _serialise(_calendar("CANCEL", [vevent]))


def feed_ics(events: Iterable[CalendarEvent], name: str) -> bytes:
    """A subscribable feed (PUBLISH) of one person's events, named `name`.

    A feed lists no attendees, and so asks for no answers: PUBLISH has none in RFC 5546,
    and a feed's URL gets shared, so it must not carry other people's addresses. A
    cancelled event stays in the feed as CANCELLED so that subscribed calendars drop it.
    """
    calendar = _calendar("PUBLISH", [_vevent(event, event.status) for event in events])
    calendar.add("x-wr-calname", name)
    calendar.add("name", name)
    return _serialise(calendar)


def _calendar(method: str, vevents: list[Event]) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    for vevent in vevents:
        calendar.add_component(vevent)
    if vevents:
        # A VTIMEZONE for every TZID used, covering whole years around the events; none
        # for UTC, which is written with "Z".
        years = [v.decoded("dtstart").year for v in vevents] + [
            v.decoded("dtend").year for v in vevents
        ]
        calendar.add_missing_timezones(
            first_date=date(min(years), 1, 1), last_date=date(max(years) + 1, 1, 1)
        )
    return calendar


def _serialise(calendar: Calendar) -> bytes:
    data: bytes = calendar.to_ical()
    return data


def _vevent(event: CalendarEvent, status: str | None) -> Event:
    zone = load_zone(event.tzid)
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", event.stamp.astimezone(UTC))
    vevent.add("dtstart", _wall(event.start, zone))
    vevent.add("dtend", _wall(event.end, zone))
    vevent.add("summary", event.summary)
    if event.description:
        vevent.add("description", event.description)
    # An online meeting has no place, but calendars show LOCATION where people look.
    location = event.location or event.url
    if location:
        vevent.add("location", location)
    if event.url:
        vevent.add("url", event.url)
    organizer = vCalAddress(f"mailto:{event.organizer.email}")
    if event.organizer.name:
        organizer.params["CN"] = event.organizer.name
    if event.sent_by:
        organizer.params["SENT-BY"] = f"mailto:{event.sent_by}"
    vevent.add("organizer", organizer)
    if status:
        vevent.add("status", status)
    return vevent


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` on the clocks of `zone`, or in UTC where those clocks show it twice.

    RFC 5545 (3.3.5) reads a repeated local time as its first occurrence, so a moment in
    the second run of the hour after clocks go back can only be written in UTC.
    """
    wall = moment.astimezone(zone)
    if wall.fold and wall.utcoffset() != wall.replace(fold=0).utcoffset():
        return moment.astimezone(UTC)
    return wall


def _attendee(attendee: Attendee, *, rsvp: bool) -> vCalAddress:
    address = vCalAddress(f"mailto:{attendee.email}")
    if attendee.name:
        address.params["CN"] = attendee.name
    address.params["CUTYPE"] = "INDIVIDUAL"
    address.params["ROLE"] = "REQ-PARTICIPANT"
    address.params["PARTSTAT"] = attendee.partstat
    address.params["RSVP"] = "TRUE" if rsvp else "FALSE"
    return address
