"""The match request pages with a preferred peer city.

"Ask this city for help" on a city's page opens the request form with that city
preferred (`/requests/new?peer=KEY`). Filing is unchanged (every city is ranked as
usual); the request page then shows the preferred city first among the candidates, or
says why it is not one of them. The preference lives in the page's address only.
"""

from __future__ import annotations

from dataclasses import dataclass

from exchange.models.accounts import User
from exchange.models.cities import City
from exchange.models.matching import PeerInvitation
from exchange.services import match_requests, permissions
from exchange.services.candidates import CandidateView
from exchange.services.match_requests import RequestDetail, RequestFormOptions

MAX_KEY = 80


async def preferred_peer(user: User | None, key: str) -> City | None:
    """The city named by `key` if this user may ask it for help; None otherwise (a
    stale or edited address just means no preference)."""
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        return None
    city = await City.get_or_none(key=key)
    if city is None or not permissions.can_ask_city_for_help(user, city):
        return None
    return city


@dataclass(frozen=True)
class RequestForm:
    options: RequestFormOptions
    preferred: City | None


async def request_form(user: User, preferred_key: str = "") -> RequestForm:
    """The request form's choices, with the preferred peer city if one is named."""
    return RequestForm(
        options=await match_requests.request_form_options(user),
        preferred=await preferred_peer(user, preferred_key),
    )


@dataclass(frozen=True)
class RequestPage:
    detail: RequestDetail
    # The candidates to show, the preferred city first when it is one of them.
    candidates: list[CandidateView]
    preferred: City | None
    preferred_is_candidate: bool
    # The invitation already sent to the preferred city, if any.
    preferred_invitation: PeerInvitation | None
    # Staff may invite a city outside the ranked list, with a reason.
    can_invite_outside: bool = False


async def request_page(user: User, request_id: int, preferred_key: str = "") -> RequestPage:
    detail = await match_requests.request_detail(user, request_id)
    preferred = await preferred_peer(user, preferred_key) if detail.can_manage else None
    candidates = list(detail.candidates)
    chosen = [c for c in candidates if preferred is not None and c.city.id == preferred.id]
    if chosen:
        candidates = chosen + [c for c in candidates if c is not chosen[0]]
    invited = next(
        (i for i in detail.invitations if preferred is not None and i.city_id == preferred.id),
        None,
    )
    return RequestPage(
        detail=detail,
        candidates=candidates,
        preferred=preferred,
        preferred_is_candidate=bool(chosen),
        preferred_invitation=invited,
        can_invite_outside=detail.can_manage
        and permissions.is_staff(user)
        and detail.invitations_left > 0,
    )
