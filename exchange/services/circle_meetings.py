"""Circle meetings: a facilitator finds a time with the slot finder and schedules it;
every member gets a calendar invitation.

A meeting is a table of its own, not a dialogue: dialogues are titled, listed, seen by
all staff and mailed with their title, and a circle meeting must be none of that. Its
calendar entries (invitation, cancellation, the personal feed) say "Circle meeting", the
time, a link to the circle's meetings page on Exchange and the meeting link, and nothing
else: no circle name, no purpose, no list of who else is coming (each member's invitation
names them alone). One UID for the meeting's life, SEQUENCE up on cancelling, as for
dialogues (RFC 5546), built by the same `domain/calendar.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from exchange import i18n
from exchange.domain import scheduling
from exchange.domain.calendar import Attendee, CalendarEvent, Person, cancel_ics, request_ics
from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import User
from exchange.models.circles import Circle, CircleMeeting, MeetingStatus
from exchange.services import permissions, visibility
from exchange.services.dialogues import parse_moment
from exchange.services.errors import Conflict, ValidationError
from exchange.services.outbox import Attachment
from exchange.services.polls import working_hours_of
from exchange.services.unit_of_work import UnitOfWork, unit_of_work
from exchange.services.validation import Checker, is_timezone, is_web_link
from exchange.services.visibility import InCircle
from exchange.settings import Settings

MIN_MINUTES, MAX_MINUTES = 15, 8 * 60
MAX_SUGGESTIONS = 10
SUMMARY = N_("Circle meeting")
SUBJECTS = {
    "invitation": N_("Circle meeting: invitation"),
    "cancelled": N_("Circle meeting: cancelled"),
}


def meetings_path(circle_id: int) -> str:
    return f"/circles/{circle_id}/meetings"


def _organizer(settings: Settings) -> Person:
    """The network itself: a circle meeting names no person as its organiser."""
    name, address = parseaddr(settings.mail_from)
    return Person(name or "Exchange", address)


def meeting_event(
    settings: Settings,
    meeting: CircleMeeting,
    attendees: Sequence[Attendee],
    locale: str,
    cancelled: bool = False,
) -> CalendarEvent:
    """The meeting as calendars see it: "Circle meeting", the time and the links only."""
    with i18n.use_locale(locale):
        summary = _(SUMMARY)
    return CalendarEvent(
        uid=meeting.uid,
        sequence=meeting.sequence,
        summary=summary,
        description=settings.base_url + meetings_path(meeting.circle_id),
        start=meeting.starts_at,
        end=meeting.ends_at,
        tzid=meeting.timezone,
        organizer=_organizer(settings),
        attendees=attendees,
        stamp=datetime.now(UTC),
        location=meeting.online_url or None,
        url=meeting.online_url or None,
        status="CANCELLED" if cancelled else "CONFIRMED",
    )


def _attendee(user: User) -> Attendee:
    # Answers are not collected: a circle meeting is for whoever of the members can come.
    return Attendee(user.name, user.email, "NEEDS-ACTION", rsvp=False)


def _mail(
    uow: UnitOfWork, meeting: CircleMeeting, user: User, kind: str, ics: bytes, method: str
) -> None:
    uow.email(
        to=user.email,
        locale=user.locale,
        subject=SUBJECTS[kind],
        template="circle_meeting",
        context={
            "kind": kind,
            "name": user.name,
            "starts_at": meeting.starts_at,
            "ends_at": meeting.ends_at,
            "zone": user.timezone,
            "online_url": meeting.online_url,
            "link": uow.absolute(meetings_path(meeting.circle_id)),
        },
        attachments=[
            Attachment(
                "invite.ics",
                "text/calendar",
                ics.decode("utf-8"),
                params={"method": method, "charset": "utf-8"},
                alternative=True,
            )
        ],
    )


def send_request(uow: UnitOfWork, meeting: CircleMeeting, user: User) -> None:
    event = meeting_event(uow._settings(), meeting, [_attendee(user)], user.locale)
    _mail(uow, meeting, user, "invitation", request_ics(event), "REQUEST")


def send_cancel(uow: UnitOfWork, meeting: CircleMeeting, user: User, whole: bool) -> None:
    """A CANCEL: of the whole meeting, or of this one attendee (who left the circle)."""
    event = meeting_event(uow._settings(), meeting, [_attendee(user)], user.locale, whole)
    ics = cancel_ics(event) if whole else cancel_ics(event, [_attendee(user)])
    _mail(uow, meeting, user, "cancelled", ics, "CANCEL")


async def _upcoming(circle: Circle, now: datetime | None = None) -> list[CircleMeeting]:
    return list(
        await CircleMeeting.filter(
            circle_id=circle.id,
            status=MeetingStatus.SCHEDULED,
            ends_at__gte=now or datetime.now(UTC),
        ).order_by("starts_at", "id")
    )


async def send_upcoming_to(uow: UnitOfWork, circle: Circle, user: User) -> None:
    """A new member's calendar gets the meetings already scheduled."""
    for meeting in await _upcoming(circle):
        send_request(uow, meeting, user)


async def cancel_upcoming_for(uow: UnitOfWork, circle: Circle, user: User) -> None:
    """Someone who left or was removed: their calendar drops the coming meetings."""
    for meeting in await _upcoming(circle):
        send_cancel(uow, meeting, user, whole=False)


# ------------------------------------------------------------------ facilitators


async def _to_facilitate(user: User, circle_id: int) -> InCircle:
    member = await visibility.access_circle(user, circle_id)
    permissions.require(permissions.can_facilitate(user, member.membership))
    return member


