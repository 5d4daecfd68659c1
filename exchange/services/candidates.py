"""Candidates: the peers ranked for a request, as pages and the API show them.

Ranking itself is the matching engine's (`services/matching.py` over
`domain/matching`); this module turns its answer into cities the requester can invite.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from exchange.domain.matching import SCORE_PARTS, Candidate, MatchError, MatchQuery, Reason
from exchange.models.accounts import Role, User
from exchange.models.cities import City
from exchange.models.matching import MatchRequest, PeerInvitation
from exchange.services import matching, taxonomy, visibility
from exchange.services.labels import score_part_label

log = logging.getLogger("exchange.candidates")


CANDIDATES_SHOWN = 10


@dataclass(frozen=True)
class ScorePart:
    """One labelled part of a candidate's score: its share of the score (0..1)."""

    part: str
    label: str
    share: float


@dataclass(frozen=True)
class CandidateView:
    """A ranked peer as pages and the API show it."""

    city: City
    score: float
    reasons: list[str]
    free_capacity: int
    # The score split into labelled parts, in `SCORE_PARTS` order, shares adding up to 1.
    parts: tuple[ScorePart, ...] = ()
    # Place among the candidates not yet invited (1 = first-ranked).
    rank: int = 0
    # False when nobody answers for the city on Exchange yet: staff will have to.
    has_official: bool = True
    # The reasons as codes and values, kept on an invitation to this city when it is sent.
    found: tuple[Reason, ...] = ()


async def request_candidates(user: User, request_id: int) -> list[CandidateView]:
    """Ranked peers for a request, leaving out cities already invited."""
    request = await visibility.access_request(user, request_id)
    invitations = await PeerInvitation.filter(request=request)
    return await rank_candidates(request, list(invitations))


def query_for(request: MatchRequest, city_key: str, limit: int) -> MatchQuery:
    return MatchQuery(
        city_key=city_key,
        challenges=tuple(request.challenges),
        text=request.description,
        languages=tuple(request.languages),
        regions=tuple(request.regions),
        limit=limit,
        today=datetime.now(UTC).date(),
    )


async def rank_candidates(
    request: MatchRequest, invitations: Sequence[PeerInvitation]
) -> list[CandidateView]:
    """The best peers for a request, leaving out the cities in `invitations`."""
    invited = {i.city_id for i in invitations}
    key = await city_key_of(request)
    try:
        ranked = await matching.rank(query_for(request, key, CANDIDATES_SHOWN + len(invited)))
    except MatchError:
        log.warning("Request %s could not be ranked", request.id, exc_info=True)
        return []
    cities = {c.key: c for c in await City.filter(key__in=[r.city_key for r in ranked])}
    terms = await taxonomy.current()
    views: list[CandidateView] = []
    for candidate in ranked:
        peer = cities.get(candidate.city_key)
        if peer is None or peer.id in invited:
            continue
        views.append(_view(candidate, peer, terms))
    views = views[:CANDIDATES_SHOWN]
    staffed = await _cities_with_officials([v.city.id for v in views])
    return [
        replace(v, has_official=v.city.id in staffed, rank=n) for n, v in enumerate(views, start=1)
    ]


def _view(candidate: Candidate, city: City, terms: taxonomy.Taxonomy) -> CandidateView:
    return CandidateView(
        city=city,
        score=round(candidate.score, 4),
        reasons=matching.reason_texts(candidate.reasons, terms),
        free_capacity=max(city.mentoring_capacity - city.capacity_used, 0),
        parts=score_parts(candidate),
        found=tuple(candidate.reasons),
    )


def score_parts(candidate: Candidate) -> tuple[ScorePart, ...]:
    """The candidate's score as labelled shares, in the reader's locale."""
    return tuple(
        ScorePart(part, score_part_label(part), candidate.shares.get(part, 0.0))
        for part in SCORE_PARTS
    )


async def _cities_with_officials(city_ids: list[int]) -> set[int]:
    rows = await User.filter(city_id__in=city_ids, is_active=True, role=Role.OFFICIAL).values_list(
        "city_id", flat=True
    )
    return {int(str(city_id)) for city_id in rows}


async def ranking_of(request: MatchRequest, peer: City) -> tuple[float | None, tuple[Reason, ...]]:
    """The peer's score and reasons for the request when it is among the ranked, kept on
    its invitation (pages show those, not a later ranking, which leaves a full city out)."""
    try:
        ranked = await matching.rank(query_for(request, await city_key_of(request), 50))
    except MatchError:
        return None, ()
    found = next((c for c in ranked if c.city_key == peer.key), None)
    return (round(found.score, 4), found.reasons) if found else (None, ())


async def place_of(
    request: MatchRequest, peer: City, invitations: Sequence[PeerInvitation]
) -> tuple[int | None, float | None, tuple[Reason, ...]]:
    """The peer's place among the candidates not yet invited (1 = first), its score and
    why it was proposed, each None (or empty) when the ranking does not list it; one
    ranking for all three."""
    try:
        ranked = await matching.rank(query_for(request, await city_key_of(request), 50))
    except MatchError:
        return None, None, ()
    invited = {i.city_id for i in invitations}
    keys = dict(await City.filter(key__in=[c.city_key for c in ranked]).values_list("key", "id"))
    place = 0
    for candidate in ranked:
        city_id = keys.get(candidate.city_key)
        if city_id is None or city_id in invited:
            continue
        place += 1
        if city_id == peer.id:
            return place, round(candidate.score, 4), candidate.reasons
    return None, None, ()


async def invitation_reasons(invitation: PeerInvitation) -> list[str]:
    """Why the invited city was proposed, in the reader's words, as kept when it was
    invited. An invitation from before reasons were kept asks the ranking once more."""
    terms = await taxonomy.current()
    if invitation.match_reasons is not None:
        return matching.stored_reason_texts(invitation.match_reasons, terms)
    request = await MatchRequest.get(id=invitation.request_id)
    _score, reasons = await ranking_of(request, await City.get(id=invitation.city_id))
    return matching.reason_texts(reasons, terms)


async def city_key_of(request: MatchRequest) -> str:
    city = await City.get(id=request.city_id)
    return city.key
