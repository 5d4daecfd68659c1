"""Peer invitations: asking a ranked city for help, its answer, and expiry.

Accepting takes one unit of the peer's capacity (`services/capacity.py`) and starts an
exchange in the same transaction as the answer, with the request row locked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from exchange import i18n
from exchange.domain.matching import Reason
from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import Role, User
from exchange.models.cities import City
from exchange.models.matching import (
    DeclineReason,
    ExchangeStatus,
    InvitationStatus,
    MatchRequest,
    PeerExchange,
    PeerInvitation,
)
from exchange.services import labels, matching, permissions, taxonomy, visibility
from exchange.services.candidates import invitation_reasons, place_of, rank_candidates
from exchange.services.capacity import take_capacity
from exchange.services.errors import Conflict, ValidationError
from exchange.services.match_requests import (
    OPEN_STATUSES,
    challenge_names,
    invitations_left,
    locked_request,
    officials_of,
    record_event,
    refresh_status,
    requesting_side,
)
from exchange.services.pagination import Page, paginate
from exchange.services.periodic import repeat
from exchange.services.unit_of_work import UnitOfWork, unit_of_work
from exchange.services.validation import control_character_message, is_clean
from exchange.settings import Settings

log = logging.getLogger("exchange.invitations")


MAX_REASON = 2_000

#: The timeline's sentence for a decline, by its reason code.
DECLINE_EVENTS = {
    DeclineReason.NO_CAPACITY: N_("%(user)s declined for %(city)s: no capacity at the moment"),
    DeclineReason.NOT_OUR_EXPERIENCE: N_("%(user)s declined for %(city)s: not their experience"),
    DeclineReason.TIMING: N_("%(user)s declined for %(city)s: the timing does not suit"),
    DeclineReason.OTHER: N_("%(user)s declined for %(city)s"),
}


async def check_invite_peer(
    settings: Settings, user: User, request_id: int, city_key: str, override_reason: str = ""
) -> PeerInvitation:
    """Invite a peer city; its officials get an email and a notice.

    The city's place among the ranked candidates is recorded. Staff inviting past a
    higher-ranked candidate, or a city outside the list, override the ranking: they give
    a reason, recorded on the invitation and in the timeline, and shown on the dashboard.
    """
    request = await visibility.access_request(user, request_id)
    permissions.require(permissions.can_manage_match_request(user, request))
    key = city_key.strip()
    peer = await City.get_or_none(key=key) if key and is_clean(key) else None
    if peer is None:
        raise ValidationError({"city": _("Choose a city to invite.")})
    if peer.id == request.city_id:
        raise ValidationError({"city": _("A city cannot be its own peer.")})
    # Ranking may wait for an index rebuild: do it before taking the request's row lock.
    # Place, score and reasons are recorded on the invitation as the ranking saw them.
    invitations = await PeerInvitation.filter(request=request)
    rank, score, reasons = await place_of(request, peer, invitations)
    override = override_reason.strip()
    if len(override) > MAX_REASON or not is_clean(override, multiline=True):
        raise ValidationError({"override_reason": control_character_message(multiline=True)})
    if user.role in (Role.STAFF, Role.ADMIN) and rank != 1 and not override:
        raise ValidationError(
            {
                "override_reason": _(
                    "Say why you invite this city rather than the first-ranked candidate."
                )
            }
        )
    if rank == 1:
        override = ""
    async with unit_of_work(settings) as uow:
        request = await locked_request(request.id)
        return await do_invite_peer(
            uow,
            user,
            request,
            peer,
            score,
            datetime.now(UTC),
            rank=rank,
            override_reason=override,
            reasons=reasons,
        )


async def do_invite_peer(
    uow: UnitOfWork,
    user: User | None,
    request: MatchRequest,
    peer: City,
    score: float | None,
    now: datetime,
    rank: int | None = None,
    override_reason: str = "",
    reasons: Sequence[Reason] = (),
) -> PeerInvitation:
    """Invite `peer` to help with `request`, or refuse with a Conflict.

    Expects the request row locked (`locked_request`) in the unit's transaction, so that
    two invitations racing for the last wanted peer cannot both be sent.
    """
    assert uow.settings is not None
    invitations = await PeerInvitation.filter(request=request)
    if request.status not in OPEN_STATUSES:
        raise Conflict("request_not_open", _("This request no longer takes invitations."))
    if invitations_left(request, invitations) < 1:
        raise Conflict(
            "enough_invited",
            _("As many cities as wanted are already invited or have accepted."),
        )
    if any(i.city_id == peer.id for i in invitations):
        raise Conflict("already_invited", _("%(city)s was already invited.") % {"city": peer.name})
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
        rank=rank,
        override_reason=override_reason,
        automatic=user is None,
        match_reasons=matching.stored_reasons(reasons),
        created_at=now,
        expires_at=now + timedelta(days=uow.settings.invitation_expiry_days),
    )
    officials = await officials_of(peer.id)
    if user is None:
        message = N_("%(city)s was invited automatically, as the next-ranked peer")
    elif officials:
        message = N_("%(user)s invited %(city)s")
    else:
        message = N_(
            "%(user)s invited %(city)s, which has no official on Exchange yet: nobody was emailed"
        )
    params = {"user": user.name if user else "", "city": peer.name}
    await record_event(request, user, "invited", message, params)
    if override_reason:
        await record_event(
            request,
            user,
            "override",
            N_("%(user)s invited %(city)s over the ranking: %(reason)s"),
            {**params, "reason": override_reason},
        )
    await refresh_status(request)
    if officials:
        await _tell_invited_city(uow, invitation, request, peer, officials)
    else:
        await _tell_staff_nobody_answers(uow, user, invitation, peer)
    return invitation


async def _tell_staff_nobody_answers(
    uow: UnitOfWork, user: User | None, invitation: PeerInvitation, peer: City
) -> None:
    """An invited city without officials hears nothing: staff must answer for it."""
    staff = await User.filter(is_active=True, role__in=(Role.STAFF, Role.ADMIN)).order_by("id")
    uow.notify(
        [member for member in staff if user is None or member.id != user.id],
        "invited_without_official",
        N_(
            "%(city)s was invited but has no official on Exchange yet: "
            "staff will need to answer for this city"
        ),
        {"city": peer.name},
        f"/peer-invitations/{invitation.id}",
    )


async def _tell_invited_city(
    uow: UnitOfWork,
    invitation: PeerInvitation,
    request: MatchRequest,
    peer: City,
    officials: list[User],
) -> None:
    """The invited city's officials: a notice and an email each."""
    requester = await City.get(id=request.city_id)
    link = f"/peer-invitations/{invitation.id}"
    params = {"city": requester.name}
    uow.notify(
        officials, "peer_invitation", N_("%(city)s asks your city for peer support"), params, link
    )
    terms = await taxonomy.current()
    for official in officials:
        # Names and labels in the official's language, times on the official's clock.
        with i18n.use_locale(official.locale):
            format_text = labels.format_label(request.format.value)
            challenges = [terms.name(slug) for slug in request.challenges]
        uow.email(
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
                "expires_at": invitation.expires_at,
                "timezone": official.timezone,
                "link": uow.absolute(link),
            },
        )


