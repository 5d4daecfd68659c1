"""The brokering workflow: match requests, peer invitations, exchanges and feedback.

A request moves open → inviting → matched → closed (or withdrawn); its status is
recomputed from its invitations after every change, inside the same transaction, with
the request row locked (a no-op on SQLite, where writes are serialised anyway).
Accepting takes one unit of the peer's capacity with ONE conditional UPDATE whose row
count says whether a unit was free, so two acceptances racing for the last unit can
never both win. Every change that moves capacity or peer history bumps the availability
version, which tells every worker's matching index to read them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from exchange import i18n
from exchange.domain.matching import REGIONS, Candidate, MatchError, MatchQuery
from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import Role, User
from exchange.models.cities import Challenge, City
from exchange.models.matching import (
    Exchange,
    ExchangeFormat,
    ExchangeStatus,
    InvitationStatus,
    MatchRequest,
    PeerInvitation,
    RequestEvent,
    RequestStatus,
)
from exchange.services import labels, matching, notices, outbox, permissions
from exchange.services.cities import challenge_options, city_choices
from exchange.services.library_rules import is_language
from exchange.services.pagination import Page, paginate
from exchange.services.validation import Checker, ValidationError
from exchange.settings import Settings

log = logging.getLogger("exchange.brokering")

MAX_PEERS_WANTED = 10
MAX_DESCRIPTION = 10_000
MAX_TIME_FRAME = 200
MAX_REASON = 2_000
MAX_RATING = 5
CANDIDATES_SHOWN = 10
OPEN_STATUSES = (RequestStatus.OPEN, RequestStatus.INVITING)


class Conflict(Exception):
    """The action no longer fits the state of things (shown as 409 in the API)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ------------------------------------------------------------------ filing


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


