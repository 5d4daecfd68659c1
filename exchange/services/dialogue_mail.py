"""The mail a dialogue sends, each with its calendar part (RFC 5546).

Every invitee gets their own message: the email in their language and zone, and an
iTIP part that calendars understand, with one UID for the dialogue's life and the
dialogue's SEQUENCE. The organiser is the ORGANIZER (the network's address as SENT-BY,
since our server sends for them); each invitee is an ATTENDEE whose PARTSTAT is what they
answered, never assumed. A message carries the recipient's personal answer link, so its
calendar part is a credential and is erased from the outbox once sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parseaddr

from itsdangerous import BadSignature, URLSafeSerializer

from exchange.domain.calendar import Attendee, CalendarEvent, Person, cancel_ics, request_ics
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import User
from exchange.models.dialogues import Dialogue, Invitee, Seat
from exchange.services.outbox import Attachment
from exchange.services.unit_of_work import UnitOfWork
from exchange.settings import Settings

PARTSTAT = {
    Seat.INVITED: "NEEDS-ACTION",
    Seat.CONFIRMED: "ACCEPTED",
    # A waiting-list place is a yes that has no seat yet: tentative in a calendar.
    Seat.WAITING: "TENTATIVE",
    Seat.MAYBE: "TENTATIVE",
    Seat.DECLINED: "DECLINED",
}


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt="dialogue-invitee")


def invitee_token(settings: Settings, invitee: Invitee) -> str:
    """The invitee's personal link: who they are, signed, so guests need no account."""
    return _serializer(settings).dumps([invitee.id, invitee.email])


def invitee_id_for_token(settings: Settings, token: str) -> tuple[int, str] | None:
    try:
        value = _serializer(settings).loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
    ):
        return None
    return value[0], value[1]


def personal_link(settings: Settings, invitee: Invitee) -> str:
    return f"/dialogues/invitation/{invitee_token(settings, invitee)}"


def _organizer(settings: Settings, organiser: User | None) -> tuple[Person, str | None]:
    network_name, network_address = parseaddr(settings.mail_from)
    if organiser is None:
        return Person(network_name or "Exchange", network_address), None
    return Person(organiser.name, organiser.email), network_address or None


def calendar_event(
    settings: Settings,
    dialogue: Dialogue,
    organiser: User | None,
    invitees: Sequence[Invitee],
    link: str,
    cancelled: bool = False,
) -> CalendarEvent:
    """The dialogue as calendars see it; `link` is where this recipient answers."""
    assert dialogue.starts_at is not None and dialogue.ends_at is not None
    person, sent_by = _organizer(settings, organiser)
    where = ", ".join(part for part in (dialogue.venue,) if part)
    lines = [dialogue.description.strip()] if dialogue.description.strip() else []
    if dialogue.agenda:
        lines.append("")
        lines += [
            f"- {item['item']}"
            + (f" ({item['minutes']} min)" if item.get("minutes") else "")
            + (f", {item['speaker']}" if item.get("speaker") else "")
            for item in dialogue.agenda
        ]
    lines += ["", link]
    return CalendarEvent(
        uid=dialogue.uid,
        sequence=dialogue.sequence,
        summary=dialogue.title,
        description="\n".join(lines).strip(),
        start=dialogue.starts_at,
        end=dialogue.ends_at,
        tzid=dialogue.timezone,
        organizer=person,
        sent_by=sent_by,
        attendees=[
            Attendee(i.name or i.email, i.email, PARTSTAT.get(i.seat, "NEEDS-ACTION"))  # type: ignore[arg-type]
            for i in invitees
            if i.seat != Seat.REMOVED
        ],
        stamp=datetime.now(UTC),
        location=where or dialogue.online_url or None,
        url=dialogue.online_url or None,
        status="CANCELLED" if cancelled else "CONFIRMED",
    )


async def _recipient(invitee: Invitee, organiser: User | None) -> tuple[str, str]:
    """(locale, zone) of the message: the user's own, or for a guest the organiser's
    language and the zone given for the guest."""
    user = await User.get_or_none(id=invitee.user_id) if invitee.user_id else None
    if user is not None:
        return user.locale, user.timezone
    return (organiser.locale if organiser else "en"), invitee.timezone


