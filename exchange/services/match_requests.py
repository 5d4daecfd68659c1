"""Match requests: a city's ask for peers, from filing to closing.

A request moves open → inviting → matched → closed (or withdrawn); its status is
recomputed from its invitations after every change, inside the same transaction, with
the request row locked (`locked_request`; a no-op on SQLite, where writes are serialised
anyway). The timeline (`record_event`) and the helpers that find the people on either
side live here too, since invitations and exchanges belong to a request.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import Role, User
from exchange.models.cities import Challenge, City, Region
from exchange.models.matching import (
    ExchangeFormat,
    InvitationStatus,
    MatchRequest,
    PeerExchange,
    PeerInvitation,
    RequestEvent,
    RequestStatus,
)
from exchange.services import candidates, permissions, taxonomy, visibility
from exchange.services.candidates import CandidateView
from exchange.services.cities import challenge_options, city_choices
from exchange.services.errors import Conflict, NotFound, PermissionDenied
from exchange.services.library_rules import is_language
from exchange.services.pagination import Page, paginate
from exchange.services.unit_of_work import unit_of_work
from exchange.services.validation import Checker, check_text, is_clean

MAX_PEERS_WANTED = 10
MAX_DESCRIPTION = 10_000
MAX_TIME_FRAME = 200
OPEN_STATUSES = (RequestStatus.OPEN, RequestStatus.INVITING)


@dataclass(frozen=True)
class RequestInput:
    """What a requester fills in; everything as submitted, checked by `check_file_request`."""

    city_key: str
    challenges: Sequence[str]
    description: str
    languages: Sequence[str] = ()
    regions: Sequence[str] = ()
    format: str = ExchangeFormat.ONLINE.value
    time_frame: str = ""
    peers_wanted: int | str = 1
    auto_fallback: bool = False  # invite the next-ranked peer after a decline or expiry


async def check_file_request(user: User, data: RequestInput) -> MatchRequest:
    """File a match request for a city: officials for their own, staff for any."""
    permissions.require(permissions.is_signed_in(user))
    checker = Checker()
    key = data.city_key.strip()
    city = await City.get_or_none(key=key) if key and is_clean(key) else None
    if city is None:
        checker.fail("city", _("Choose a city."))
    elif not permissions.can_request_match_for(user, city):
        raise PermissionDenied
    challenges = await _check_challenges(checker, data.challenges)
    description = data.description.strip()
    if not description:
        checker.fail("description", _("Describe what your city faces."))
    elif len(description) > MAX_DESCRIPTION:
        checker.fail(
            "description", _("Use at most %(count)d characters.") % {"count": MAX_DESCRIPTION}
        )
    check_text(checker, "description", description, multiline=True)
    languages = _check_languages(checker, data.languages)
    regions = _dedupe(r.strip() for r in data.regions if r.strip())
    if any(region not in Region._value2member_map_ for region in regions):
        checker.fail("regions", _("Choose regions from the list."))
    if data.format not in {f.value for f in ExchangeFormat}:
        checker.fail("format", _("Choose a format from the list."))
    time_frame = data.time_frame.strip()
    if len(time_frame) > MAX_TIME_FRAME:
        checker.fail(
            "time_frame", _("Use at most %(count)d characters.") % {"count": MAX_TIME_FRAME}
        )
    check_text(checker, "time_frame", time_frame)
    peers_wanted = _check_peers_wanted(checker, data.peers_wanted)
    checker.done()
    assert city is not None
    now = datetime.now(UTC)
    async with unit_of_work():
        request = await MatchRequest.create(
            city=city,
            requested_by=user,
            challenges=challenges,
            description=description,
            languages=languages,
            regions=regions,
            format=ExchangeFormat(data.format),
            time_frame=time_frame,
            peers_wanted=peers_wanted,
            auto_fallback=data.auto_fallback,
            status=RequestStatus.OPEN,
            created_at=now,
            updated_at=now,
        )
        await record_event(
            request,
            user,
            "filed",
            N_("%(user)s filed the request for %(city)s"),
            {"user": user.name, "city": city.name},
        )
    return request


async def _check_challenges(checker: Checker, raw: Sequence[str]) -> list[str]:
    slugs = _dedupe(s.strip() for s in raw if s.strip())
    if not slugs:
        checker.fail("challenges", _("Choose at least one challenge."))
        return []
    # A slug with control characters names nothing and must not reach the database.
    lookup = [slug for slug in slugs if is_clean(slug)]
    known = {c.slug for c in await Challenge.filter(slug__in=lookup).only("id", "slug")}
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        checker.fail(
            "challenges", _("Unknown challenge: %(slugs)s") % {"slugs": ", ".join(unknown)}
        )
    return slugs


def _check_languages(checker: Checker, raw: Sequence[str]) -> list[str]:
    codes = _dedupe(code.strip().lower() for code in raw if code.strip())
    unknown = [code for code in codes if not is_language(code)]
    if unknown:
        checker.fail(
            "languages",
            _("Unknown language code: %(codes)s. Use ISO 639-1 codes, such as fr.")
            % {"codes": ", ".join(unknown)},
        )
    return codes


def _check_peers_wanted(checker: Checker, raw: int | str) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PEERS_WANTED:
        checker.fail(
            "peers_wanted", _("Choose between 1 and %(count)d peers.") % {"count": MAX_PEERS_WANTED}
        )
    return value


def _dedupe(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


@dataclass(frozen=True)
class RequestFormOptions:
    """The choices of the request form; `own_city` is set for an official."""

    own_city: City | None
    challenges: list[tuple[str, str]]
    cities: list[tuple[str, str]]


async def request_form_options(user: User) -> RequestFormOptions:
    """Officials file for their own city (and need one), staff for any city."""
    permissions.require(permissions.is_signed_in(user))
    if permissions.is_staff(user):
        own_city, choices = None, await city_choices()
    else:
        own_city = await City.get_or_none(id=user.city_id)
        if own_city is None:
            raise PermissionDenied
        choices = [(own_city.key, own_city.name)]
    return RequestFormOptions(
        own_city=own_city, challenges=await challenge_options(), cities=choices
    )


async def list_requests(user: User, page: int, status: str = "") -> Page[MatchRequest]:
    """The requests of the user's city; staff see all."""
    permissions.require(permissions.is_signed_in(user))
    query = visibility.visible_requests(user).select_related("city")
    if status in {s.value for s in RequestStatus}:
        query = query.filter(status=status)
    return await paginate(query.order_by("-created_at", "-id"), page)


