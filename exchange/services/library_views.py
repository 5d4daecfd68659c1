"""What the library's pages show beyond the records themselves: practice cards, a city's
experience and exchanges, practices related to a practice, and search results with
their challenges.

Each function here serves one page. It reads through the library services (so their
permission rules apply: drafts stay private, cities and published practices are public)
and adds the summaries the page presents.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.functions import Count

from exchange.domain.markdown import excerpt
from exchange.models.accounts import User
from exchange.models.cities import Challenge, City, Practice, PracticeChallenge, PracticeStatus
from exchange.models.matching import ExchangeStatus, PeerExchange
from exchange.services import cities, permissions, search, visibility
from exchange.services.pagination import Page

RELATED_SHOWN = 3
RELATED_POOL = 5  # ranked practices read per practice shown


@dataclass(frozen=True)
class ChallengeCount:
    """A challenge with how many practices (of a city, or of the network) address it."""

    slug: str
    name: str
    count: int


@dataclass(frozen=True)
class PracticeCard:
    """A practice as a card shows it: title, year, city, challenges, first lines."""

    id: int
    title: str
    since: int | None
    city: City
    challenges: list[Challenge]
    excerpt: str
    draft: bool


async def practice_cards(
    practices: Sequence[Practice], city: City | None = None
) -> list[PracticeCard]:
    """Cards for `practices`, in their order. Their city must be fetched, or given."""
    links = await (
        PracticeChallenge.filter(practice_id__in=[p.id for p in practices])
        .select_related("challenge")
        .order_by("id")
    )
    by_practice: dict[int, list[Challenge]] = defaultdict(list)
    for link in links:
        by_practice[link.practice_id].append(link.challenge)
    return [
        PracticeCard(
            id=p.id,
            title=p.title,
            since=p.since,
            city=city or p.city,
            challenges=by_practice.get(p.id, []),
            excerpt=excerpt(p.summary),
            draft=p.status == PracticeStatus.DRAFT,
        )
        for p in practices
    ]


async def challenge_counts(city_id: int | None = None) -> list[ChallengeCount]:
    """Challenges with their number of published practices (of one city, if given), most
    first, then in taxonomy order; challenges without any are left out."""
    links = PracticeChallenge.filter(**visibility.public_practice_filter("practice__"))
    if city_id is not None:
        links = links.filter(practice__city_id=city_id)
    rows = (
        await links.annotate(practices=Count("id"))
        .group_by("challenge_id")
        .values_list("challenge_id", "practices")
    )
    counts = {int(str(cid)): int(str(n)) for cid, n in rows}
    terms = await Challenge.filter(id__in=list(counts)).order_by("position", "slug")
    ranked = sorted(terms, key=lambda term: -counts[term.id])
    return [ChallengeCount(slug=t.slug, name=t.name, count=counts[t.id]) for t in ranked]


# ------------------------------------------------------------------ the city page


@dataclass(frozen=True)
class ExchangeCounts:
    """A city's peer exchanges: those it hosted (as mentor) and those it asked for."""

    hosting_now: int
    hosted: int
    receiving_now: int
    received: int

    @property
    def total(self) -> int:
        return self.hosting_now + self.hosted + self.receiving_now + self.received


@dataclass(frozen=True)
class CityPage:
    profile: cities.CityProfile
    practices: Page[PracticeCard]
    experience: list[ChallengeCount]
    exchanges: ExchangeCounts
    free_capacity: int
    can_ask_for_help: bool

    @property
    def city(self) -> City:
        return self.profile.city


async def city_page(viewer: User | None, key: str, page: int) -> CityPage:
    """A city's profile with its practices as cards, the challenges it has experience
    with, its exchanges counted, and whether the viewer may ask it for help."""
    profile = await cities.city_profile(viewer, key, page)
    city = profile.city
    cards = await practice_cards(profile.practices.items, city)
    return CityPage(
        profile=profile,
        practices=Page(
            items=cards,
            number=profile.practices.number,
            per_page=profile.practices.per_page,
            total=profile.practices.total,
        ),
        experience=await challenge_counts(city_id=city.id),
        exchanges=await exchange_counts(city),
        free_capacity=max(city.mentoring_capacity - city.capacity_used, 0),
        can_ask_for_help=permissions.can_ask_city_for_help(viewer, city),
    )


async def exchange_counts(city: City) -> ExchangeCounts:
    as_mentor = Counter(
        str(s)
        for s in await PeerExchange.filter(mentor_id=city.id).values_list("status", flat=True)
    )
    as_mentee = Counter(
        str(s)
        for s in await PeerExchange.filter(mentee_id=city.id).values_list("status", flat=True)
    )
    active, done = ExchangeStatus.ACTIVE.value, ExchangeStatus.CONCLUDED.value
    return ExchangeCounts(
        hosting_now=as_mentor[active],
        hosted=as_mentor[done],
        receiving_now=as_mentee[active],
        received=as_mentee[done],
    )


# ------------------------------------------------------------------ the practice page


@dataclass(frozen=True)
class PracticePage:
    view: cities.PracticeView
    city_languages: list[str]
    free_capacity: int
    related: list[PracticeCard]


async def practice_page(viewer: User | None, practice_id: int) -> PracticePage:
    """A practice, its city's essentials and the published practices closest to it
    (most challenges in common, other cities first)."""
    view = await cities.practice_detail(viewer, practice_id)
    city = view.city
    return PracticePage(
        view=view,
        city_languages=await cities.city_languages(viewer, city.key),
        free_capacity=max(city.mentoring_capacity - city.capacity_used, 0),
        related=await related_practices(view.practice, view.challenges),
    )


async def related_practices(
    practice: Practice, challenges: Sequence[Challenge], limit: int = RELATED_SHOWN
) -> list[PracticeCard]:
    if not challenges:
        return []
    # The practices sharing most challenges, counted by the database (a challenge may
    # have thousands); a few more than shown, so that other cities can come first.
    rows = (
        await PracticeChallenge.filter(
            challenge_id__in=[c.id for c in challenges],
            **visibility.public_practice_filter("practice__"),
        )
        .exclude(practice_id=practice.id)
        .annotate(shared=Count("id"))
        .group_by("practice_id")
        .order_by("-shared", "practice_id")
        .limit(limit * RELATED_POOL)
        .values_list("practice_id", "shared")
    )
    shared = {int(str(pid)): int(str(n)) for pid, n in rows}
    if not shared:
        return []
    candidates = await Practice.filter(id__in=list(shared)).select_related("city")
    own_city = practice.city_id
    candidates.sort(key=lambda p: (-shared[p.id], p.city_id == own_city, p.title, p.id))
    return await practice_cards(candidates[:limit])


# ------------------------------------------------------------------ library search


@dataclass(frozen=True)
class LibraryResult:
    hit: search.SearchHit
    challenges: list[Challenge]


async def library_results(
    query: str, *, challenge: str = "", region: str = "", page: int = 1
) -> Page[LibraryResult]:
    """The library search, each hit with the challenges its practice addresses."""
    hits = await search.search_practices(query, challenge=challenge, region=region, page=page)
    links = await (
        PracticeChallenge.filter(practice_id__in=[h.practice_id for h in hits.items])
        .select_related("challenge")
        .order_by("id")
    )
    by_practice: dict[int, list[Challenge]] = defaultdict(list)
    for link in links:
        by_practice[link.practice_id].append(link.challenge)
    return Page(
        items=[
            LibraryResult(hit=h, challenges=by_practice.get(h.practice_id, [])) for h in hits.items
        ],
        number=hits.number,
        per_page=hits.per_page,
        total=hits.total,
        capped=hits.capped,
    )
