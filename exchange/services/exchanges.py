"""Exchanges: an accepted pairing between two cities, and each side's feedback.

Feedback is given once per side; the first to conclude frees the mentor's capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import User
from exchange.models.cities import City
from exchange.models.matching import ExchangeStatus, MatchRequest, PeerExchange, RequestStatus
from exchange.services import permissions, visibility
from exchange.services.capacity import free_capacity
from exchange.services.errors import Conflict
from exchange.services.match_requests import (
    MAX_DESCRIPTION,
    locked_request,
    officials_of,
    record_event,
)
from exchange.services.unit_of_work import UnitOfWork, unit_of_work
from exchange.services.validation import Checker, check_text
from exchange.settings import Settings

MAX_RATING = 5


@dataclass(frozen=True)
class SideFeedback:
    """One side's feedback on an exchange, or None values while it is still awaited."""

    city: City
    rating: int | None
    learned: str


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


async def exchange_detail(user: User, exchange_id: int) -> ExchangeDetail:
    """An exchange, each side's feedback, and for whom the user may still give feedback."""
    exchange = await visibility.access_exchange(user, exchange_id)
    sides = [
        SideFeedback(
            city=_city_of(exchange, side),
            rating=getattr(exchange, f"{side}_rating"),
            learned=getattr(exchange, f"{side}_learned") or "",
        )
        for side in ("mentee", "mentor")
    ]
    if permissions.is_staff(user):
        return ExchangeDetail(
            exchange=exchange,
            feedback_given_by=None,
            on_behalf_options=[(s.city.key, s.city.name) for s in sides],
            can_give_feedback=any(s.rating is None for s in sides),
            sides=sides,
        )
    side = _own_side(user, exchange)
    given = getattr(exchange, f"{side}_rating") is not None
    return ExchangeDetail(
        exchange=exchange,
        feedback_given_by=_city_of(exchange, side) if given else None,
        can_give_feedback=not given,
        sides=sides,
    )


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
        concluded = await PeerExchange.filter(id=exchange.id, status=ExchangeStatus.ACTIVE).update(
            status=ExchangeStatus.CONCLUDED, concluded_at=now
        )
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
