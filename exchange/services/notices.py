"""In-app notices: short messages for one user, listed on /notices, counted in the nav."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import Role, User
from exchange.models.matching import InvitationStatus, Notice, PeerInvitation
from exchange.services import permissions
from exchange.services.committed_state import KeptUnderState
from exchange.services.pagination import Page, paginate

if TYPE_CHECKING:  # the unit of work writes notices through this module
    from exchange.services.unit_of_work import UnitOfWork


async def notify(
    users: Iterable[User], kind: str, message: str, params: dict[str, Any], link: str = ""
) -> None:
    """Leave a notice for each user. `message` is untranslated (`gettext_noop`)."""
    now = datetime.now(UTC)
    rows = [
        Notice(user=user, kind=kind, message=message, params=params, link=link, created_at=now)
        for user in users
    ]
    if rows:
        await Notice.bulk_create(rows)


async def tell_of_waiting_invitations(uow: UnitOfWork, user: User, now: datetime) -> int:
    """A person who has just joined a city as its official (an invitation accepted, an
    admin's assignment) hears of the peer invitations waiting for the city's answer, as
    its other officials did when they were sent. Returns how many."""
    if not user.is_active or user.role != Role.OFFICIAL or user.city_id is None:
        return 0
    waiting = await (
        PeerInvitation.filter(
            city_id=user.city_id, status=InvitationStatus.PENDING, expires_at__gt=now
        )
        .select_related("request__city")
        .order_by("expires_at", "id")
    )
    for invitation in waiting:
        uow.notify(
            [user],
            "peer_invitation",
            N_("%(city)s asks your city for peer support: the invitation waits for an answer"),
            {"city": invitation.request.city.name},
            f"/peer-invitations/{invitation.id}",
        )
    return len(waiting)


def notice_text(notice: Notice) -> str:
    """The notice in the current locale."""
    return _(notice.message) % notice.params if notice.params else _(notice.message)


# Unread counts as read under the latest committed state.
_unread: KeptUnderState[int, int] = KeptUnderState(max_items=10_000)


async def unread_count(user: User | None, state: str | None = None) -> int:
    """`state`: the committed state the request named before asking (`committed_state`)."""
    if user is None or not permissions.is_signed_in(user):
        return 0
    count = _unread.get(state, user.id)
    if count is None:
        count = await Notice.filter(user=user, read_at__isnull=True).count()
        _unread.keep(state, user.id, count)
    return count


async def list_notices(user: User, page: int) -> Page[Notice]:
    permissions.require(permissions.is_signed_in(user))
    return await paginate(Notice.filter(user=user).order_by("-created_at", "-id"), page)


async def mark_all_read(user: User) -> int:
    permissions.require(permissions.is_signed_in(user))
    return await Notice.filter(user=user, read_at__isnull=True).update(read_at=datetime.now(UTC))