@dataclass(frozen=True)
class MeetingTimes:
    slots: list[scheduling.Slot]
    members: int
    zones: list[str]


async def suggest_times(
    user: User, circle_id: int, first_day: str, last_day: str, minutes: int | str
) -> MeetingTimes:
    """The best times for the circle's members between two dates (UTC days), by each
    member's working hours in their own zone."""
    member = await _to_facilitate(user, circle_id)
    errors: dict[str, str] = {}
    try:
        first, last = date.fromisoformat(first_day), date.fromisoformat(last_day)
    except ValueError:
        errors["from"] = _("Give the first and last day as dates.")
        first = last = datetime.now(UTC).date()
    length = _minutes(minutes)
    if length is None:
        errors["duration"] = _("Give the length in minutes, from 15 to 480.")
    if errors:
        raise ValidationError(errors)
    assert length is not None
    people = [
        scheduling.Invitee(zone=m.user.timezone, hours=working_hours_of(m.user))
        for m in await visibility.current_members(member.circle)
    ]
    try:
        slots = scheduling.find_slots(
            people, first, last, timedelta(minutes=length), limit=MAX_SUGGESTIONS
        )
    except ValueError as exc:
        raise ValidationError(
            {"from": _("These dates or this length cannot be searched.")}
        ) from exc
    return MeetingTimes(slots, len(people), sorted({p.zone for p in people}))


def _minutes(raw: int | str) -> int | None:
    try:
        value = int(str(raw).strip())
    except ValueError:
        return None
    return value if MIN_MINUTES <= value <= MAX_MINUTES else None


def new_uid(settings: Settings) -> str:
    host = urlsplit(settings.base_url).hostname or "exchange"
    return f"circle-meeting-{uuid.uuid4().hex}@{host}"


async def check_schedule(
    settings: Settings,
    user: User,
    circle_id: int,
    start: str,
    minutes: int | str,
    online_url: str = "",
    now: datetime | None = None,
) -> CircleMeeting:
    """Schedule a meeting; every member gets a calendar invitation. `start` is ISO 8601,
    read in the facilitator's zone when it has no offset."""
    member = await _to_facilitate(user, circle_id)
    now = now or datetime.now(UTC)
    checker = Checker()
    zone = user.timezone if is_timezone(user.timezone) else "UTC"
    starts_at = parse_moment(start, zone) if start.strip() else None
    if starts_at is None:
        checker.fail("start", _("Give the start as a date and time."))
    elif starts_at <= now:
        checker.fail("start", _("Choose a time in the future."))
    length = _minutes(minutes)
    if length is None:
        checker.fail("duration", _("Give the length in minutes, from 15 to 480."))
    url = online_url.strip()
    if url and not is_web_link(url):
        checker.fail("online_url", _("Give the full meeting link, starting with https://."))
    elif len(url) > 500:
        checker.fail("online_url", _("Use at most %(count)d characters.") % {"count": 500})
    checker.done()
    assert starts_at is not None and length is not None
    async with unit_of_work(settings) as uow:
        meeting = await CircleMeeting.create(
            circle_id=member.circle.id,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=length),
            timezone=zone,
            online_url=url,
            uid=new_uid(settings),
            created_at=now,
            updated_at=now,
        )
        for other in await visibility.current_members(member.circle):
            send_request(uow, meeting, other.user)
    return meeting


async def check_cancel(
    settings: Settings, user: User, circle_id: int, meeting_id: int
) -> CircleMeeting:
    """Cancel a meeting: every member's calendar gets a CANCEL with the next SEQUENCE."""
    member = await _to_facilitate(user, circle_id)
    meeting = await visibility.access_meeting(member, meeting_id)
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict("not_cancellable", _("This meeting is already cancelled."))
    async with unit_of_work(settings) as uow:
        changed = await CircleMeeting.filter(
            id=meeting.id, status=MeetingStatus.SCHEDULED, sequence=meeting.sequence
        ).update(
            status=MeetingStatus.CANCELLED,
            sequence=meeting.sequence + 1,
            updated_at=datetime.now(UTC),
        )
        if not changed:
            raise Conflict("not_cancellable", _("This meeting is already cancelled."))
        meeting = await CircleMeeting.get(id=meeting.id)
        for other in await visibility.current_members(member.circle):
            send_cancel(uow, meeting, other.user, whole=True)
    return meeting


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class MeetingsView:
    member: InCircle
    upcoming: list[CircleMeeting]
    past: list[CircleMeeting]
    may_schedule: bool


async def meetings_view(user: User, circle_id: int, now: datetime | None = None) -> MeetingsView:
    member = await visibility.access_circle(user, circle_id)
    now = now or datetime.now(UTC)
    meetings = CircleMeeting.filter(circle_id=member.circle.id)
    return MeetingsView(
        member=member,
        upcoming=list(await meetings.filter(ends_at__gte=now).order_by("starts_at", "id")),
        past=list(await meetings.filter(ends_at__lt=now).order_by("-starts_at", "-id").limit(10)),
        may_schedule=permissions.can_facilitate(user, member.membership),
    )


async def feed_events(settings: Settings, user: User, since: datetime) -> list[CalendarEvent]:
    """The meetings of the user's circles for their private calendar feed: only circles
    they are a member of now, each entry as bare as an invitation."""
    circles = [circle.id for circle in await visibility.member_circles(user)]
    meetings = await CircleMeeting.filter(circle_id__in=circles, ends_at__gte=since).order_by(
        "starts_at", "id"
    )
    return [
        meeting_event(settings, m, [], user.locale, m.status == MeetingStatus.CANCELLED)
        for m in meetings
    ]