@dataclass(frozen=True)
class InvitationDetail:
    invitation: PeerInvitation
    challenge_names: dict[str, str]
    can_answer: bool
    # Why the city was proposed, as kept when it was invited.
    reasons: list[str]
    # The exchange the invitation started, once accepted.
    exchange: PeerExchange | None = None


async def invitation_detail(user: User, invitation_id: int) -> InvitationDetail:
    """An invitation with what its page shows, and whether the user may answer it now."""
    invitation = await visibility.access_invitation(user, invitation_id)
    exchange = None
    if invitation.status == InvitationStatus.ACCEPTED:
        exchange = await PeerExchange.get_or_none(invitation_id=invitation.id)
    return InvitationDetail(
        invitation=invitation,
        challenge_names=await challenge_names(invitation.request.challenges),
        reasons=await invitation_reasons(invitation),
        can_answer=permissions.can_answer_peer_invitation(user, invitation)
        and invitation.status == InvitationStatus.PENDING,
        exchange=exchange,
    )


async def list_invitations(user: User, page: int) -> Page[PeerInvitation]:
    """Invitations addressed to the user's city (staff: all), newest first."""
    permissions.require(permissions.is_signed_in(user))
    query = visibility.invitations_to_own_city(user).select_related(
        "city", "request", "request__city"
    )
    return await paginate(query.order_by("-created_at", "-id"), page)


def parse_decline_reason(value: str) -> DeclineReason:
    """A decline's reason code; none given counts as "other"."""
    value = value.strip()
    if not value:
        return DeclineReason.OTHER
    try:
        return DeclineReason(value)
    except ValueError:
        raise ValidationError({"decline_reason": _("Choose why your city declines.")}) from None


