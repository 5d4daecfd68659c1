"""The mail circles send, written so that an email can never leak a circle.

A message names no circle and quotes nothing said in one, in its subject or its body:
it says that something happened in "a circle of yours", with a link to sign in and look.
Mail servers, shared inboxes, forwarded messages and the admins' mail page then hold
nothing about a circle but a number in a link.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.expressions import Q

from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import User
from exchange.models.circles import Circle, CircleMembership
from exchange.services import visibility
from exchange.services.unit_of_work import UnitOfWork

SUBJECTS = {
    "news": N_("Something new in a circle of yours"),
    "invitation": N_("You are invited to join a circle"),
    "request": N_("Someone asks to join a circle of yours"),
    "approved": N_("Your request to join a circle is approved"),
    "agreement": N_("A circle of yours has an updated agreement"),
    "removed": N_("You are no longer in a circle"),
    "facilitator": N_("You are now a facilitator of a circle of yours"),
}


def circle_path(circle: Circle | int) -> str:
    circle_id = circle if isinstance(circle, int) else circle.id
    return f"/circles/{circle_id}"


def send(uow: UnitOfWork, user: User, kind: str, path: str) -> None:
    """One generic message of `kind` to `user`, with a link to `path`."""
    uow.email(
        to=user.email,
        locale=user.locale,
        subject=SUBJECTS[kind],
        template="circle",
        context={"kind": kind, "name": user.name, "link": uow.absolute(path)},
    )


async def tell_members_of_news(
    uow: UnitOfWork, circle: Circle, author_id: int, path: str, now: datetime | None = None
) -> int:
    """ "There is something new in a circle of yours" to every other member, once until
    they have looked again: a member who has not visited since the last such email gets
    no second one. Each is claimed by a conditional UPDATE, so two posts at once send one.
    """
    now = now or datetime.now(UTC)
    sent = 0
    for membership in await visibility.current_members(circle):
        if membership.user_id == author_id or not _due(membership):
            continue
        claim = CircleMembership.filter(id=membership.id)
        claim = (
            claim.filter(notified_at__isnull=True)
            if membership.notified_at is None
            else claim.filter(notified_at=membership.notified_at)
        )
        if await claim.update(notified_at=now):
            send(uow, membership.user, "news", path)
            sent += 1
    return sent


def _due(membership: CircleMembership) -> bool:
    if membership.notified_at is None:
        return True
    return membership.last_seen_at is not None and membership.last_seen_at >= membership.notified_at


async def mark_seen(membership: CircleMembership, now: datetime | None = None) -> None:
    """The member looked at the circle: the next news may be mailed again. Writes only
    when a mail is outstanding, so reading a circle is not a write each time."""
    now = now or datetime.now(UTC)
    if membership.notified_at is None:
        return
    if membership.last_seen_at is not None and membership.last_seen_at >= membership.notified_at:
        return
    await CircleMembership.filter(
        Q(id=membership.id), Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now)
    ).update(last_seen_at=now)
