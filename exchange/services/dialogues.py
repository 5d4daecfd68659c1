"""Dialogues: staff convene a session, schedule, change or cancel it; everyone finds the
ones they may see.

Every change of time or place goes to each invitee as a calendar update (same UID,
SEQUENCE one higher), and a cancellation as a calendar CANCEL; the messages themselves are
composed in `services/dialogue_mail.py`. Times are stored in UTC; a dialogue also keeps
the zone its organiser planned it in, which is the zone its calendar entries are written
in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.cities import Challenge, City
from exchange.models.dialogues import (
    Dialogue,
    DialogueChallenge,
    DialogueFormat,
    DialogueStatus,
    DialogueVisibility,
    Invitee,
    Seat,
)
from exchange.services import dialogue_mail, findings, permissions, taxonomy, visibility
from exchange.services.errors import Conflict
from exchange.services.pagination import Page, paginate
from exchange.services.unit_of_work import unit_of_work
from exchange.services.validation import Checker, check_text, is_timezone, is_web_link
from exchange.settings import Settings

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_AGENDA_ITEMS = 40
MAX_CAPACITY = 10_000
MAX_LENGTH = timedelta(days=7)


@dataclass(frozen=True)
class AgendaItem:
    item: str
    minutes: int | str = 0
    speaker: str = ""


@dataclass(frozen=True)
class DialogueInput:
    """A dialogue as submitted by a form or the API; checked by `check_dialogue_input`.

    `start` and `end` are ISO 8601 texts: with an offset they are exact, without one they
    are wall-clock times in `timezone`. Both empty makes a draft whose time is not set.
    """

    title: str
    description: str = ""
    challenges: Sequence[str] = ()
    format: str = DialogueFormat.ONLINE.value
    host_city: str = ""
    venue: str = ""
    online_url: str = ""
    start: str = ""
    end: str = ""
    timezone: str = "UTC"
    capacity: int | str | None = None
    visibility: str = DialogueVisibility.INVITED.value
    agenda: Sequence[AgendaItem] = ()
    reminder_hours: int | str = 24


@dataclass(frozen=True)
class CheckedDialogue:
    title: str
    description: str
    challenges: list[str]
    format: DialogueFormat
    host_city: City | None
    venue: str
    online_url: str
    starts_at: datetime | None
    ends_at: datetime | None
    timezone: str
    capacity: int | None
    visibility: DialogueVisibility
    agenda: list[dict[str, Any]]
    reminder_hours: int


def parse_moment(raw: str, zone: str) -> datetime | None:
    """An ISO 8601 text as an aware UTC datetime; a naive one is read in `zone`."""
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)


def _whole(raw: int | str | None) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        return -1


async def check_dialogue_input(data: DialogueInput) -> CheckedDialogue:
    """Every field checked; all problems reported at once."""
    checker = Checker()
    title = data.title.strip()
    if not title:
        checker.fail("title", _("Give the dialogue a title."))
    elif len(title) > MAX_TITLE:
        checker.fail("title", _("Use at most %(count)d characters.") % {"count": MAX_TITLE})
    description = data.description.strip()
    if len(description) > MAX_DESCRIPTION:
        checker.fail(
            "description", _("Use at most %(count)d characters.") % {"count": MAX_DESCRIPTION}
        )
    slugs = list(dict.fromkeys(s.strip() for s in data.challenges if s.strip()))
    known = {c.slug for c in await Challenge.filter(slug__in=slugs).only("id", "slug")}
    if any(slug not in known for slug in slugs):
        checker.fail("challenges", _("Choose challenges from the list."))
    if data.format not in DialogueFormat._value2member_map_:
        checker.fail("format", _("Choose a format from the list."))
    if data.visibility not in DialogueVisibility._value2member_map_:
        checker.fail("visibility", _("Choose who may see the dialogue."))
    zone = data.timezone.strip() or "UTC"
    if not is_timezone(zone):
        checker.fail("timezone", _("Choose a time zone from the list."))
        zone = "UTC"
    host = None
    if data.host_city.strip():
        host = await City.get_or_none(key=data.host_city.strip())
        if host is None:
            checker.fail("host_city", _("Choose a city from the list."))
    online_url = data.online_url.strip()
    if online_url and not is_web_link(online_url):
        checker.fail("online_url", _("Give the full meeting link, starting with https://."))
    venue = data.venue.strip()
    if len(venue) > 300:
        checker.fail("venue", _("Use at most %(count)d characters.") % {"count": 300})
    starts_at, ends_at = _check_times(checker, data.start, data.end, zone)
    capacity = _whole(data.capacity)
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        checker.fail("capacity", _("Give a number of seats from 1 to 10,000, or leave it empty."))
    reminder = _whole(data.reminder_hours)
    if reminder is None:
        reminder = 24
    if not 0 <= reminder <= 24 * 14:
        checker.fail("reminder_hours", _("Give a number of hours from 0 (no reminder) to 336."))
    agenda = _check_agenda(checker, data.agenda)
    for name in ("title", "venue", "online_url", "host_city", "timezone"):
        check_text(checker, name, getattr(data, name))
    check_text(checker, "description", data.description, multiline=True)
    for item in data.agenda:
        check_text(checker, "agenda", f"{item.item}{item.speaker}")
    checker.done()
    return CheckedDialogue(
        title=title,
        description=description,
        challenges=slugs,
        format=DialogueFormat(data.format),
        host_city=host,
        venue=venue,
        online_url=online_url,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=zone,
        capacity=capacity,
        visibility=DialogueVisibility(data.visibility),
        agenda=agenda,
        reminder_hours=reminder,
    )


def _check_times(
    checker: Checker, start: str, end: str, zone: str
) -> tuple[datetime | None, datetime | None]:
    if not start.strip() and not end.strip():
        return None, None
    starts_at = parse_moment(start, zone) if start.strip() else None
    ends_at = parse_moment(end, zone) if end.strip() else None
    if starts_at is None:
        checker.fail("start", _("Give the start as a date and time."))
    if ends_at is None:
        checker.fail("end", _("Give the end as a date and time."))
    if starts_at and ends_at and not starts_at < ends_at <= starts_at + MAX_LENGTH:
        checker.fail("end", _("The end must come after the start, within seven days."))
    return starts_at, ends_at


def _check_agenda(checker: Checker, items: Sequence[AgendaItem]) -> list[dict[str, Any]]:
    agenda: list[dict[str, Any]] = []
    for item in items:
        text, speaker = item.item.strip(), item.speaker.strip()
        if not text and not speaker:
            continue
        minutes = _whole(item.minutes) or 0
        if not text or len(text) > 300 or len(speaker) > 200 or not 0 <= minutes <= 24 * 60:
            checker.fail(
                "agenda",
                _("Each agenda item needs a title (up to 300 characters) and 0 to 1,440 minutes."),
            )
            break
        agenda.append({"item": text, "minutes": minutes, "speaker": speaker})
    if len(agenda) > MAX_AGENDA_ITEMS:
        checker.fail("agenda", _("Use at most %(count)d items.") % {"count": MAX_AGENDA_ITEMS})
    return agenda


def new_uid(settings: Settings) -> str:
    return f"dialogue-{uuid.uuid4().hex}@{urlsplit(settings.base_url).hostname or 'exchange'}"


async def check_create_dialogue(settings: Settings, user: User, data: DialogueInput) -> Dialogue:
    """Staff convene a dialogue: scheduled when its time is given, a draft otherwise."""
    permissions.require(permissions.can_organise_dialogues(user))
    checked = await check_dialogue_input(data)
    now = datetime.now(UTC)
    async with unit_of_work(settings):
        dialogue = await Dialogue.create(
            **_fields(checked),
            organiser=user,
            status=DialogueStatus.SCHEDULED if checked.starts_at else DialogueStatus.DRAFT,
            uid=new_uid(settings),
            created_at=now,
            updated_at=now,
        )
        await _set_challenges(dialogue, checked.challenges)
    return dialogue


async def _set_challenges(dialogue: Dialogue, slugs: list[str]) -> None:
    ids = dict(await Challenge.filter(slug__in=slugs).values_list("slug", "id"))
    await DialogueChallenge.filter(dialogue_id=dialogue.id).delete()
    await DialogueChallenge.bulk_create(
        [
            DialogueChallenge(dialogue_id=dialogue.id, challenge_id=ids[slug], position=position)
            for position, slug in enumerate(slugs)
        ]
    )


async def challenge_slugs(dialogue: Dialogue) -> list[str]:
    rows = (
        await DialogueChallenge.filter(dialogue_id=dialogue.id)
        .order_by("position", "id")
        .values_list("challenge__slug", flat=True)
    )
    return [str(slug) for slug in rows]


def _fields(checked: CheckedDialogue) -> dict[str, Any]:
    return {
        "title": checked.title,
        "description": checked.description,
        "format": checked.format,
        "host_city": checked.host_city,
        "venue": checked.venue,
        "online_url": checked.online_url,
        "starts_at": checked.starts_at,
        "ends_at": checked.ends_at,
        "timezone": checked.timezone,
        "capacity": checked.capacity,
        "visibility": checked.visibility,
        "agenda": checked.agenda,
        "reminder_hours": checked.reminder_hours,
    }


# What invitees must hear about when it changes: their calendars hold these.
CALENDAR_FIELDS = ("starts_at", "ends_at", "venue", "online_url", "title", "host_city_id")


async def check_update_dialogue(
    settings: Settings, user: User, dialogue_id: int, data: DialogueInput
) -> Dialogue:
    """Edit a dialogue. A scheduled one whose time or place changed sends every invitee
    an update; a draft given a time becomes scheduled and sends the invitations."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    checked = await check_dialogue_input(data)
    _refuse_if_over(dialogue)
    if dialogue.status == DialogueStatus.SCHEDULED and checked.starts_at is None:
        raise Conflict("time_required", _("A scheduled dialogue keeps a start and an end."))
    async with unit_of_work(settings) as uow:
        dialogue = await locked_dialogue(dialogue.id)
        before = {name: getattr(dialogue, name) for name in CALENDAR_FIELDS}
        for name, value in _fields(checked).items():
            setattr(dialogue, name, value)
        dialogue.host_city_id = checked.host_city.id if checked.host_city else None
        changed = any(getattr(dialogue, name) != before[name] for name in CALENDAR_FIELDS)
        newly_scheduled = dialogue.status == DialogueStatus.DRAFT and dialogue.starts_at
        if newly_scheduled:
            dialogue.status = DialogueStatus.SCHEDULED
        if changed and dialogue.status == DialogueStatus.SCHEDULED and not newly_scheduled:
            dialogue.sequence += 1
        dialogue.updated_at = datetime.now(UTC)
        await dialogue.save()
        await _set_challenges(dialogue, checked.challenges)
        if dialogue.status == DialogueStatus.SCHEDULED and (changed or newly_scheduled):
            await dialogue_mail.send_requests(uow, dialogue, await active_invitees(dialogue))
    return dialogue


