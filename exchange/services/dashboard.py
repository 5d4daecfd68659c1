"""The home page: for a visitor, what the network does and holds; for someone signed in,
a dashboard of what waits for them.

An official sees their city's open requests with their progress, the invitations their
city has to answer (soonest deadline first) and the exchanges in progress. Staff see
the brokering queue counted, and the invitations nobody but staff can answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from tortoise.expressions import Q, Subquery
from tortoise.queryset import ValuesQuery

from exchange import i18n
from exchange.models.accounts import Role, User
from exchange.models.cities import City
from exchange.models.dialogues import Dialogue
from exchange.models.matching import (
    ExchangeStatus,
    InvitationStatus,
    MatchRequest,
    PeerExchange,
    PeerInvitation,
    RequestStatus,
)
from exchange.services import catalogue_cache, dialogues, match_requests, permissions, visibility
from exchange.services.library_views import (
    ChallengeCount,
    PracticeCard,
    challenge_counts,
    practice_cards,
)

RECENT_PRACTICES = 6
LIST_LIMIT = 8
# Invitations due within this time are counted as "expiring soon" for staff.
EXPIRING_SOON = timedelta(days=3)
LIVE_REQUEST_STATUSES = (RequestStatus.OPEN, RequestStatus.INVITING, RequestStatus.MATCHED)


@dataclass(frozen=True)
class FrontPage:
    """The public home page: the network at a glance."""

    challenges: list[ChallengeCount]
    recent: list[PracticeCard]
    city_count: int
    country_count: int
    practice_count: int


@dataclass(frozen=True)
class RequestProgress:
    request: MatchRequest
    accepted: int
    pending: int
    challenges: list[str]


@dataclass(frozen=True)
class WaitingInvitation:
    invitation: PeerInvitation
    challenges: list[str]


@dataclass(frozen=True)
class ExchangeInProgress:
    exchange: PeerExchange
    partner: City
    # True when the reader's city is the one helping (the mentor).
    helping: bool


@dataclass(frozen=True)
class QueueCounts:
    """The brokering queue, counted for staff."""

    waiting: int  # requests open with nobody invited, or not enough
    inviting: int  # requests with invitations out
    pending_invitations: int
    expiring_soon: int
    unanswered_cities: int  # pending invitations to cities with no official on Exchange
    active_exchanges: int


@dataclass(frozen=True)
class Dashboard:
    city: City | None
    requests: list[RequestProgress] = field(default_factory=list)
    invitations: list[WaitingInvitation] = field(default_factory=list)
    exchanges: list[ExchangeInProgress] = field(default_factory=list)
    queue: QueueCounts | None = None
    # The user's next dialogues (invited and not declined).
    dialogues: list[Dialogue] = field(default_factory=list)


@dataclass(frozen=True)
class HomePage:
    front: FrontPage | None
    dashboard: Dashboard | None


async def home_page(viewer: User | None, now: datetime | None = None) -> HomePage:
    """The front page for visitors, the dashboard for those signed in."""
    if permissions.is_signed_in(viewer):
        assert viewer is not None
        return HomePage(front=None, dashboard=await dashboard(viewer, now))
    return HomePage(front=await front_page(), dashboard=None)


async def front_page() -> FrontPage:
    """The same for every visitor until the catalogue changes: computed once per change
    and language (it names challenges in the reader's)."""
    return await catalogue_cache.cached(f"front_page:{i18n.current_locale()}", _front_page)


async def _front_page() -> FrontPage:
    published = visibility.public_practices()
    recent = (
        await published.select_related("city")
        .order_by("-created_at", "-id")
        .limit(RECENT_PRACTICES)
    )
    countries = await City.all().order_by("country").distinct().values_list("country", flat=True)
    return FrontPage(
        challenges=await challenge_counts(),
        recent=await practice_cards(recent),
        city_count=await City.all().count(),
        country_count=len(set(countries)),
        practice_count=await published.count(),
    )


async def dashboard(user: User, now: datetime | None = None) -> Dashboard:
    permissions.require(permissions.is_signed_in(user))
    now = now or datetime.now(UTC)
    city_id = user.city_id
    city = await City.get_or_none(id=city_id) if city_id is not None else None
    staff = permissions.is_staff(user)
    return Dashboard(
        city=city,
        requests=await _open_requests(city) if city else [],
        invitations=await _invitations_to_answer(city, staff),
        exchanges=await _exchanges_in_progress(city) if city else [],
        queue=await _queue(now) if permissions.can_broker(user) else None,
        dialogues=await dialogues.upcoming_for(user, now=now),
    )


async def _open_requests(city: City) -> list[RequestProgress]:
    requests = await (
        MatchRequest.filter(city_id=city.id, status__in=LIVE_REQUEST_STATUSES)
        .order_by("-created_at", "-id")
        .limit(LIST_LIMIT)
    )
    counts: Counter[tuple[int, str]] = Counter()
    for request_id, status in await PeerInvitation.filter(
        request_id__in=[r.id for r in requests]
    ).values_list("request_id", "status"):
        counts[(int(str(request_id)), str(status))] += 1
    names = await match_requests.challenge_names([slug for r in requests for slug in r.challenges])
    return [
        RequestProgress(
            request=r,
            accepted=counts[(r.id, InvitationStatus.ACCEPTED.value)],
            pending=counts[(r.id, InvitationStatus.PENDING.value)],
            challenges=[names.get(slug, slug) for slug in r.challenges],
        )
        for r in requests
    ]


async def _invitations_to_answer(city: City | None, staff: bool) -> list[WaitingInvitation]:
    """Pending invitations to the reader's city; for staff without a city, those to
    cities that have no official to answer them."""
    query = PeerInvitation.filter(status=InvitationStatus.PENDING)
    if city is not None:
        query = query.filter(city_id=city.id)
    elif staff:
        query = query.exclude(city_id__in=Subquery(_staffed_cities()))
    else:
        return []
    invitations = await (
        query.select_related("city", "request", "request__city")
        .order_by("expires_at", "id")
        .limit(LIST_LIMIT)
    )
    names = await match_requests.challenge_names(
        [slug for i in invitations for slug in i.request.challenges]
    )
    return [
        WaitingInvitation(
            invitation=i, challenges=[names.get(slug, slug) for slug in i.request.challenges]
        )
        for i in invitations
    ]


def _staffed_cities() -> ValuesQuery[Literal[False]]:
    """The ids of cities with an active official on Exchange, as a subquery."""
    return User.filter(role=Role.OFFICIAL, is_active=True, city_id__not_isnull=True).values(
        "city_id"
    )


async def _exchanges_in_progress(city: City) -> list[ExchangeInProgress]:
    exchanges = await (
        PeerExchange.filter(
            Q(mentor_id=city.id) | Q(mentee_id=city.id), status=ExchangeStatus.ACTIVE
        )
        .select_related("mentor", "mentee")
        .order_by("-created_at", "-id")
        .limit(LIST_LIMIT)
    )
    return [
        ExchangeInProgress(
            exchange=e,
            partner=e.mentee if e.mentor_id == city.id else e.mentor,
            helping=e.mentor_id == city.id,
        )
        for e in exchanges
    ]


async def _queue(now: datetime) -> QueueCounts:
    statuses = Counter(
        str(s)
        for s in await MatchRequest.filter(status__in=match_requests.OPEN_STATUSES).values_list(
            "status", flat=True
        )
    )
    pending = PeerInvitation.filter(status=InvitationStatus.PENDING)
    return QueueCounts(
        waiting=statuses[RequestStatus.OPEN.value],
        inviting=statuses[RequestStatus.INVITING.value],
        pending_invitations=await pending.count(),
        expiring_soon=await pending.filter(expires_at__lte=now + EXPIRING_SOON).count(),
        unanswered_cities=await pending.exclude(city_id__in=Subquery(_staffed_cities())).count(),
        active_exchanges=await PeerExchange.filter(status=ExchangeStatus.ACTIVE).count(),
    )
