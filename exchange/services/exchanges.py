"""Exchanges: an accepted pairing between two cities, its people, messages and feedback.

Feedback is given once per side. The exchange concludes when both sides have given it
(or staff close it), and only then is the mentor's capacity freed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import Role, User
from exchange.models.cities import City
from exchange.models.matching import (
    ExchangeMessage,
    ExchangeStatus,
    MatchRequest,
    PeerExchange,
    PeerInvitation,
    RequestStatus,
)
from exchange.services import candidates, permissions, visibility
from exchange.services.capacity import free_capacity
from exchange.services.errors import Conflict
from exchange.services.match_requests import (
    MAX_DESCRIPTION,
    challenge_name_list,
    locked_request,
    officials_of,
    record_event,
)
from exchange.services.unit_of_work import UnitOfWork, unit_of_work
from exchange.services.validation import Checker, check_text
from exchange.settings import Settings

MAX_RATING = 5
MAX_MESSAGE = 10_000


@dataclass(frozen=True)
class SideFeedback:
    """One side's feedback on an exchange, or None values while it is still awaited."""

    city: City
    rating: int | None
    learned: str


@dataclass(frozen=True)
class Participant:
    """An official taking part for one city: the email only when they chose to share it."""

    name: str
    role: str
    email: str
    timezone: str


@dataclass(frozen=True)
class CitySide:
    city: City
    participants: list[Participant]


@dataclass(frozen=True)
class ExchangeDetail:
    exchange: PeerExchange
    # The city the user speaks for, when it has already given its feedback.
    feedback_given_by: City | None
    # Staff give feedback on behalf of a city they choose: these are the choices.
    on_behalf_options: list[tuple[str, str]] = field(default_factory=list)
    # Whether the user may still give feedback for some side.
    can_give_feedback: bool = False
    sides: list[SideFeedback] = field(default_factory=list)
    people: list[CitySide] = field(default_factory=list)
    messages: list[ExchangeMessage] = field(default_factory=list)
    challenges: list[str] = field(default_factory=list)
    # Why the mentor was proposed, as kept on its invitation when it was invited (so
    # still there once its capacity is taken and the ranking leaves it out).
    reasons: list[str] = field(default_factory=list)
    can_close: bool = False

    @property
    def awaited(self) -> list[City]:
        """The cities whose feedback is still awaited."""
        return [s.city for s in self.sides if s.rating is None]


async def exchange_detail(user: User, exchange_id: int) -> ExchangeDetail:
    """An exchange, its people, messages and feedback, and what the user may still do."""
    exchange = await visibility.access_exchange(user, exchange_id)
    sides = [
        SideFeedback(
            city=_city_of(exchange, side),
            rating=getattr(exchange, f"{side}_rating"),
            learned=getattr(exchange, f"{side}_learned") or "",
        )
        for side in ("mentee", "mentor")
    ]
    given_by: City | None = None
    options: list[tuple[str, str]] = []
    if permissions.is_staff(user):
        options = [(s.city.key, s.city.name) for s in sides]
        can_give = any(s.rating is None for s in sides)
    else:
        side = _own_side(user, exchange)
        given = getattr(exchange, f"{side}_rating") is not None
        given_by = _city_of(exchange, side) if given else None
        can_give = not given
    return ExchangeDetail(
        exchange=exchange,
        feedback_given_by=given_by,
        on_behalf_options=options,
        can_give_feedback=can_give,
        sides=sides,
        people=[
            CitySide(city, await participants_of(city))
            for city in (exchange.mentee, exchange.mentor)
        ],
        messages=list(
            await ExchangeMessage.filter(exchange_id=exchange.id).select_related("author", "city")
        ),
        challenges=await challenge_name_list(exchange.request.challenges),
        reasons=await _mentor_reasons(exchange),
        can_close=permissions.can_close_exchange(user, exchange),
    )


async def _mentor_reasons(exchange: PeerExchange) -> list[str]:
    invitation = await PeerInvitation.get_or_none(id=exchange.invitation_id or 0)
    return await candidates.invitation_reasons(invitation) if invitation else []


async def participants_of(city: City) -> list[Participant]:
    """The city's active officials as its exchange partners see them."""
    return [
        Participant(
            name=u.name,
            role=u.role.value,
            email=u.email if u.share_email else "",
            timezone=u.timezone,
        )
        for u in await User.filter(city_id=city.id, is_active=True, role=Role.OFFICIAL).order_by(
            "name", "id"
        )
    ]