async def schedule_at(
    settings: Settings, user: User, dialogue_id: int, starts_at: datetime, ends_at: datetime
) -> Dialogue:
    """Give a draft its time (a poll's winner) and invite everyone on its list."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    if dialogue.status != DialogueStatus.DRAFT:
        raise Conflict("not_draft", _("Only a draft is scheduled this way."))
    async with unit_of_work(settings) as uow:
        dialogue = await locked_dialogue(dialogue.id)
        dialogue.starts_at, dialogue.ends_at = starts_at, ends_at
        dialogue.status = DialogueStatus.SCHEDULED
        dialogue.poll_open = False
        dialogue.updated_at = datetime.now(UTC)
        await dialogue.save()
        await dialogue_mail.send_requests(uow, dialogue, await active_invitees(dialogue))
    return dialogue


async def cancel_dialogue(settings: Settings, user: User, dialogue_id: int) -> Dialogue:
    """Cancel: every invitee's calendar gets a CANCEL with the next SEQUENCE."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    if dialogue.status in (DialogueStatus.CANCELLED, DialogueStatus.HELD):
        raise Conflict("not_cancellable", _("This dialogue can no longer be cancelled."))
    async with unit_of_work(settings) as uow:
        dialogue = await locked_dialogue(dialogue.id)
        was_scheduled = dialogue.status == DialogueStatus.SCHEDULED
        dialogue.status = DialogueStatus.CANCELLED
        dialogue.sequence += 1
        dialogue.updated_at = datetime.now(UTC)
        await dialogue.save()
        if was_scheduled:
            await dialogue_mail.send_cancels(uow, dialogue, await active_invitees(dialogue))
    return dialogue