async def check_file_request(user: User, data: RequestInput) -> MatchRequest:
    """File a match request for a city: officials for their own, staff for any."""
    permissions.require(permissions.is_signed_in(user))
    checker = Checker()
    city = await City.get_or_none(key=data.city_key.strip()) if data.city_key.strip() else None
    if city is None:
        checker.fail("city", _("Choose a city."))
    elif not permissions.can_request_match_for(user, city):
        raise permissions.PermissionDenied
    challenges = await _check_challenges(checker, data.challenges)
    description = data.description.strip()
    if not description:
        checker.fail("description", _("Describe what your city faces."))
    elif len(description) > MAX_DESCRIPTION:
        checker.fail(
            "description", _("Use at most %(count)d characters.") % {"count": MAX_DESCRIPTION}
        )
    languages = _check_languages(checker, data.languages)
    regions = _dedupe(r.strip() for r in data.regions if r.strip())
    if any(region not in REGIONS for region in regions):
        checker.fail("regions", _("Choose regions from the list."))
    if data.format not in {f.value for f in ExchangeFormat}:
        checker.fail("format", _("Choose a format from the list."))
    time_frame = data.time_frame.strip()
    if len(time_frame) > MAX_TIME_FRAME:
        checker.fail(
            "time_frame", _("Use at most %(count)d characters.") % {"count": MAX_TIME_FRAME}
        )
    peers_wanted = _check_peers_wanted(checker, data.peers_wanted)
    checker.done()
    assert city is not None
    now = datetime.now(UTC)
    async with in_transaction():
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
            status=RequestStatus.OPEN,
            created_at=now,
            updated_at=now,
        )
        await _event(
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
    known = {c.slug for c in await Challenge.filter(slug__in=slugs).only("id", "slug")}
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
        own_city = await City.get_or_none(id=user.city_id)  # type: ignore[attr-defined]
        if own_city is None:
            raise permissions.PermissionDenied
        choices = [(own_city.key, own_city.name)]
    return RequestFormOptions(
        own_city=own_city, challenges=await challenge_options(), cities=choices
    )


# ------------------------------------------------------------------ reading


async def access_request(user: User | None, request_id: int) -> MatchRequest:
    """A request the user may see; others get 404 (requests are private to their city)."""
    request = await MatchRequest.get_or_none(id=request_id).select_related("city", "requested_by")
    if request is None or not permissions.can_view_match_request(user, request):
        raise permissions.NotFound
    return request


async def list_requests(user: User, page: int, status: str = "") -> Page[MatchRequest]:
    """The requests of the user's city; staff see all."""
    permissions.require(permissions.is_signed_in(user))
    query = MatchRequest.all().select_related("city")
    if not permissions.is_staff(user):
        query = query.filter(city_id=user.city_id)  # type: ignore[attr-defined]
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
    return Page(
        items=rows,
        number=requests.number,
        per_page=requests.per_page,
        total=requests.total,
    )


async def _accepted_counts(request_ids: list[int]) -> dict[int, int]:
    rows = await PeerInvitation.filter(
        request_id__in=request_ids, status=InvitationStatus.ACCEPTED
    ).values_list("request_id", flat=True)
    return dict(Counter(int(str(request_id)) for request_id in rows))


@dataclass(frozen=True)
class CandidateView:
    """A ranked peer as pages and the API show it."""

    city: City
    score: float
    reasons: list[str]
    free_capacity: int
    # False when nobody answers for the city on Exchange yet: staff will have to.
    has_official: bool = True


@dataclass(frozen=True)
class RequestDetail:
    request: MatchRequest
    invitations: list[PeerInvitation]
    exchanges: list[Exchange]
    events: list[RequestEvent]
    candidates: list[CandidateView]
    can_manage: bool
    invitations_left: int
    challenge_names: dict[str, str]

    @property
    def accepted(self) -> int:
        return sum(1 for i in self.invitations if i.status == InvitationStatus.ACCEPTED)

    def exchange_for(self, invitation: PeerInvitation) -> Exchange | None:
        """The exchange an accepted invitation started, if there is one."""
        return next(
            (e for e in self.exchanges if e.invitation_id == invitation.id),  # type: ignore[attr-defined]
            None,
        )


async def request_detail(user: User, request_id: int) -> RequestDetail:
    request = await access_request(user, request_id)
    invitations = (
        await PeerInvitation.filter(request=request)
        .select_related("city")
        .order_by("created_at", "id")
    )
    exchanges = (
        await Exchange.filter(request=request).select_related("mentor").order_by("created_at", "id")
    )
    events = await RequestEvent.filter(request=request).order_by("created_at", "id")
    left = invitations_left(request, invitations)
    manage = permissions.can_manage_match_request(user, request)
    candidates = await _candidates(request, invitations) if manage and left > 0 else []
    return RequestDetail(
        request=request,
        invitations=list(invitations),
        exchanges=list(exchanges),
        events=list(events),
        candidates=candidates,
        can_manage=manage,
        invitations_left=left,
        challenge_names=await challenge_names(request.challenges),
    )


async def request_candidates(user: User, request_id: int) -> list[CandidateView]:
    """Ranked peers for a request, leaving out cities already invited."""
    request = await access_request(user, request_id)
    invitations = await PeerInvitation.filter(request=request)
    return await _candidates(request, list(invitations))


def invitations_left(request: MatchRequest, invitations: Sequence[PeerInvitation]) -> int:
    """How many more cities may be invited: wanted minus pending and accepted."""
    if request.status not in OPEN_STATUSES:
        return 0
    live = sum(
        1 for i in invitations if i.status in (InvitationStatus.PENDING, InvitationStatus.ACCEPTED)
    )
    return max(int(request.peers_wanted) - live, 0)


def query_for(request: MatchRequest, city_key: str, limit: int) -> MatchQuery:
    return MatchQuery(
        city_key=city_key,
        challenges=tuple(request.challenges),
        text=request.description,
        languages=tuple(request.languages),
        regions=tuple(request.regions),
        limit=limit,
    )


async def _candidates(
    request: MatchRequest, invitations: Sequence[PeerInvitation]
) -> list[CandidateView]:
    invited = {i.city_id for i in invitations}  # type: ignore[attr-defined]
    key = await _city_key(request)
    try:
        ranked = await matching.rank(query_for(request, key, CANDIDATES_SHOWN + len(invited)))
    except MatchError:
        log.warning("Request %s could not be ranked", request.id, exc_info=True)
        return []
    cities = {c.key: c for c in await City.filter(key__in=[r.city_key for r in ranked])}
    views: list[CandidateView] = []
    for candidate in ranked:
        peer = cities.get(candidate.city_key)
        if peer is None or peer.id in invited:
            continue
        views.append(_view(candidate, peer))
    views = views[:CANDIDATES_SHOWN]
    staffed = await _cities_with_officials([v.city.id for v in views])
    return [replace(v, has_official=v.city.id in staffed) for v in views]


def _view(candidate: Candidate, city: City) -> CandidateView:
    return CandidateView(
        city=city,
        score=round(candidate.score, 4),
        reasons=matching.reason_texts(candidate.reasons),
        free_capacity=max(city.mentoring_capacity - city.capacity_used, 0),
    )


async def _cities_with_officials(city_ids: list[int]) -> set[int]:
    rows = await User.filter(city_id__in=city_ids, is_active=True, role=Role.OFFICIAL).values_list(
        "city_id", flat=True
    )
    return {int(str(city_id)) for city_id in rows}


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
    query = MatchRequest.filter(status__in=OPEN_STATUSES).select_related("city", "requested_by")
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
    return Page(
        items=rows, number=requests.number, per_page=requests.per_page, total=requests.total
    )


# ------------------------------------------------------------------ inviting


async def check_invite(
    settings: Settings, user: User, request_id: int, city_key: str
) -> PeerInvitation:
    """Invite a peer city; its officials get an email and a notice."""
    request = await access_request(user, request_id)
    permissions.require(permissions.can_manage_match_request(user, request))
    peer = await City.get_or_none(key=city_key.strip()) if city_key.strip() else None
    if peer is None:
        raise ValidationError({"city": _("Choose a city to invite.")})
    if peer.id == request.city_id:  # type: ignore[attr-defined]
        raise ValidationError({"city": _("A city cannot be its own peer.")})
    # Ranking may wait for an index rebuild: do it before taking the request's row lock.
    # The score is advisory, recorded on the invitation as the ranking saw it.
    score = await _score_of(request, peer)
    now = datetime.now(UTC)
    async with in_transaction():
        request = await _locked(request.id)
        invitations = await PeerInvitation.filter(request=request)
        if request.status not in OPEN_STATUSES:
            raise Conflict("request_not_open", _("This request no longer takes invitations."))
        if invitations_left(request, invitations) < 1:
            raise Conflict(
                "enough_invited",
                _("As many cities as wanted are already invited or have accepted."),
            )
        if any(i.city_id == peer.id for i in invitations):  # type: ignore[attr-defined]
            raise Conflict(
                "already_invited", _("%(city)s was already invited.") % {"city": peer.name}
            )
        if peer.capacity_used >= peer.mentoring_capacity:
            raise Conflict(
                "no_capacity", _("%(city)s has no free mentoring capacity.") % {"city": peer.name}
            )
        invitation = await PeerInvitation.create(
            request=request,
            city=peer,
            invited_by=user,
            status=InvitationStatus.PENDING,
            score=score,
            created_at=now,
            expires_at=now + timedelta(days=settings.invitation_expiry_days),
        )
        officials = await _officials(peer.id)
        await _event(
            request,
            user,
            "invited",
            N_("%(user)s invited %(city)s")
            if officials
            else N_(
                "%(user)s invited %(city)s, which has no official on Exchange yet: "
                "nobody was emailed"
            ),
            {"user": user.name, "city": peer.name},
        )
        await _refresh_status(request)
        if officials:
            await _tell_invited_city(settings, invitation, request, peer)
        else:
            await _tell_staff_nobody_answers(user, invitation, peer)
    outbox.wake_sender()
    return invitation


async def _tell_staff_nobody_answers(user: User, invitation: PeerInvitation, peer: City) -> None:
    """An invited city without officials hears nothing: staff must answer for it."""
    staff = await User.filter(is_active=True, role__in=(Role.STAFF, Role.ADMIN)).order_by("id")
    await notices.notify(
        [member for member in staff if member.id != user.id],
        "invited_without_official",
        N_(
            "%(city)s was invited but has no official on Exchange yet: "
            "staff will need to answer for this city"
        ),
        {"city": peer.name},
        f"/peer-invitations/{invitation.id}",
    )


async def _score_of(request: MatchRequest, peer: City) -> float | None:
    """The peer's score for the request when it is among the ranked, for the record."""
    try:
        ranked = await matching.rank(query_for(request, await _city_key(request), 50))
    except MatchError:
        return None
    return next((round(c.score, 4) for c in ranked if c.city_key == peer.key), None)


async def _tell_invited_city(
    settings: Settings, invitation: PeerInvitation, request: MatchRequest, peer: City
) -> None:
    requester = await City.get(id=request.city_id)  # type: ignore[attr-defined]
    officials = await _officials(peer.id)
    link = f"/peer-invitations/{invitation.id}"
    params = {"city": requester.name}
    await notices.notify(
        officials, "peer_invitation", N_("%(city)s asks your city for peer support"), params, link
    )
    challenges = await _challenge_names(request.challenges)
    for official in officials:
        with i18n.use_locale(official.locale):
            format_text = labels.format_label(request.format.value)
        await outbox.queue_email(
            settings,
            to=official.email,
            locale=official.locale,
            subject=N_("%(city)s asks your city for peer support"),
            template="peer_invitation",
            context={
                **params,
                "name": official.name,
                "peer": peer.name,
                "challenges": challenges,
                "description": request.description,
                "format": format_text,
                "time_frame": request.time_frame,
                "expires_at": invitation.expires_at.strftime("%Y-%m-%d"),
                "link": settings.base_url + link,
            },
        )


async def challenge_names(slugs: Sequence[str]) -> dict[str, str]:
    """The names of the given challenge slugs (a slug no longer known has none)."""
    rows = await Challenge.filter(slug__in=list(slugs)).values_list("slug", "name")
    return {str(slug): str(name) for slug, name in rows}


async def _challenge_names(slugs: Sequence[str]) -> list[str]:
    names = await challenge_names(slugs)
    return [names.get(slug, slug) for slug in slugs]


# ------------------------------------------------------------------ answering


async def access_invitation(user: User | None, invitation_id: int) -> PeerInvitation:
    """An invitation the user may see: the invited city's officials, the requester's, staff."""
    invitation = await PeerInvitation.get_or_none(id=invitation_id).select_related(
        "city", "request", "request__city"
    )
    if invitation is None:
        raise permissions.NotFound
    if not (
        permissions.can_answer_peer_invitation(user, invitation)
        or permissions.can_view_match_request(user, invitation.request)
    ):
        raise permissions.NotFound
    return invitation


@dataclass(frozen=True)
class InvitationDetail:
    invitation: PeerInvitation
    challenge_names: dict[str, str]
    can_answer: bool
    # The exchange the invitation started, once accepted.
    exchange: Exchange | None = None


async def invitation_detail(user: User, invitation_id: int) -> InvitationDetail:
    """An invitation with what its page shows, and whether the user may answer it now."""
    invitation = await access_invitation(user, invitation_id)
    exchange = None
    if invitation.status == InvitationStatus.ACCEPTED:
        exchange = await Exchange.get_or_none(invitation_id=invitation.id)
    return InvitationDetail(
        invitation=invitation,
        challenge_names=await challenge_names(invitation.request.challenges),
        can_answer=permissions.can_answer_peer_invitation(user, invitation)
        and invitation.status == InvitationStatus.PENDING,
        exchange=exchange,
    )


async def list_invitations(user: User, page: int) -> Page[PeerInvitation]:
    """Invitations addressed to the user's city (staff: all), newest first."""
    permissions.require(permissions.is_signed_in(user))
    query = PeerInvitation.all().select_related("city", "request", "request__city")
    if not permissions.is_staff(user):
        query = query.filter(city_id=user.city_id)  # type: ignore[attr-defined]
    return await paginate(query.order_by("-created_at", "-id"), page)


async def check_answer(
    settings: Settings, user: User, invitation_id: int, accept: bool, reason: str = ""
) -> PeerInvitation:
    """Accept (which creates the exchange and takes a unit of capacity) or decline."""
    invitation = await access_invitation(user, invitation_id)
    permissions.require(permissions.can_answer_peer_invitation(user, invitation))
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ValidationError(
            {"reason": _("Use at most %(count)d characters.") % {"count": MAX_REASON}}
        )
    now = datetime.now(UTC)
    status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    async with in_transaction():
        request = await _locked(invitation.request_id)  # type: ignore[attr-defined]
        answered = await PeerInvitation.filter(
            id=invitation.id, status=InvitationStatus.PENDING, expires_at__gt=now
        ).update(status=status, answered_at=now, answered_by=user, reason=reason)
        if not answered:
            raise Conflict("not_pending", _("This invitation was already answered or expired."))
        peer = invitation.city
        if accept:
            await _take_capacity(peer)
            await Exchange.create(
                request=request,
                invitation=invitation,
                mentor=peer,
                mentee_id=request.city_id,  # type: ignore[attr-defined]
                status=ExchangeStatus.ACTIVE,
                created_at=now,
            )
            message = N_("%(user)s accepted for %(city)s")
        else:
            message = N_("%(user)s declined for %(city)s")
        await _event(request, user, status.value, message, {"user": user.name, "city": peer.name})
        await _refresh_status(request)
        await matching.bump_availability()
        await _tell_requester(settings, request, peer, status, reason)
    outbox.wake_sender()
    invitation.status = status
    return invitation


async def _take_capacity(city: City) -> None:
    """One unit of mentoring capacity, in one conditional UPDATE: never overbooked."""
    taken = await City.filter(id=city.id, capacity_used__lt=F("mentoring_capacity")).update(
        capacity_used=F("capacity_used") + 1
    )
    if taken != 1:
        raise Conflict(
            "no_capacity", _("%(city)s has no free mentoring capacity left.") % {"city": city.name}
        )


async def _free_capacity(city_id: int) -> None:
    await City.filter(id=city_id, capacity_used__gt=0).update(capacity_used=F("capacity_used") - 1)


async def _tell_requester(
    settings: Settings,
    request: MatchRequest,
    peer: City,
    status: InvitationStatus,
    reason: str = "",
) -> None:
    """The requesting side (who filed it and the city's officials): email and notice."""
    subjects = {
        InvitationStatus.ACCEPTED: N_("%(city)s accepted your request for peer support"),
        InvitationStatus.DECLINED: N_("%(city)s declined your request for peer support"),
        InvitationStatus.EXPIRED: N_("Your invitation to %(city)s expired unanswered"),
    }
    subject = subjects[status]
    people = await _requesting_side(request)
    link = f"/requests/{request.id}"
    params = {"city": peer.name}
    await notices.notify(people, f"invitation_{status.value}", subject, params, link)
    for person in people:
        await outbox.queue_email(
            settings,
            to=person.email,
            locale=person.locale,
            subject=subject,
            template="peer_answer",
            context={
                **params,
                "name": person.name,
                "status": status.value,
                "reason": reason,
                "link": settings.base_url + link,
            },
        )


async def _requesting_side(request: MatchRequest) -> list[User]:
    people = {u.id: u for u in await _officials(request.city_id)}  # type: ignore[attr-defined]
    if request.requested_by_id is not None:  # type: ignore[attr-defined]
        filer = await User.get_or_none(id=request.requested_by_id, is_active=True)  # type: ignore[attr-defined]
        if filer is not None:
            people.setdefault(filer.id, filer)
    return [people[k] for k in sorted(people)]


async def _officials(city_id: int) -> list[User]:
    return list(
        await User.filter(city_id=city_id, is_active=True, role=Role.OFFICIAL).order_by("id")
    )


# ------------------------------------------------------------------ expiry


async def expire_invitations(settings: Settings, now: datetime | None = None) -> int:
    """Expire every pending invitation past its date; tell the requesting side.

    Run periodically by the app's background task and by `exchange worker`. Each
    invitation is claimed with a conditional UPDATE, so several runners never double up.
    """
    now = now or datetime.now(UTC)
    due = (
        await PeerInvitation.filter(status=InvitationStatus.PENDING, expires_at__lte=now)
        .select_related("city")
        .order_by("expires_at", "id")
    )
    expired = 0
    for invitation in due:
        async with in_transaction():
            request = await _locked(invitation.request_id)  # type: ignore[attr-defined]
            won = await PeerInvitation.filter(
                id=invitation.id, status=InvitationStatus.PENDING
            ).update(status=InvitationStatus.EXPIRED, answered_at=now)
            if not won:
                continue
            await _event(
                request,
                None,
                "expired",
                N_("The invitation to %(city)s expired"),
                {"city": invitation.city.name},
            )
            await _refresh_status(request)
            await matching.bump_availability()
            await _tell_requester(settings, request, invitation.city, InvitationStatus.EXPIRED)
        expired += 1
    if expired:
        outbox.wake_sender()
    return expired


async def run_expiry(settings: Settings, stop: asyncio.Event, interval: float = 300.0) -> None:
    """Expire invitations every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        try:
            await expire_invitations(settings)
        except Exception:  # keep the loop alive through a database hiccup
            log.exception("Expiring invitations failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


# ------------------------------------------------------------------ ending


async def withdraw_request(user: User, request_id: int) -> MatchRequest:
    """Give up before a match; pending invitations are withdrawn with it."""
    return await _end_request(user, request_id, RequestStatus.WITHDRAWN)


async def close_request(user: User, request_id: int) -> MatchRequest:
    """Stop looking for more peers; exchanges already agreed go on."""
    return await _end_request(user, request_id, RequestStatus.CLOSED)


async def _end_request(user: User, request_id: int, status: RequestStatus) -> MatchRequest:
    request = await access_request(user, request_id)
    permissions.require(permissions.can_manage_match_request(user, request))
    now = datetime.now(UTC)
    async with in_transaction():
        request = await _locked(request.id)
        if request.status in (RequestStatus.CLOSED, RequestStatus.WITHDRAWN):
            raise Conflict("request_ended", _("This request is already closed."))
        has_exchange = await Exchange.exists(request=request)
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
        await _event(request, user, status.value, message, {"user": user.name})
    request.status = status
    return request


async def access_exchange(user: User | None, exchange_id: int) -> Exchange:
    exchange = await Exchange.get_or_none(id=exchange_id).select_related(
        "mentor", "mentee", "request"
    )
    if exchange is None or not permissions.can_view_exchange(user, exchange):
        raise permissions.NotFound
    return exchange


@dataclass(frozen=True)
class SideFeedback:
    """One side's feedback on an exchange, or None values while it is still awaited."""

    city: City
    rating: int | None
    learned: str


@dataclass(frozen=True)
class ExchangeDetail:
    exchange: Exchange
    # The city the user speaks for, when it has already given its feedback.
    feedback_given_by: City | None
    # Staff give feedback on behalf of a city they choose: these are the choices.
    on_behalf_options: list[tuple[str, str]] = field(default_factory=list)
    # Whether the user may still give feedback for some side.
    can_give_feedback: bool = False
    sides: list[SideFeedback] = field(default_factory=list)


async def exchange_detail(user: User, exchange_id: int) -> ExchangeDetail:
    """An exchange, each side's feedback, and for whom the user may still give feedback."""
    exchange = await access_exchange(user, exchange_id)
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
) -> Exchange:
    """Record one side's feedback, once; the first to conclude frees the mentor's capacity.

    Officials answer for their own city. Staff must name the city (`on_behalf_of`, its
    key) they answer for, so their feedback is never taken for a city by guesswork.
    Feedback given is never overwritten: a second attempt for the same side (staff
    included) is a Conflict.
    """
    exchange = await access_exchange(user, exchange_id)
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
    checker.done()
    assert side is not None
    now = datetime.now(UTC)
    city = _city_of(exchange, side)
    async with in_transaction():
        # Conditional on the side's rating still being empty, so two submissions racing
        # for the same side cannot both be recorded.
        recorded = await Exchange.filter(id=exchange.id, **{f"{side}_rating__isnull": True}).update(
            **{f"{side}_rating": value, f"{side}_learned": learned}
        )
        if not recorded:
            raise Conflict(
                "feedback_given",
                _("%(city)s has already given feedback on this exchange.") % {"city": city.name},
            )
        concluded = await Exchange.filter(id=exchange.id, status=ExchangeStatus.ACTIVE).update(
            status=ExchangeStatus.CONCLUDED, concluded_at=now
        )
        if concluded:
            await _free_capacity(exchange.mentor.id)
        request = await _locked(exchange.request.id)
        await _event(
            request,
            user,
            "feedback",
            N_("%(user)s (staff) gave feedback on behalf of %(city)s")
            if by_staff
            else N_("%(user)s concluded the exchange for %(city)s with feedback"),
            {"user": user.name, "city": city.name},
        )
        await _close_when_done(request, now)
        await matching.bump_availability()
        await _tell_about_feedback(exchange, side, by_staff)
    return await Exchange.get(id=exchange.id).select_related("mentor", "mentee", "request")


