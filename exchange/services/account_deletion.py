"""Deleting an account: the person's circle posts and check-ins go with it, for good.

In one transaction: the summaries of every closed check-in period the person took part in
are kept as they stand (so the deletion cannot be read off a changed figure), their
check-ins and posts are deleted, a thread they opened loses its title (or goes entirely
when nobody else wrote in it), the places they held in circles and dialogues are given
back (a circle's last facilitator handing over as when leaving), and the account goes
with its sessions, tokens and notices. The audit log keeps the fact, with ids only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tortoise.expressions import F

from exchange.i18n import gettext as _
from exchange.models.accounts import Role, User
from exchange.models.circles import (
    Circle,
    CircleCheckIn,
    CircleMembership,
    CirclePost,
    CircleThread,
)
from exchange.models.dialogues import Dialogue, Invitee, Seat
from exchange.services import audit, checkins, permissions
from exchange.services.circle_members import HOLDS_PLACE, free_place, hand_over, locked_circle
from exchange.services.errors import Conflict, NotFound, ValidationError
from exchange.services.rsvp import promote_waiting
from exchange.services.secrets import verify_password
from exchange.services.unit_of_work import UnitOfWork, unit_of_work
from exchange.settings import Settings


async def check_delete_own_account(
    settings: Settings, user: User, password: str, confirm: bool
) -> None:
    """The user deletes their own account, with their password and a ticked box."""
    permissions.require(permissions.is_signed_in(user))
    errors: dict[str, str] = {}
    if not confirm:
        errors["confirm"] = _("Tick the box to confirm that everything is to be deleted.")
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        errors["password"] = _("The password is not right.")
    if errors:
        raise ValidationError(errors)
    await delete_account(settings, user, user.id)


async def delete_account(settings: Settings, actor: User, user_id: int) -> None:
    """Delete an account and what it wrote in circles (see the module docstring)."""
    subject = await User.get_or_none(id=user_id)
    if subject is None:
        raise NotFound
    permissions.require(permissions.can_delete_account(actor, subject))
    if subject.role == Role.ADMIN and subject.is_active:
        admins = await User.filter(role=Role.ADMIN, is_active=True).count()
        if admins <= 1:
            raise Conflict("last_admin", _("The last administrator cannot be deleted."))
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        await _delete_circle_traces(uow, subject, now)
        await _give_back_dialogue_seats(uow, subject)
        uow.audit(
            audit.Event.ACCOUNT_DELETED,
            actor=None if actor.id == subject.id else actor,
            detail={"user": subject.id},
        )
        await subject.delete()


async def _delete_circle_traces(uow: UnitOfWork, user: User, now: datetime) -> None:
    circle_ids = set(
        await CircleCheckIn.filter(user_id=user.id).values_list("circle_id", flat=True)
    )
    for circle in await Circle.filter(id__in=list(circle_ids)):
        await checkins.freeze(circle, now)
    await CircleCheckIn.filter(user_id=user.id).delete()
    for thread in await CircleThread.filter(author_id=user.id):
        if await CirclePost.filter(thread_id=thread.id).exclude(author_id=user.id).exists():
            await CircleThread.filter(id=thread.id).update(title="", author_id=None)
        else:
            await thread.delete()
    await CirclePost.filter(author_id=user.id).delete()
    for membership in await CircleMembership.filter(user_id=user.id, state__in=HOLDS_PLACE):
        circle = await locked_circle(membership.circle_id)
        await hand_over(uow, circle, membership, None)
        await free_place(circle.id)
    await CircleMembership.filter(user_id=user.id).delete()


async def _give_back_dialogue_seats(uow: UnitOfWork, user: User) -> None:
    """A confirmed seat goes to the first person waiting, as when someone says no."""
    for invitee in await Invitee.filter(user_id=user.id, seat=Seat.CONFIRMED):
        dialogue = await Dialogue.filter(id=invitee.dialogue_id).select_for_update().first()
        if dialogue is None:
            continue
        await Invitee.filter(id=invitee.id).update(seat=Seat.REMOVED)
        await Dialogue.filter(id=dialogue.id, seats_taken__gt=0).update(
            seats_taken=F("seats_taken") - 1
        )
        await promote_waiting(uow, dialogue)