@dataclass(frozen=True)
class RequestRow:
    """A request as a list shows it: its challenges by name and how many peers accepted."""

    request: MatchRequest
    accepted: int
    challenges: list[str] = field(default_factory=list)


async def list_request_rows(user: User, page: int, status: str = "") -> Page[RequestRow]:
    """`list_requests`, each with its count of accepted peers (the list shows progress)."""
    requests = await list_requests(user, page, status)
    accepted = await _accepted_counts([r.id for r in requests.items])
    names = await challenge_names([slug for r in requests.items for slug in r.challenges])
    rows = [
        RequestRow(
            request=r,
            accepted=accepted.get(r.id, 0),
            challenges=[names.get(slug, slug) for slug in r.challenges],
        )
        for r in requests.items
    ]
    return requests.with_items(rows)


async def _accepted_counts(request_ids: list[int]) -> dict[int, int]:
    rows = await PeerInvitation.filter(
        request_id__in=request_ids, status=InvitationStatus.ACCEPTED
    ).values_list("request_id", flat=True)
    return dict(Counter(int(str(request_id)) for request_id in rows))


@dataclass(frozen=True)
class RequestDetail:
    request: MatchRequest
    invitations: list[PeerInvitation]
    exchanges: list[PeerExchange]
    events: list[RequestEvent]
    candidates: list[CandidateView]
    can_manage: bool
    invitations_left: int
    challenge_names: dict[str, str]

    @property
    def accepted(self) -> int:
        return sum(1 for i in self.invitations if i.status == InvitationStatus.ACCEPTED)

    def exchange_for(self, invitation: PeerInvitation) -> PeerExchange | None:
        """The exchange an accepted invitation started, if there is one."""
        return next(
            (e for e in self.exchanges if e.invitation_id == invitation.id),
            None,
        )


async def request_detail(user: User, request_id: int) -> RequestDetail:
    request = await visibility.access_request(user, request_id)
    invitations = (
        await PeerInvitation.filter(request=request)
        .select_related("city")
        .order_by("created_at", "id")
    )
    exchanges = (
        await PeerExchange.filter(request=request)
        .select_related("mentor")
        .order_by("created_at", "id")
    )
    events = await RequestEvent.filter(request=request).order_by("created_at", "id")
    left = invitations_left(request, invitations)
    manage = permissions.can_manage_match_request(user, request)
    ranked = await candidates.rank_candidates(request, invitations) if manage and left > 0 else []
    return RequestDetail(
        request=request,
        invitations=list(invitations),
        exchanges=list(exchanges),
        events=list(events),
        candidates=ranked,
        can_manage=manage,
        invitations_left=left,
        challenge_names=await challenge_names(request.challenges),
    )


def invitations_left(request: MatchRequest, invitations: Sequence[PeerInvitation]) -> int:
    """How many more cities may be invited: wanted minus pending and accepted."""
    if request.status not in OPEN_STATUSES:
        return 0
    live = sum(
        1 for i in invitations if i.status in (InvitationStatus.PENDING, InvitationStatus.ACCEPTED)
    )
    return max(int(request.peers_wanted) - live, 0)


@dataclass(frozen=True)
class WaitingRequest:
    request: MatchRequest
    waiting: timedelta
    pending: int
    accepted: int


