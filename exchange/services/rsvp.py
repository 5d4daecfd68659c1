"""Who comes to a dialogue: invitees, their answers, the waiting list, reminders and
attendance.

Seats are counted on the dialogue row (`seats_taken`) and taken by one conditional
UPDATE, with the dialogue row locked for the whole answer, so a hundred simultaneous
yeses for twenty seats give exactly twenty confirmed and eighty waiting, on either
database and with any number of processes. A freed seat goes at once to the first person
waiting, in the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F, Q

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.dialogues import Answer, Dialogue, DialogueStatus, Invitee, Seat
from exchange.services import dialogue_mail, visibility
from exchange.services.dialogues import (
    access_dialogue_to_organise,
    active_invitees,
    locked_dialogue,
)
from exchange.services.errors import Conflict, NotFound, ValidationError
from exchange.services.periodic import repeat
from exchange.services.unit_of_work import UnitOfWork, unit_of_work
from exchange.services.validation import is_email, is_timezone, normalise_email
from exchange.settings import Settings

log = logging.getLogger("exchange.rsvp")

MAX_EMAILS_AT_ONCE = 500
OPEN_SEATS = (Seat.INVITED, Seat.CONFIRMED, Seat.WAITING, Seat.MAYBE)


# ------------------------------------------------------------------ the list


async def check_invite_people(
    settings: Settings,
    user: User,
    dialogue_id: int,
    emails: Sequence[str],
    guest_timezone: str = "",
) -> list[Invitee]:
    """Invite people by email: users with those addresses, guests otherwise.

    On a scheduled dialogue each new invitee gets the calendar invitation at once; on a
    draft they get it when it is scheduled. Someone already on the list is left as is;
    someone taken off it earlier is invited again.
    """
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    if dialogue.status in (DialogueStatus.CANCELLED, DialogueStatus.HELD):
        raise Conflict("dialogue_over", _("This dialogue is over and can no longer change."))
    addresses = list(dict.fromkeys(normalise_email(e) for e in emails if e.strip()))
    bad = [address for address in addresses if not is_email(address)]
    if not addresses:
        raise ValidationError({"emails": _("Give at least one email address.")})
    if bad:
        raise ValidationError(
            {"emails": _("Not an email address: %(list)s") % {"list": ", ".join(bad[:10])}}
        )
    if len(addresses) > MAX_EMAILS_AT_ONCE:
        raise ValidationError(
            {
                "emails": _("Invite at most %(count)d people at once.")
                % {"count": MAX_EMAILS_AT_ONCE}
            }
        )
    zone = guest_timezone.strip() or dialogue.timezone
    if not is_timezone(zone):
        raise ValidationError({"timezone": _("Choose a time zone from the list.")})
    users = {u.email: u for u in await User.filter(email__in=addresses, is_active=True)}
    now = datetime.now(UTC)
    invited: list[Invitee] = []
    async with unit_of_work(settings) as uow:
        dialogue = await locked_dialogue(dialogue.id)
        existing = {
            i.email: i for i in await Invitee.filter(dialogue_id=dialogue.id, email__in=addresses)
        }
        for address in addresses:
            person = users.get(address)
            invitee = existing.get(address)
            if invitee is not None and invitee.seat != Seat.REMOVED:
                continue
            if invitee is None:
                invitee = Invitee(dialogue_id=dialogue.id, email=address, created_at=now)
            invitee.user_id = person.id if person else None
            invitee.name = person.name if person else ""
            invitee.timezone = person.timezone if person else zone
            invitee.seat, invitee.answer = Seat.INVITED, Answer.NONE
            invitee.answered_at = invitee.waiting_since = None
            await invitee.save()
            invited.append(invitee)
        if dialogue.status == DialogueStatus.SCHEDULED and invited:
            everyone = await active_invitees(dialogue)
            for invitee in invited:
                await dialogue_mail.send_request(uow, dialogue, invitee, everyone)
    return invited


async def check_remove_invitee(
    settings: Settings, user: User, dialogue_id: int, invitee_id: int
) -> Invitee:
    """Take someone off the list: their calendar gets a CANCEL, their seat goes on."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    async with unit_of_work(settings) as uow:
        dialogue = await locked_dialogue(dialogue.id)
        invitee = await _invitee_on(dialogue, invitee_id)
        was = invitee.seat
        invitee.seat = Seat.REMOVED
        await invitee.save(update_fields=["seat"])
        if was == Seat.CONFIRMED:
            await _free_seat(uow, dialogue)
        if dialogue.status == DialogueStatus.SCHEDULED:
            await dialogue_mail.send_uninvite(uow, dialogue, invitee)
    return invitee