async def check_answer(
    settings: Settings,
    user: User,
    invitation_id: int,
    accept: bool,
    reason: str = "",
    decline_reason: str = "",
) -> PeerInvitation:
    """Accept (which creates the exchange and takes a unit of capacity) or decline, with
    a reason code the ranking reads (`DeclineReason`). A declined request that asked for
    it invites the next-ranked peer (`invite_next`)."""
    invitation = await visibility.access_invitation(user, invitation_id)
    permissions.require(permissions.can_answer_peer_invitation(user, invitation))
    code = None if accept else parse_decline_reason(decline_reason)
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ValidationError(
            {"reason": _("Use at most %(count)d characters.") % {"count": MAX_REASON}}
        )
    if not is_clean(reason, multiline=True):
        raise ValidationError({"reason": control_character_message(multiline=True)})
    async with unit_of_work(settings) as uow:
        request = await locked_request(invitation.request_id)
        invitation.status = await do_answer(
            uow, user, request, invitation, accept, reason, datetime.now(UTC), code
        )
    if not accept:
        await invite_next(settings, invitation.request_id)
    return invitation


async def do_answer(
    uow: UnitOfWork,
    user: User,
    request: MatchRequest,
    invitation: PeerInvitation,
    accept: bool,
    reason: str,
    now: datetime,
    decline_reason: DeclineReason | None = None,
) -> InvitationStatus:
    """Record the answer; an acceptance takes a unit of the peer's capacity and starts the
    exchange. Expects the request row locked (`locked_request`); the invitation itself is
    claimed by a conditional UPDATE, so an answer racing expiry or another answer loses.
    """
    status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    answered = await PeerInvitation.filter(
        id=invitation.id, status=InvitationStatus.PENDING, expires_at__gt=now
    ).update(
        status=status,
        answered_at=now,
        answered_by=user,
        reason=reason,
        decline_reason=None if accept else decline_reason or DeclineReason.OTHER,
    )
    if not answered:
        raise Conflict("not_pending", _("This invitation was already answered or expired."))
    peer = invitation.city
    if accept:
        await take_capacity(peer)
        await PeerExchange.create(
            request=request,
            invitation=invitation,
            mentor=peer,
            mentee_id=request.city_id,
            status=ExchangeStatus.ACTIVE,
            created_at=now,
        )
        message = N_("%(user)s accepted for %(city)s")
    else:
        message = DECLINE_EVENTS[decline_reason or DeclineReason.OTHER]
    await record_event(request, user, status.value, message, {"user": user.name, "city": peer.name})
    await refresh_status(request)
    uow.availability_changed()
    await _tell_requester(uow, request, peer, status, reason)
    return status


async def _tell_requester(
    uow: UnitOfWork,
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
    people = await requesting_side(request)
    link = f"/requests/{request.id}"
    params = {"city": peer.name}
    uow.notify(people, f"invitation_{status.value}", subject, params, link)
    for person in people:
        uow.email(
            to=person.email,
            locale=person.locale,
            subject=subject,
            template="peer_answer",
            context={
                **params,
                "name": person.name,
                "status": status.value,
                "reason": reason,
                "link": uow.absolute(link),
            },
        )


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
        async with unit_of_work(settings) as uow:
            request = await locked_request(invitation.request_id)
            won = await PeerInvitation.filter(
                id=invitation.id, status=InvitationStatus.PENDING
            ).update(status=InvitationStatus.EXPIRED, answered_at=now)
            if not won:
                continue
            await record_event(
                request,
                None,
                "expired",
                N_("The invitation to %(city)s expired"),
                {"city": invitation.city.name},
            )
            await refresh_status(request)
            uow.availability_changed()
            await _tell_requester(uow, request, invitation.city, InvitationStatus.EXPIRED)
        expired += 1
        await invite_next(settings, invitation.request_id)
    return expired


async def invite_next(settings: Settings, request_id: int) -> PeerInvitation | None:
    """Automatic fallback: when the request asks for it and still wants peers, invite the
    next-ranked candidate not yet invited. The timeline says it was automatic."""
    request = await MatchRequest.get_or_none(id=request_id)
    if request is None or not request.auto_fallback or request.status not in OPEN_STATUSES:
        return None
    invitations = list(await PeerInvitation.filter(request=request))
    if invitations_left(request, invitations) < 1:
        return None
    # Ranking may wait for a rebuild: before the row lock, as for a person's invitation.
    ranked = await rank_candidates(request, invitations)
    invitable = [c for c in ranked if c.free_capacity > 0]
    if not invitable:
        return None
    choice = invitable[0]
    async with unit_of_work(settings) as uow:
        request = await locked_request(request.id)
        try:
            return await do_invite_peer(
                uow,
                None,
                request,
                choice.city,
                choice.score,
                datetime.now(UTC),
                rank=1,
                reasons=choice.found,
            )
        except Conflict:
            return None  # someone was quicker: the request no longer wants this one


async def run_expiry(settings: Settings, stop: asyncio.Event, interval: float = 300.0) -> None:
    """Expire invitations every `interval` seconds until `stop` is set."""
    await repeat(lambda: expire_invitations(settings), stop, interval, log, "Expiring invitations")
