"""What staff learn from the ranking in use: its overrides, and per challenge how often
the first-ranked peer was invited, accepted, and rated well.

Reads the ranked place each invitation records (`PeerInvitation.rank`, 1 = the first
candidate when it was sent) and the mentee's rating of the exchange it started.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from exchange.models.accounts import User
from exchange.models.cities import Challenge
from exchange.models.matching import InvitationStatus, PeerExchange, PeerInvitation
from exchange.services import permissions

#: A mentee rating at least this high (1..5) counts as "rated well".
RATED_WELL = 4
RECENT_OVERRIDES = 10


@dataclass(frozen=True)
class ChallengeRow:
    """One challenge: of the requests about it with any invitation, how many invited the
    first-ranked peer, saw it accept, and rated its exchange well."""

    slug: str
    name: str
    requests: int
    first_invited: int
    first_accepted: int
    first_rated_well: int


async def recent_overrides(user: User, limit: int = RECENT_OVERRIDES) -> list[PeerInvitation]:
    """The latest invitations staff sent past the ranking, with their reasons."""
    permissions.require(permissions.can_broker(user))
    return list(
        await PeerInvitation.exclude(override_reason="")
        .select_related("city", "request__city", "invited_by")
        .order_by("-created_at", "-id")
        .limit(limit)
    )


async def first_ranked_report(user: User) -> list[ChallengeRow]:
    """Per challenge of the taxonomy, in its order: the first-ranked peer's fate."""
    permissions.require(permissions.can_broker(user))
    rows = await PeerInvitation.all().values_list(
        "id", "request_id", "rank", "status", "request__challenges"
    )
    ratings = dict(
        await PeerExchange.filter(
            invitation_id__isnull=False, mentee_rating__isnull=False
        ).values_list("invitation_id", "mentee_rating")
    )
    requests: dict[str, set[int]] = defaultdict(set)
    invited: dict[str, set[int]] = defaultdict(set)
    accepted: dict[str, set[int]] = defaultdict(set)
    rated: dict[str, set[int]] = defaultdict(set)
    for invitation_id, request_id, rank, status, challenges in rows:
        for slug in challenges or ():
            requests[slug].add(request_id)
            if rank != 1:
                continue
            invited[slug].add(request_id)
            if str(status) == InvitationStatus.ACCEPTED.value:
                accepted[slug].add(request_id)
                if int(ratings.get(invitation_id) or 0) >= RATED_WELL:
                    rated[slug].add(request_id)
    taxonomy = await Challenge.all().order_by("position", "slug").values_list("slug", "name")
    return [
        ChallengeRow(
            slug=str(slug),
            name=str(name),
            requests=len(requests[str(slug)]),
            first_invited=len(invited[str(slug)]),
            first_accepted=len(accepted[str(slug)]),
            first_rated_well=len(rated[str(slug)]),
        )
        for slug, name in taxonomy
    ]
