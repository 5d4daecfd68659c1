"""Finding a time for a draft dialogue: suggested slots from everyone's working hours,
or a poll on a few candidate times that invitees (guests too) answer from their link.

The ranking itself is pure (`domain/scheduling.py`); this module reads each invitee's
zone and hours, and keeps the poll.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from exchange.domain import scheduling
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.dialogues import Dialogue, DialogueStatus, Invitee, PollVote, SlotOption, Vote
from exchange.services import dialogue_mail
from exchange.services.dialogues import (
    access_dialogue_to_organise,
    active_invitees,
    locked_dialogue,
    schedule_at,
)
from exchange.services.errors import Conflict, NotFound, ValidationError
from exchange.services.unit_of_work import unit_of_work
from exchange.settings import Settings

MAX_OPTIONS = 10
MAX_SUGGESTIONS = 20


def working_hours_of(user: User | None) -> scheduling.WorkingHours:
    """A user's working hours; a guest (or an unreadable setting) gets the default."""
    if user is None:
        return scheduling.WorkingHours()
    try:
        return scheduling.WorkingHours(
            start=time.fromisoformat(user.work_start),
            end=time.fromisoformat(user.work_end),
            weekdays=frozenset(int(day) for day in user.work_days),
        )
    except ValueError:
        return scheduling.WorkingHours()


async def _people(invitees: Sequence[Invitee]) -> list[scheduling.Invitee]:
    users = {u.id: u for u in await User.filter(id__in=[i.user_id for i in invitees if i.user_id])}
    return [
        scheduling.Invitee(
            zone=(users[i.user_id].timezone if i.user_id in users else i.timezone),
            hours=working_hours_of(users.get(i.user_id) if i.user_id else None),
        )
        for i in invitees
    ]


@dataclass(frozen=True)
class Suggestions:
    slots: list[scheduling.Slot]
    invitees: int
    zones: list[str]


async def suggest_slots(
    user: User, dialogue_id: int, first_day: str, last_day: str, minutes: int | str
) -> Suggestions:
    """The best times for everyone on the draft's list between two dates (UTC days)."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    invitees = await active_invitees(dialogue)
    errors: dict[str, str] = {}
    try:
        first, last = date.fromisoformat(first_day), date.fromisoformat(last_day)
    except ValueError:
        errors["from"] = _("Give the first and last day as dates.")
        first = last = datetime.now(UTC).date()
    try:
        duration = timedelta(minutes=int(str(minutes)))
    except ValueError:
        errors["duration"] = _("Give the length in minutes.")
        duration = timedelta(minutes=60)
    if not invitees:
        errors["invitees"] = _("Invite people first: the times suit those on the list.")
    if errors:
        raise ValidationError(errors)
    people = await _people(invitees)
    try:
        slots = scheduling.find_slots(people, first, last, duration, limit=MAX_SUGGESTIONS)
    except ValueError as exc:
        raise ValidationError(
            {"from": _("These dates or this length cannot be searched.")}
        ) from exc
    return Suggestions(
        slots=slots,
        invitees=len(people),
        zones=sorted({person.zone for person in people}),
    )


async def check_open_poll(
    settings: Settings,
    user: User,
    dialogue_id: int,
    starts: Sequence[datetime],
    minutes: int,
) -> list[SlotOption]:
    """Ask everyone on the list which of a few times suit them (up to ten)."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    if dialogue.status != DialogueStatus.DRAFT:
        raise Conflict("not_draft", _("A poll is for a dialogue that has no time yet."))
    chosen = sorted(set(starts))
    if not chosen:
        raise ValidationError({"options": _("Choose at least one time.")})
    if len(chosen) > MAX_OPTIONS:
        raise ValidationError(
            {"options": _("Choose at most %(count)d times.") % {"count": MAX_OPTIONS}}
        )
    if not 1 <= minutes <= 24 * 60:
        raise ValidationError({"duration": _("Give the length in minutes.")})
    length = timedelta(minutes=minutes)
    async with unit_of_work(settings) as uow:
        dialogue = await locked_dialogue(dialogue.id)
        await SlotOption.filter(dialogue_id=dialogue.id).delete()
        options = [
            await SlotOption.create(dialogue_id=dialogue.id, starts_at=s, ends_at=s + length)
            for s in chosen
        ]
        dialogue.poll_open = True
        await dialogue.save(update_fields=["poll_open"])
        for invitee in await active_invitees(dialogue):
            await dialogue_mail.send_plain(uow, dialogue, invitee, "poll")
    return options


@dataclass(frozen=True)
class PollView:
    dialogue: Dialogue
    invitee: Invitee
    options: list[SlotOption]
    votes: dict[int, str] = field(default_factory=dict)


async def poll_for(invitee: Invitee) -> PollView:
    dialogue = await Dialogue.get(id=invitee.dialogue_id)
    if not dialogue.poll_open:
        raise NotFound
    options = list(await SlotOption.filter(dialogue_id=dialogue.id).order_by("starts_at", "id"))
    votes = {
        int(option_id): str(vote)
        for option_id, vote in await PollVote.filter(invitee_id=invitee.id).values_list(
            "option_id", "vote"
        )
    }
    return PollView(dialogue=dialogue, invitee=invitee, options=options, votes=votes)


async def check_vote(settings: Settings, invitee: Invitee, votes: Mapping[int, str]) -> None:
    """An invitee's yes / if need be / no for each time of the poll."""
    view = await poll_for(invitee)
    known = {option.id for option in view.options}
    if set(votes) - known or any(v not in Vote._value2member_map_ for v in votes.values()):
        raise ValidationError({"votes": _("Answer yes, if need be or no for each time.")})
    async with unit_of_work(settings):
        await PollVote.filter(invitee_id=invitee.id).delete()
        await PollVote.bulk_create(
            [
                PollVote(option_id=option_id, invitee_id=invitee.id, vote=Vote(vote))
                for option_id, vote in votes.items()
            ]
        )


@dataclass(frozen=True)
class PollGrid:
    options: list[SlotOption]
    rows: list[tuple[Invitee, dict[int, str]]]
    totals: dict[int, dict[str, int]]


async def poll_grid(user: User, dialogue_id: int) -> PollGrid:
    """Every invitee's answers per time, and the totals the organiser chooses by."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    options = list(await SlotOption.filter(dialogue_id=dialogue.id).order_by("starts_at", "id"))
    invitees = await active_invitees(dialogue)
    answers: dict[int, dict[int, str]] = {}
    for invitee_id, option_id, vote in await PollVote.filter(
        option__dialogue_id=dialogue.id
    ).values_list("invitee_id", "option_id", "vote"):
        answers.setdefault(int(invitee_id), {})[int(option_id)] = str(vote)
    totals = {
        option.id: dict(
            Counter(votes[option.id] for votes in answers.values() if option.id in votes)
        )
        for option in options
    }
    return PollGrid(
        options=options,
        rows=[(invitee, answers.get(invitee.id, {})) for invitee in invitees],
        totals=totals,
    )


async def check_pick(settings: Settings, user: User, dialogue_id: int, option_id: int) -> Dialogue:
    """The organiser picks a time: the dialogue is scheduled and everyone invited."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    option = await SlotOption.get_or_none(id=option_id, dialogue_id=dialogue.id)
    if option is None:
        raise ValidationError({"option": _("Choose one of the poll's times.")})
    return await schedule_at(settings, user, dialogue.id, option.starts_at, option.ends_at)