async def _organiser(dialogue: Dialogue) -> User | None:
    return await User.get_or_none(id=dialogue.organiser_id) if dialogue.organiser_id else None


SUBJECTS = {
    "invitation": N_("Invitation: %(title)s"),
    "update": N_("Updated: %(title)s"),
    "promoted": N_("A seat is yours: %(title)s"),
    "cancelled": N_("Cancelled: %(title)s"),
    "removed": N_("No longer on the list: %(title)s"),
    "reminder": N_("Reminder: %(title)s"),
    "poll": N_("When can you meet? %(title)s"),
}


async def _queue(
    uow: UnitOfWork,
    dialogue: Dialogue,
    invitee: Invitee,
    kind: str,
    ics: bytes | None,
    method: str,
) -> None:
    settings = uow._settings()
    organiser = await _organiser(dialogue)
    locale, zone = await _recipient(invitee, organiser)
    link = uow.absolute(personal_link(settings, invitee))
    attachments = (
        [
            Attachment(
                "invite.ics",
                "text/calendar",
                ics.decode("utf-8"),
                params={"method": method, "charset": "utf-8"},
                alternative=True,
            )
        ]
        if ics is not None
        else []
    )
    uow.email(
        to=invitee.email,
        locale=locale,
        subject=SUBJECTS[kind],
        template="dialogue",
        context={
            "title": dialogue.title,
            "kind": kind,
            "name": invitee.name or invitee.email,
            "starts_at": dialogue.starts_at,
            "ends_at": dialogue.ends_at,
            "zone": zone,
            "venue": dialogue.venue,
            "online_url": dialogue.online_url,
            "agenda": list(dialogue.agenda),
            "seat": invitee.seat.value,
            "link": link,
        },
        attachments=attachments,
    )


async def send_requests(uow: UnitOfWork, dialogue: Dialogue, invitees: Sequence[Invitee]) -> None:
    """An invitation (SEQUENCE 0) or an update (higher) to each of `invitees`."""
    kind = "invitation" if dialogue.sequence == 0 else "update"
    for invitee in invitees:
        await send_request(uow, dialogue, invitee, invitees, kind)


async def send_request(
    uow: UnitOfWork,
    dialogue: Dialogue,
    invitee: Invitee,
    everyone: Sequence[Invitee],
    kind: str = "invitation",
) -> None:
    """One invitee's REQUEST; `everyone` are the attendees it lists."""
    settings = uow._settings()
    event = calendar_event(
        settings,
        dialogue,
        await _organiser(dialogue),
        everyone,
        uow.absolute(personal_link(settings, invitee)),
    )
    await _queue(uow, dialogue, invitee, kind, request_ics(event), "REQUEST")


async def send_cancels(uow: UnitOfWork, dialogue: Dialogue, invitees: Sequence[Invitee]) -> None:
    """The whole dialogue is cancelled: a CANCEL with STATUS:CANCELLED to each."""
    settings = uow._settings()
    organiser = await _organiser(dialogue)
    for invitee in invitees:
        event = calendar_event(
            settings,
            dialogue,
            organiser,
            invitees,
            uow.absolute(personal_link(settings, invitee)),
            cancelled=True,
        )
        await _queue(uow, dialogue, invitee, "cancelled", cancel_ics(event), "CANCEL")


async def send_uninvite(uow: UnitOfWork, dialogue: Dialogue, invitee: Invitee) -> None:
    """One invitee taken off the list: a CANCEL naming only them."""
    settings = uow._settings()
    event = calendar_event(
        settings,
        dialogue,
        await _organiser(dialogue),
        [invitee],
        uow.absolute(personal_link(settings, invitee)),
    )
    attendee = Attendee(invitee.name or invitee.email, invitee.email, "NEEDS-ACTION")
    await _queue(uow, dialogue, invitee, "removed", cancel_ics(event, [attendee]), "CANCEL")


async def send_plain(uow: UnitOfWork, dialogue: Dialogue, invitee: Invitee, kind: str) -> None:
    """A message without a calendar part: a reminder, or a poll to answer."""
    await _queue(uow, dialogue, invitee, kind, None, "")