def _city_of(exchange: Exchange, side: str) -> City:
    return exchange.mentor if side == "mentor" else exchange.mentee


def _own_side(user: User, exchange: Exchange) -> str:
    """The side an official's city is on (access was checked: it is one of them)."""
    return "mentor" if permissions.in_city(user, exchange.mentor.id) else "mentee"


def _chosen_side(checker: Checker, exchange: Exchange, on_behalf_of: str) -> str | None:
    """The side staff chose by city key; a missing or foreign key is a field error."""
    key = on_behalf_of.strip()
    for side in ("mentee", "mentor"):
        if key and _city_of(exchange, side).key == key:
            return side
    checker.fail("on_behalf_of", _("Choose the city you give feedback for."))
    return None


async def _tell_about_feedback(exchange: Exchange, side: str, by_staff: bool) -> None:
    """The other city hears of the feedback; when staff gave it, both cities hear who did."""
    city = _city_of(exchange, side)
    other = exchange.mentee if side == "mentor" else exchange.mentor
    link = f"/exchanges/{exchange.id}"
    if not by_staff:
        await notices.notify(
            await _officials(other.id),
            "exchange_feedback",
            N_("%(city)s gave feedback on your exchange"),
            {"city": city.name},
            link,
        )
        return
    people = await _officials(other.id) + await _officials(city.id)
    await notices.notify(
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
    if await Exchange.exists(request=request, status=ExchangeStatus.ACTIVE):
        return
    await MatchRequest.filter(id=request.id).update(
        status=RequestStatus.CLOSED, closed_at=now, updated_at=now
    )
    await _event(request, None, "closed", N_("Every exchange is concluded: request closed"), {})


# ------------------------------------------------------------------ helpers


async def _city_key(request: MatchRequest) -> str:
    city = await City.get(id=request.city_id)  # type: ignore[attr-defined]
    return city.key


async def _locked(request_id: int) -> MatchRequest:
    """The request row, locked for this transaction (PostgreSQL; SQLite serialises writes)."""
    request = await MatchRequest.filter(id=request_id).select_for_update().first()
    if request is None:
        raise permissions.NotFound
    return request


async def _refresh_status(request: MatchRequest) -> None:
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


async def _event(
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
