"""Candidates: the peers ranked for a request, as pages and the API show them.

Ranking itself is the matching engine's (`services/matching.py` over
`domain/matching`); this module turns its answer into cities the requester can invite.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from exchange.domain.matching import Candidate, MatchError, MatchQuery, Reason
from exchange.models.accounts import Role, User
from exchange.models.cities import City
from exchange.models.matching import MatchRequest, PeerInvitation
from exchange.services import matching, taxonomy, visibility

log = logging.getLogger("exchange.candidates")


CANDIDATES_SHOWN = 10


@dataclass(frozen=True)
class CandidateView:
    """A ranked peer as pages and the API show it."""

    city: City
    score: float
    reasons: list[str]
    free_capacity: int
    # False when nobody answers for the city on Exchange yet: staff will have to.
    has_official: bool = True


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
    return [replace(v, has_official=v.city.id in staffed) for v in views]


def _view(candidate: Candidate, city: City, terms: taxonomy.Taxonomy) -> CandidateView:
    return CandidateView(
        city=city,
        score=round(candidate.score, 4),
        reasons=matching.reason_texts(candidate.reasons, terms),
        free_capacity=max(city.mentoring_capacity - city.capacity_used, 0),
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