def _refuse_if_over(dialogue: Dialogue) -> None:
    if dialogue.status in (DialogueStatus.CANCELLED, DialogueStatus.HELD):
        raise Conflict("dialogue_over", _("This dialogue is over and can no longer change."))


async def locked_dialogue(dialogue_id: int) -> Dialogue:
    """The dialogue row, locked for this transaction (PostgreSQL; SQLite serialises
    writes). Every change to its seats or its calendar identity takes this lock first."""
    dialogue = await Dialogue.filter(id=dialogue_id).select_for_update().first()
    if dialogue is None:
        raise Conflict("gone", _("This dialogue no longer exists."))
    return dialogue


async def active_invitees(dialogue: Dialogue) -> list[Invitee]:
    """Everyone still on the list (not removed), in the order they were invited."""
    return list(
        await Invitee.filter(dialogue_id=dialogue.id)
        .exclude(seat=Seat.REMOVED)
        .order_by("created_at", "id")
    )


async def access_dialogue_to_organise(user: User, dialogue_id: int) -> Dialogue:
    dialogue = await visibility.access_dialogue(user, dialogue_id)
    permissions.require(permissions.can_organise_dialogue(user, dialogue.organiser_id))
    return dialogue


async def check_schedule_call(settings: Settings, user: User, exchange_id: int) -> Dialogue:
    """A two-city call for an exchange: a draft with both cities' officials invited,
    whose organiser (the one who asked) then finds a time in the console."""
    exchange = await visibility.access_exchange(user, exchange_id)
    permissions.require(permissions.can_schedule_call(user, exchange))
    existing = await Dialogue.filter(
        exchange_id=exchange.id, status__in=(DialogueStatus.DRAFT, DialogueStatus.SCHEDULED)
    ).first()
    if existing is not None:
        return existing
    officials = await User.filter(
        city_id__in=(exchange.mentor_id, exchange.mentee_id), is_active=True
    ).order_by("id")
    now = datetime.now(UTC)
    async with unit_of_work(settings):
        dialogue = await Dialogue.create(
            title=_("Call: %(mentee)s and %(mentor)s")
            % {"mentee": exchange.mentee.name, "mentor": exchange.mentor.name},
            format=DialogueFormat.ONLINE,
            visibility=DialogueVisibility.INVITED,
            timezone=user.timezone,
            organiser=user,
            exchange_id=exchange.id,
            status=DialogueStatus.DRAFT,
            uid=new_uid(settings),
            created_at=now,
            updated_at=now,
        )
        for person in officials:
            await Invitee.create(
                dialogue_id=dialogue.id,
                user_id=person.id,
                email=person.email,
                name=person.name,
                timezone=person.timezone,
                created_at=now,
            )
    return dialogue


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class DialogueFilters:
    challenge: str = ""
    format: str = ""
    city: str = ""
    when: str = "upcoming"  # or "past"