async def check_resend(settings: Settings, user: User, dialogue_id: int, invitee_id: int) -> None:
    """Send someone their calendar invitation again (same UID and SEQUENCE)."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    if dialogue.status != DialogueStatus.SCHEDULED:
        raise Conflict("not_scheduled", _("Invitations go out once the dialogue is scheduled."))
    async with unit_of_work(settings) as uow:
        invitee = await _invitee_on(dialogue, invitee_id)
        await dialogue_mail.send_request(uow, dialogue, invitee, await active_invitees(dialogue))


async def _invitee_on(dialogue: Dialogue, invitee_id: int) -> Invitee:
    invitee = await Invitee.get_or_none(id=invitee_id, dialogue_id=dialogue.id)
    if invitee is None or invitee.seat == Seat.REMOVED:
        raise NotFound
    return invitee


# ------------------------------------------------------------------ answers


async def check_rsvp(settings: Settings, user: User, dialogue_id: int, answer: str) -> Invitee:
    """A signed-in invitee answers from the dialogue page or the API."""
    dialogue = await visibility.access_dialogue(user, dialogue_id)
    own = await visibility.invitee_of(user, dialogue)
    if own is None:
        raise Conflict("not_invited", _("You are not on this dialogue's list."))
    return await answer_as(settings, own.id, answer)


async def invitee_for_link(settings: Settings, token: str) -> Invitee:
    """The invitee a personal link names (guests answer this way); NotFound otherwise."""
    found = dialogue_mail.invitee_id_for_token(settings, token)
    if found is None:
        raise NotFound
    invitee = await Invitee.get_or_none(id=found[0], email=found[1]).select_related("dialogue")
    if invitee is None or invitee.seat == Seat.REMOVED:
        raise NotFound
    return invitee


async def answer_as(settings: Settings, invitee_id: int, raw_answer: str) -> Invitee:
    if raw_answer not in (Answer.YES, Answer.NO, Answer.MAYBE):
        raise ValidationError({"answer": _("Answer yes, no or maybe.")})
    answer = Answer(raw_answer)
    async with unit_of_work(settings) as uow:
        invitee = await Invitee.get(id=invitee_id)
        dialogue = await locked_dialogue(invitee.dialogue_id)
        if dialogue.status != DialogueStatus.SCHEDULED:
            raise Conflict("not_open", _("This dialogue no longer takes answers."))
        invitee = await Invitee.get(id=invitee_id)
        if invitee.seat == Seat.REMOVED:
            raise NotFound
        await do_answer(uow, dialogue, invitee, answer, datetime.now(UTC))
    return invitee


async def do_answer(
    uow: UnitOfWork, dialogue: Dialogue, invitee: Invitee, answer: Answer, now: datetime
) -> None:
    """Record an answer and move seats. Expects the dialogue row locked
    (`locked_dialogue`) and `invitee` freshly read inside that lock."""
    was = invitee.seat
    if answer == Answer.YES:
        if was == Seat.CONFIRMED or await _take_seat(dialogue):
            seat = Seat.CONFIRMED
        else:
            seat = Seat.WAITING
            if was != Seat.WAITING:
                invitee.waiting_since = now
    else:
        seat = Seat.DECLINED if answer == Answer.NO else Seat.MAYBE
    if seat != Seat.WAITING:
        invitee.waiting_since = None
    invitee.answer, invitee.seat, invitee.answered_at = answer, seat, now
    await invitee.save(update_fields=["answer", "seat", "answered_at", "waiting_since"])
    if was == Seat.CONFIRMED and seat != Seat.CONFIRMED:
        await _free_seat(uow, dialogue)


async def _take_seat(dialogue: Dialogue) -> bool:
    """One seat, in one conditional UPDATE: never more confirmed than the capacity."""
    query = Dialogue.filter(id=dialogue.id)
    if dialogue.capacity is not None:
        query = query.filter(seats_taken__lt=dialogue.capacity)
    taken = await query.update(seats_taken=F("seats_taken") + 1)
    return taken == 1


async def _free_seat(uow: UnitOfWork, dialogue: Dialogue) -> None:
    """Give a seat back and hand it to the first person waiting. Expects the dialogue
    row locked."""
    await Dialogue.filter(id=dialogue.id, seats_taken__gt=0).update(
        seats_taken=F("seats_taken") - 1
    )
    await promote_waiting(uow, dialogue)


async def promote_waiting(uow: UnitOfWork, dialogue: Dialogue) -> int:
    """Fill free seats from the waiting list, first come first served; each promoted
    person is told by email with a calendar update showing them accepted. Expects the
    dialogue row locked."""
    promoted = 0
    waiting = (
        await Invitee.filter(dialogue_id=dialogue.id, seat=Seat.WAITING)
        .order_by("waiting_since", "id")
        .all()
    )
    for invitee in waiting:
        if not await _take_seat(dialogue):
            break
        invitee.seat, invitee.waiting_since = Seat.CONFIRMED, None
        await invitee.save(update_fields=["seat", "waiting_since"])
        promoted += 1
        if dialogue.status == DialogueStatus.SCHEDULED and dialogue.starts_at:
            everyone = await active_invitees(dialogue)
            await dialogue_mail.send_request(uow, dialogue, invitee, everyone, kind="promoted")
    return promoted


async def check_capacity_change(settings: Settings, dialogue: Dialogue) -> None:
    """After the capacity grew, seats go to those waiting."""
    async with unit_of_work(settings) as uow:
        await promote_waiting(uow, await locked_dialogue(dialogue.id))


# ------------------------------------------------------------------ after and before


async def check_attendance(
    settings: Settings, user: User, dialogue_id: int, attended: Sequence[int]
) -> Dialogue:
    """Staff record who came, once the dialogue has started; it is then held."""
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    now = datetime.now(UTC)
    if dialogue.status not in (DialogueStatus.SCHEDULED, DialogueStatus.HELD) or (
        dialogue.starts_at is None or dialogue.starts_at > now
    ):
        raise Conflict("not_started", _("Attendance is recorded once the dialogue has started."))
    present = set(attended)
    async with unit_of_work(settings):
        dialogue = await locked_dialogue(dialogue.id)
        for invitee in await active_invitees(dialogue):
            invitee.attended = invitee.id in present
            await invitee.save(update_fields=["attended"])
        dialogue.status = DialogueStatus.HELD
        dialogue.updated_at = now
        await dialogue.save(update_fields=["status", "updated_at"])
    return dialogue


async def send_reminders(settings: Settings, now: datetime | None = None) -> int:
    """Remind every invitee still coming (or maybe) of a dialogue starting within its
    reminder window; each reminder is claimed by a conditional UPDATE in the transaction
    that queues it, so it goes out exactly once whatever number of workers run this."""
    now = now or datetime.now(UTC)
    dialogues = await Dialogue.filter(
        status=DialogueStatus.SCHEDULED,
        reminder_hours__gt=0,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(days=14),
    )
    sent = 0
    for dialogue in dialogues:
        assert dialogue.starts_at is not None
        if dialogue.starts_at - timedelta(hours=dialogue.reminder_hours) > now:
            continue
        due = await Invitee.filter(
            Q(dialogue_id=dialogue.id),
            Q(seat__in=(Seat.CONFIRMED, Seat.MAYBE, Seat.INVITED)),
            Q(reminded_at__isnull=True),
        )
        for invitee in due:
            async with unit_of_work(settings) as uow:
                won = await Invitee.filter(id=invitee.id, reminded_at__isnull=True).update(
                    reminded_at=now
                )
                if won:
                    await dialogue_mail.send_plain(uow, dialogue, invitee, "reminder")
                    sent += 1
    return sent


async def run_reminders(settings: Settings, stop: asyncio.Event, interval: float = 300.0) -> None:
    """Send due reminders every `interval` seconds until `stop` is set."""
    await repeat(lambda: send_reminders(settings), stop, interval, log, "Dialogue reminders")


@dataclass(frozen=True)
class Roster:
    """The organiser's view of the list."""

    confirmed: list[Invitee]
    waiting: list[Invitee]
    others: list[Invitee]


async def roster(user: User, dialogue_id: int) -> Roster:
    dialogue = await access_dialogue_to_organise(user, dialogue_id)
    everyone = await active_invitees(dialogue)
    return Roster(
        confirmed=[i for i in everyone if i.seat == Seat.CONFIRMED],
        waiting=sorted(
            (i for i in everyone if i.seat == Seat.WAITING),
            key=lambda i: (i.waiting_since or i.created_at, i.id),
        ),
        others=[i for i in everyone if i.seat not in (Seat.CONFIRMED, Seat.WAITING)],
    )