async def check_conclude(
    settings: Settings,
    user: User,
    exchange_id: int,
    rating: str | int,
    learned: str,
    on_behalf_of: str = "",
) -> PeerExchange:
    """Record one side's feedback, once; the first to conclude frees the mentor's capacity.

    Officials answer for their own city. Staff must name the city (`on_behalf_of`, its
    key) they answer for, so their feedback is never taken for a city by guesswork.
    Feedback given is never overwritten: a second attempt for the same side (staff
    included) is a Conflict.
    """
    exchange = await visibility.access_exchange(user, exchange_id)
    permissions.require(permissions.can_conclude_exchange(user, exchange))
    checker = Checker()
    by_staff = permissions.is_staff(user)
    side = _chosen_side(checker, exchange, on_behalf_of) if by_staff else _own_side(user, exchange)
    try:
        value = int(str(rating).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_RATING:
        checker.fail("rating", _("Rate the exchange from 1 to 5."))
    learned = learned.strip()
    if len(learned) > MAX_DESCRIPTION:
        checker.fail("learned", _("Use at most %(count)d characters.") % {"count": MAX_DESCRIPTION})
    check_text(checker, "learned", learned, multiline=True)
    checker.done()
    assert side is not None
    now = datetime.now(UTC)
    city = _city_of(exchange, side)
    async with unit_of_work(settings) as uow:
        # Conditional on the side's rating still being empty, so two submissions racing
        # for the same side cannot both be recorded.
        recorded = await PeerExchange.filter(
            id=exchange.id, **{f"{side}_rating__isnull": True}
        ).update(**{f"{side}_rating": value, f"{side}_learned": learned})
        if not recorded:
            raise Conflict(
                "feedback_given",
                _("%(city)s has already given feedback on this exchange.") % {"city": city.name},
            )
        # Concluded once both sides have given feedback. On PostgreSQL the row lock taken
        # by the update above makes the other side's submission wait and then see ours.
        concluded = await PeerExchange.filter(
            id=exchange.id,
            status=ExchangeStatus.ACTIVE,
            mentee_rating__isnull=False,
            mentor_rating__isnull=False,
        ).update(status=ExchangeStatus.CONCLUDED, concluded_at=now)
        if concluded:
            await free_capacity(exchange.mentor.id)
        request = await locked_request(exchange.request.id)
        await record_event(
            request,
            user,
            "feedback",
            N_("%(user)s (staff) gave feedback on behalf of %(city)s")
            if by_staff
            else N_("%(user)s concluded the exchange for %(city)s with feedback"),
            {"user": user.name, "city": city.name},
        )
        await _close_when_done(request, now)
        uow.availability_changed()
        await _tell_about_feedback(uow, exchange, side, by_staff)
    return await PeerExchange.get(id=exchange.id).select_related("mentor", "mentee", "request")


async def check_close(settings: Settings, user: User, exchange_id: int) -> PeerExchange:
    """Staff close an active exchange whatever feedback is still awaited, freeing capacity."""
    exchange = await visibility.access_exchange(user, exchange_id)
    permissions.require(permissions.can_close_exchange(user, exchange))
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        closed = await PeerExchange.filter(id=exchange.id, status=ExchangeStatus.ACTIVE).update(
            status=ExchangeStatus.CONCLUDED, concluded_at=now
        )
        if not closed:
            raise Conflict("exchange_concluded", _("This exchange is already concluded."))
        await free_capacity(exchange.mentor.id)
        request = await locked_request(exchange.request.id)
        await record_event(
            request,
            user,
            "exchange_closed",
            N_("%(user)s (staff) closed the exchange with %(city)s"),
            {"user": user.name, "city": exchange.mentor.name},
        )
        await _close_when_done(request, now)
        uow.availability_changed()
        uow.notify(
            await officials_of(exchange.mentee.id) + await officials_of(exchange.mentor.id),
            "exchange_closed",
            N_("Staff closed your exchange between %(mentee)s and %(mentor)s"),
            {"mentee": exchange.mentee.name, "mentor": exchange.mentor.name},
            f"/exchanges/{exchange.id}",
        )
    return await PeerExchange.get(id=exchange.id).select_related("mentor", "mentee", "request")


async def check_post_message(
    settings: Settings, user: User, exchange_id: int, body: str
) -> ExchangeMessage:
    """A message on the exchange's thread. The other city's officials get a notice, and
    an email with a link (never the text) when they asked for one."""
    exchange = await visibility.access_exchange(user, exchange_id)
    permissions.require(permissions.can_write_on_exchange(user, exchange))
    checker = Checker()
    body = body.strip()
    if not body:
        checker.fail("body", _("Write a message."))
    elif len(body) > MAX_MESSAGE:
        checker.fail("body", _("Use at most %(count)d characters.") % {"count": MAX_MESSAGE})
    checker.done()
    city: City | None = None
    if not permissions.is_staff(user):
        city = _city_of(exchange, _own_side(user, exchange))
    link = f"/exchanges/{exchange.id}#messages-heading"
    async with unit_of_work(settings) as uow:
        message = await ExchangeMessage.create(
            exchange=exchange, author=user, city=city, body=body, created_at=datetime.now(UTC)
        )
        if city is None:
            readers = await officials_of(exchange.mentee.id) + await officials_of(
                exchange.mentor.id
            )
        else:
            other = exchange.mentee if city.id == exchange.mentor.id else exchange.mentor
            readers = await officials_of(other.id)
        readers = [r for r in readers if r.id != user.id]
        params = {"user": user.name, "city": city.name if city else ""}
        subject = (
            N_("%(user)s (staff) wrote on your exchange")
            if city is None
            else N_("%(user)s of %(city)s wrote on your exchange")
        )
        uow.notify(readers, "exchange_message", subject, params, link)
        _email_readers(uow, readers, subject, params, link)
    return message


def _email_readers(
    uow: UnitOfWork,
    readers: Sequence[User],
    subject: str,
    params: dict[str, str],
    link: str,
) -> None:
    for reader in readers:
        if not reader.email_on_exchange_message:
            continue
        uow.email(
            to=reader.email,
            locale=reader.locale,
            subject=subject,
            template="exchange_message",
            context={**params, "name": reader.name, "link": uow.absolute(link)},
        )


def _city_of(exchange: PeerExchange, side: str) -> City:
    return exchange.mentor if side == "mentor" else exchange.mentee


def _own_side(user: User, exchange: PeerExchange) -> str:
    """The side an official's city is on (access was checked: it is one of them)."""
    return "mentor" if permissions.in_city(user, exchange.mentor.id) else "mentee"


def _chosen_side(checker: Checker, exchange: PeerExchange, on_behalf_of: str) -> str | None:
    """The side staff chose by city key; a missing or foreign key is a field error."""
    key = on_behalf_of.strip()
    for side in ("mentee", "mentor"):
        if key and _city_of(exchange, side).key == key:
            return side
    checker.fail("on_behalf_of", _("Choose the city you give feedback for."))
    return None


async def _tell_about_feedback(
    uow: UnitOfWork, exchange: PeerExchange, side: str, by_staff: bool
) -> None:
    """The other city hears of the feedback; when staff gave it, both cities hear who did."""
    city = _city_of(exchange, side)
    other = exchange.mentee if side == "mentor" else exchange.mentor
    link = f"/exchanges/{exchange.id}"
    if not by_staff:
        uow.notify(
            await officials_of(other.id),
            "exchange_feedback",
            N_("%(city)s gave feedback on your exchange"),
            {"city": city.name},
            link,
        )
        return
    people = await officials_of(other.id) + await officials_of(city.id)
    uow.notify(
        people,
        "exchange_feedback",
        N_("Staff gave feedback on your exchange on behalf of %(city)s"),
        {"city": city.name},
        link,
    )


async def _close_when_done(request: MatchRequest, now: datetime) -> None:
    """A matched request whose exchanges are all concluded is closed."""
    if request.status != RequestStatus.MATCHED:
        return
    if await PeerExchange.exists(request=request, status=ExchangeStatus.ACTIVE):
        return
    await MatchRequest.filter(id=request.id).update(
        status=RequestStatus.CLOSED, closed_at=now, updated_at=now
    )
    await record_event(
        request, None, "closed", N_("Every exchange is concluded: request closed"), {}
    )
