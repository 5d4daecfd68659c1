"""Who is in a circle: invitations, requests and approvals, the agreement, leaving and
removal, and naming facilitators.

A place is held from invitation (or approval) on, counted on the circle row
(`seats_taken`) and taken by one conditional UPDATE below the cap with the circle row
locked, so simultaneous approvals never overfill a circle, on either database. Joining
is accepting the circle's current agreement (recorded with its version and time); a new
version asks every member again. Leaving or removal takes effect in the same commit:
access is checked against the database on every request, so open sessions and API tokens
lose the circle at once.

Every membership event is audited with ids only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.expressions import F

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.circles import Circle, CircleMembership, MembershipState
from exchange.services import audit, circle_mail, circle_meetings, permissions, visibility
from exchange.services.circles import circle_to_facilitate
from exchange.services.errors import Conflict, NotFound, ValidationError
from exchange.services.unit_of_work import UnitOfWork, unit_of_work
from exchange.services.validation import is_email, normalise_email
from exchange.services.visibility import InCircle
from exchange.settings import Settings

HOLDS_PLACE = (MembershipState.INVITED, MembershipState.ACTIVE)


async def locked_circle(circle_id: int) -> Circle:
    """The circle row, locked for this transaction (PostgreSQL; SQLite serialises
    writes). Every change to its places takes this lock first."""
    circle = await Circle.filter(id=circle_id).select_for_update().first()
    if circle is None:
        raise NotFound
    return circle


async def _take_place(circle: Circle) -> bool:
    """One place, in one conditional UPDATE: never more than the cap. Expects the circle
    row locked."""
    taken = await Circle.filter(id=circle.id, seats_taken__lt=circle.cap).update(
        seats_taken=F("seats_taken") + 1
    )
    return taken == 1


async def free_place(circle_id: int) -> None:
    await Circle.filter(id=circle_id, seats_taken__gt=0).update(seats_taken=F("seats_taken") - 1)


def _full() -> Conflict:
    return Conflict("circle_full", _("The circle is full: its cap is reached."))


def _event(circle: Circle, **extra: object) -> dict[str, object]:
    return {"circle": circle.id, **extra}


# ------------------------------------------------------------------ coming in


async def check_invite(
    settings: Settings, user: User, circle_id: int, email: str
) -> CircleMembership:
    """A facilitator invites someone with an account; a place is held for them until
    they accept the agreement or decline. Someone who asked to join is approved."""
    member = await circle_to_facilitate(user, circle_id)
    address = normalise_email(email)
    person = await User.get_or_none(email=address, is_active=True) if is_email(address) else None
    if person is None:
        raise ValidationError({"email": _("Give the email address of someone with an account.")})
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        circle = await locked_circle(member.circle.id)
        existing = await CircleMembership.get_or_none(circle_id=circle.id, user_id=person.id)
        if existing is not None and existing.state == MembershipState.ACTIVE:
            raise Conflict("already_member", _("This person is already in the circle."))
        if existing is not None and existing.state == MembershipState.INVITED:
            raise Conflict("already_invited", _("This person is already invited."))
        if not await _take_place(circle):
            raise _full()
        approving = existing is not None and existing.state == MembershipState.REQUESTED
        membership = existing or CircleMembership(
            circle_id=circle.id, user_id=person.id, created_at=now
        )
        membership.state = MembershipState.INVITED
        membership.is_facilitator = False
        membership.agreement_version, membership.agreement_accepted_at = 0, None
        membership.joined_at = membership.ended_at = None
        if not approving:
            membership.created_at = now
        await membership.save()
        uow.audit(
            audit.Event.CIRCLE_JOIN_APPROVED if approving else audit.Event.CIRCLE_INVITED,
            actor=user,
            subject=person,
            detail=_event(circle),
        )
        kind = "approved" if approving else "invitation"
        circle_mail.send(uow, person, kind, circle_mail.circle_path(circle))
    return membership


async def check_request(settings: Settings, user: User, circle_id: int) -> CircleMembership:
    """Ask to join a listed circle; its facilitators are told (without the circle's name)."""
    circle, membership = await visibility.access_circle_outline(user, circle_id)
    if membership is not None:
        raise Conflict("already_asked", _("You are already in this circle, invited or asking."))
    if not permissions.can_ask_to_join(user, circle):
        raise NotFound
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        circle = await locked_circle(circle.id)
        membership = await CircleMembership.get_or_none(circle_id=circle.id, user_id=user.id)
        if membership is not None and membership.state in visibility.OPEN_MEMBERSHIP:
            raise Conflict("already_asked", _("You are already in this circle, invited or asking."))
        membership = membership or CircleMembership(circle_id=circle.id, user_id=user.id)
        membership.state, membership.is_facilitator = MembershipState.REQUESTED, False
        membership.agreement_version, membership.agreement_accepted_at = 0, None
        membership.created_at, membership.joined_at, membership.ended_at = now, None, None
        await membership.save()
        uow.audit(
            audit.Event.CIRCLE_JOIN_REQUESTED, actor=user, subject=user, detail=_event(circle)
        )
        for facilitator in await facilitators(circle):
            circle_mail.send(uow, facilitator.user, "request", f"/circles/{circle.id}/members")
    return membership


async def facilitators(circle: Circle) -> list[CircleMembership]:
    return [m for m in await visibility.current_members(circle) if m.is_facilitator]


async def check_approve(
    settings: Settings, user: User, circle_id: int, user_id: int
) -> CircleMembership:
    """A facilitator approves a request: a place is held and the person is asked to
    accept the agreement. Refused once the circle is full, whatever else runs at once."""
    member = await circle_to_facilitate(user, circle_id)
    async with unit_of_work(settings) as uow:
        circle = await locked_circle(member.circle.id)
        membership = await CircleMembership.get_or_none(
            circle_id=circle.id, user_id=user_id
        ).select_related("user")
        if membership is None or membership.state != MembershipState.REQUESTED:
            raise Conflict("no_request", _("This person has not asked to join."))
        if not await _take_place(circle):
            raise _full()
        moved = await CircleMembership.filter(
            id=membership.id, state=MembershipState.REQUESTED
        ).update(state=MembershipState.INVITED)
        if not moved:
            raise Conflict("no_request", _("This person has not asked to join."))
        membership.state = MembershipState.INVITED
        uow.audit(
            audit.Event.CIRCLE_JOIN_APPROVED,
            actor=user,
            subject=membership.user,
            detail=_event(circle),
        )
        circle_mail.send(uow, membership.user, "approved", circle_mail.circle_path(circle))
    return membership


async def check_decline(
    settings: Settings, user: User, circle_id: int, user_id: int
) -> CircleMembership:
    """A facilitator turns a request down; the person is not told why, nor mailed."""
    member = await circle_to_facilitate(user, circle_id)
    async with unit_of_work(settings) as uow:
        membership = await CircleMembership.get_or_none(
            circle_id=member.circle.id, user_id=user_id, state=MembershipState.REQUESTED
        ).select_related("user")
        if membership is None:
            raise Conflict("no_request", _("This person has not asked to join."))
        membership.state, membership.ended_at = MembershipState.DECLINED, datetime.now(UTC)
        await membership.save(update_fields=["state", "ended_at"])
        uow.audit(
            audit.Event.CIRCLE_JOIN_DECLINED,
            actor=user,
            subject=membership.user,
            detail=_event(member.circle),
        )
    return membership


async def check_join(
    settings: Settings, user: User, circle_id: int, agreement_version: int
) -> CircleMembership:
    """Accept the circle's current agreement: an invited person joins, a member whose
    agreement changed comes back in. The version accepted must be the one in force, so
    nobody agrees to a text they did not see."""
    circle, membership = await visibility.access_circle_outline(user, circle_id)
    if membership is None:
        raise NotFound
    if membership.state == MembershipState.REQUESTED:
        raise Conflict("not_invited", _("A facilitator has not approved your request yet."))
    if agreement_version != circle.agreement_version:
        raise Conflict(
            "agreement_changed",
            _("The agreement has changed since you read it: read the current version."),
        )
    if visibility.is_member(membership, circle):
        return membership
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        circle = await locked_circle(circle.id)
        if circle.agreement_version != agreement_version:
            raise Conflict(
                "agreement_changed",
                _("The agreement has changed since you read it: read the current version."),
            )
        joining = membership.state == MembershipState.INVITED
        moved = await CircleMembership.filter(
            id=membership.id, state=membership.state, agreement_version=membership.agreement_version
        ).update(
            state=MembershipState.ACTIVE,
            agreement_version=agreement_version,
            agreement_accepted_at=now,
            **({"joined_at": now} if joining else {}),
        )
        if not moved:
            raise Conflict("changed", _("Your place in this circle has just changed."))
        membership = await CircleMembership.get(id=membership.id)
        facts = _event(circle)
        if joining:
            uow.audit(audit.Event.CIRCLE_JOINED, actor=user, subject=user, detail=facts)
        uow.audit(
            audit.Event.CIRCLE_AGREEMENT_ACCEPTED,
            actor=user,
            subject=user,
            detail={**facts, "version": agreement_version},
        )
        if joining:
            await circle_meetings.send_upcoming_to(uow, circle, user)
    return membership


# ------------------------------------------------------------------ going out


async def check_leave(settings: Settings, user: User, circle_id: int) -> CircleMembership:
    """Leave (or decline an invitation, or withdraw a request) at any time. When the last
    facilitator leaves a circle that has other members, the longest-standing of them
    takes over, so that nobody is ever kept in a circle to keep it running."""
    circle, membership = await visibility.access_circle_outline(user, circle_id)
    if membership is None:
        raise NotFound
    async with unit_of_work(settings) as uow:
        circle = await locked_circle(circle.id)
        membership = await CircleMembership.get(id=membership.id)
        if membership.state not in visibility.OPEN_MEMBERSHIP:
            raise NotFound
        await hand_over(uow, circle, membership, user)
        await _end(uow, circle, membership, MembershipState.LEFT)
        uow.audit(audit.Event.CIRCLE_LEFT, actor=user, subject=user, detail=_event(circle))
    return membership


async def hand_over(
    uow: UnitOfWork, circle: Circle, leaving: CircleMembership, actor: User | None
) -> None:
    """Before the last facilitator goes, name the longest-standing other member
    facilitator (and tell them). Expects the circle row locked."""
    if not leaving.is_facilitator or leaving.state != MembershipState.ACTIVE:
        return
    others = [m for m in await visibility.current_members(circle) if m.id != leaving.id]
    if not others or any(m.is_facilitator for m in others):
        return
    successor = others[0]
    successor.is_facilitator = True
    await successor.save(update_fields=["is_facilitator"])
    uow.audit(
        audit.Event.CIRCLE_FACILITATOR_NAMED,
        actor=actor,
        subject=successor.user,
        detail=_event(circle),
    )
    circle_mail.send(uow, successor.user, "facilitator", circle_mail.circle_path(circle))


async def check_remove(
    settings: Settings, user: User, circle_id: int, user_id: int
) -> CircleMembership:
    """A facilitator removes someone (a member, or an invitation still open). Their
    access ends with this commit; their calendars lose the circle's coming meetings."""
    member = await circle_to_facilitate(user, circle_id)
    if user_id == user.id:
        raise Conflict("remove_self", _("To leave the circle yourself, use Leave."))
    async with unit_of_work(settings) as uow:
        circle = await locked_circle(member.circle.id)
        membership = await CircleMembership.get_or_none(
            circle_id=circle.id, user_id=user_id, state__in=HOLDS_PLACE
        ).select_related("user")
        if membership is None:
            raise NotFound
        await _end(uow, circle, membership, MembershipState.REMOVED)
        uow.audit(
            audit.Event.CIRCLE_REMOVED, actor=user, subject=membership.user, detail=_event(circle)
        )
        circle_mail.send(uow, membership.user, "removed", "/circles")
    return membership


async def _end(
    uow: UnitOfWork, circle: Circle, membership: CircleMembership, state: MembershipState
) -> None:
    """End a membership. Expects the circle row locked."""
    was = membership.state
    membership.state, membership.ended_at = state, datetime.now(UTC)
    membership.is_facilitator = False
    await membership.save(update_fields=["state", "ended_at", "is_facilitator"])
    if was in HOLDS_PLACE:
        await free_place(circle.id)
    if was == MembershipState.ACTIVE:
        user = await User.get(id=membership.user_id)
        await circle_meetings.cancel_upcoming_for(uow, circle, user)


async def check_name_facilitator(
    settings: Settings, user: User, circle_id: int, user_id: int
) -> CircleMembership:
    """A facilitator names another member facilitator too."""
    member = await circle_to_facilitate(user, circle_id)
    async with unit_of_work(settings) as uow:
        target = next(
            (m for m in await visibility.current_members(member.circle) if m.user_id == user_id),
            None,
        )
        if target is None:
            raise NotFound
        if not target.is_facilitator:
            target.is_facilitator = True
            await target.save(update_fields=["is_facilitator"])
            uow.audit(
                audit.Event.CIRCLE_FACILITATOR_NAMED,
                actor=user,
                subject=target.user,
                detail=_event(member.circle),
            )
    return target


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class MemberList:
    member: InCircle
    members: list[CircleMembership]
    # For facilitators only: places held for people who have not agreed yet, and requests.
    invited: list[CircleMembership] = field(default_factory=list)
    requests: list[CircleMembership] = field(default_factory=list)
    may_facilitate: bool = False


async def member_list(user: User, circle_id: int) -> MemberList:
    """The members, seen by members alone; facilitators also see who is invited and who
    asks to join."""
    member = await visibility.access_circle(user, circle_id)
    may = permissions.can_facilitate(user, member.membership)
    pending: list[CircleMembership] = []
    if may:
        pending = list(
            await CircleMembership.filter(
                circle_id=member.circle.id,
                state__in=(
                    MembershipState.INVITED,
                    MembershipState.REQUESTED,
                    MembershipState.ACTIVE,
                ),
            )
            .exclude(agreement_version=member.circle.agreement_version)
            .select_related("user")
            .order_by("created_at", "id")
        )
    return MemberList(
        member=member,
        members=await visibility.current_members(member.circle),
        invited=[m for m in pending if m.state != MembershipState.REQUESTED],
        requests=[m for m in pending if m.state == MembershipState.REQUESTED],
        may_facilitate=may,
    )