async def list_dialogues(
    user: User | None, filters: DialogueFilters, page: int, now: datetime | None = None
) -> Page[Dialogue]:
    """What the user may see, upcoming (soonest first) or past (latest first)."""
    now = now or datetime.now(UTC)
    query = visibility.visible_dialogues(user).select_related("host_city")
    if filters.format in DialogueFormat._value2member_map_:
        query = query.filter(format=filters.format)
    if filters.city:
        query = query.filter(host_city__key=filters.city)
    if filters.challenge:
        query = query.filter(challenge_links__challenge__slug=filters.challenge)
    if filters.when == "past":
        query = query.filter(ends_at__lt=now).order_by("-starts_at", "-id")
    else:
        query = query.filter(ends_at__gte=now).order_by("starts_at", "id")
    return await paginate(query, page)


async def host_city_options(user: User | None) -> list[tuple[str, str]]:
    """(key, name) of the cities hosting dialogues the user may see, for the filter."""
    # Deduplicated here, not with DISTINCT: the dialogues' default order is not selected,
    # which PostgreSQL refuses alongside DISTINCT.
    rows = (
        await visibility.visible_dialogues(user)
        .filter(host_city_id__isnull=False)
        .values_list("host_city__key", "host_city__name")
    )
    return sorted({(str(k), str(n)) for k, n in rows}, key=lambda pair: pair[1])