async def brokering_dashboard(
    user: User, page: int, now: datetime | None = None
) -> Page[WaitingRequest]:
    """Every request still waiting for peers, oldest first, with how long it has waited."""
    permissions.require(permissions.can_broker(user))
    now = now or datetime.now(UTC)
    query = (
        visibility.visible_requests(user)
        .filter(status__in=OPEN_STATUSES)
        .select_related("city", "requested_by")
    )
    requests = await paginate(query.order_by("created_at", "id"), page)
    ids = [r.id for r in requests.items]
    counts: dict[tuple[int, str], int] = {}
    for request_id, status in await PeerInvitation.filter(request_id__in=ids).values_list(
        "request_id", "status"
    ):
        counts[(request_id, str(status))] = counts.get((request_id, str(status)), 0) + 1
    rows = [
        WaitingRequest(
            request=r,
            waiting=now - r.created_at,
            pending=counts.get((r.id, InvitationStatus.PENDING.value), 0),
            accepted=counts.get((r.id, InvitationStatus.ACCEPTED.value), 0),
        )
        for r in requests.items
    ]
    return requests.with_items(rows)


async def withdraw_request(user: User, request_id: int, confirmed: bool = True) -> MatchRequest:
    """Give up before a match; pending invitations are withdrawn with it.

    The page asks for a confirmation first (`confirmed`), since it cannot be undone.
    """
    if not confirmed:
        request = await visibility.access_request(user, request_id)
        permissions.require(permissions.can_manage_match_request(user, request))
        checker = Checker()
        checker.fail("confirm", _("Tick the box to confirm that you withdraw the request."))
        checker.done()
    return await _end_request(user, request_id, RequestStatus.WITHDRAWN)


async def close_request(user: User, request_id: int) -> MatchRequest:
    """Stop looking for more peers; exchanges already agreed go on."""
    return await _end_request(user, request_id, RequestStatus.CLOSED)


async def _end_request(user: User, request_id: int, status: RequestStatus) -> MatchRequest:
    request = await visibility.access_request(user, request_id)
    permissions.require(permissions.can_manage_match_request(user, request))
    now = datetime.now(UTC)
    async with unit_of_work():
        request = await locked_request(request.id)
        if request.status in (RequestStatus.CLOSED, RequestStatus.WITHDRAWN):
            raise Conflict("request_ended", _("This request is already closed."))
        has_exchange = await PeerExchange.exists(request=request)
        if status == RequestStatus.WITHDRAWN and has_exchange:
            raise Conflict(
                "has_exchange",
                _("A peer has accepted: close the request instead of withdrawing it."),
            )
        await PeerInvitation.filter(request=request, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.WITHDRAWN, answered_at=now
        )
        await MatchRequest.filter(id=request.id).update(
            status=status, closed_at=now, updated_at=now
        )
        message = (
            N_("%(user)s withdrew the request")
            if status == RequestStatus.WITHDRAWN
            else N_("%(user)s closed the request")
        )
        await record_event(request, user, status.value, message, {"user": user.name})
    request.status = status
    return request


async def challenge_names(slugs: Sequence[str]) -> dict[str, str]:
    """The names of the given challenge slugs in the current locale (a slug no longer
    known has none)."""
    return (await taxonomy.current()).names(slugs)


async def challenge_name_list(slugs: Sequence[str]) -> list[str]:
    names = await challenge_names(slugs)
    return [names.get(slug, slug) for slug in slugs]


async def officials_of(city_id: int) -> list[User]:
    """The active officials who answer for a city."""
    return list(
        await User.filter(city_id=city_id, is_active=True, role=Role.OFFICIAL).order_by("id")
    )


async def requesting_side(request: MatchRequest) -> list[User]:
    """Who hears about a request: its city's officials and whoever filed it."""
    people = {u.id: u for u in await officials_of(request.city_id)}
    if request.requested_by_id is not None:
        filer = await User.get_or_none(id=request.requested_by_id, is_active=True)
        if filer is not None:
            people.setdefault(filer.id, filer)
    return [people[k] for k in sorted(people)]


async def locked_request(request_id: int) -> MatchRequest:
    """The request row, locked for this transaction (PostgreSQL; SQLite serialises writes)."""
    request = await MatchRequest.filter(id=request_id).select_for_update().first()
    if request is None:
        raise NotFound
    return request


async def refresh_status(request: MatchRequest) -> None:
    """Recompute an open request's status from its invitations."""
    if request.status in (RequestStatus.CLOSED, RequestStatus.WITHDRAWN):
        return
    accepted = await PeerInvitation.filter(
        request=request, status=InvitationStatus.ACCEPTED
    ).count()
    pending = await PeerInvitation.filter(request=request, status=InvitationStatus.PENDING).count()
    if accepted >= request.peers_wanted:
        status = RequestStatus.MATCHED
    elif pending:
        status = RequestStatus.INVITING
    else:
        status = RequestStatus.OPEN
    if status != request.status:
        await MatchRequest.filter(id=request.id).update(status=status, updated_at=datetime.now(UTC))
        request.status = status


async def record_event(
    request: MatchRequest, actor: User | None, kind: str, message: str, params: dict[str, Any]
) -> None:
    await RequestEvent.create(
        request=request,
        actor=actor,
        kind=kind,
        message=message,
        params=params,
        created_at=datetime.now(UTC),
    )


def event_text(event: RequestEvent) -> str:
    return _(event.message) % event.params if event.params else _(event.message)