async def drafts_for(user: User | None, limit: int = 20) -> list[Dialogue]:
    """Dialogues still being prepared, for those who organise them (others: none)."""
    if not permissions.can_organise_dialogues(user):
        return []
    query = visibility.visible_dialogues(user).filter(status=DialogueStatus.DRAFT)
    return list(await query.order_by("-created_at", "-id").limit(limit))


async def upcoming_for(user: User, limit: int = 5, now: datetime | None = None) -> list[Dialogue]:
    """The user's next dialogues (invited and not declined), for the home page."""
    now = now or datetime.now(UTC)
    return list(
        await Dialogue.filter(
            invitees__user_id=user.id,
            invitees__seat__in=(Seat.INVITED, Seat.CONFIRMED, Seat.WAITING, Seat.MAYBE),
            status=DialogueStatus.SCHEDULED,
            ends_at__gte=now,
        )
        .order_by("starts_at", "id")
        .limit(limit)
    )


@dataclass(frozen=True)
class DialogueView:
    dialogue: Dialogue
    # The viewer's own place on the list, if invited.
    own: Invitee | None
    # Participants see each other, the venue and the link; others see neither.
    participants: list[Invitee] = field(default_factory=list)
    sees_details: bool = False
    can_organise: bool = False
    challenge_names: dict[str, str] = field(default_factory=dict)
    # Findings: who records them, and whether the viewer's city agreed to be named.
    can_record: bool = False
    consented: bool = False

    def agenda_times(self) -> list[tuple[datetime | None, dict[str, Any]]]:
        """Each agenda item with its start, counted from the dialogue's start."""
        moment = self.dialogue.starts_at
        rows: list[tuple[datetime | None, dict[str, Any]]] = []
        for item in self.dialogue.agenda:
            rows.append((moment, item))
            if moment is not None:
                moment = moment + timedelta(minutes=int(item.get("minutes") or 0))
        return rows


async def dialogue_to_organise(user: User, dialogue_id: int) -> DialogueView:
    """The dialogue for its organiser's pages (edit, console); others are refused."""
    await access_dialogue_to_organise(user, dialogue_id)
    return await dialogue_detail(user, dialogue_id)


async def dialogue_detail(user: User | None, dialogue_id: int) -> DialogueView:
    dialogue = await visibility.access_dialogue(user, dialogue_id)
    details = await visibility.sees_participants(user, dialogue)
    participants = await active_invitees(dialogue) if details else []
    slugs = [
        str(slug)
        for slug in await DialogueChallenge.filter(dialogue_id=dialogue.id)
        .order_by("position", "id")
        .values_list("challenge__slug", flat=True)
    ]
    terms = await taxonomy.current()
    own = await visibility.invitee_of(user, dialogue)
    return DialogueView(
        dialogue=dialogue,
        own=own,
        can_record=await findings.can_record(user, dialogue),
        consented=own is not None and await findings.consent_of(user, dialogue) is not None,
        participants=participants,
        sees_details=details,
        can_organise=permissions.can_organise_dialogue(user, dialogue.organiser_id),
        challenge_names={slug: terms.name(slug) for slug in slugs},
    )
