"""In-app notices: short messages for one user, listed on /notices, counted in the nav."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.matching import Notice
from exchange.services import permissions
from exchange.services.pagination import Page, paginate


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


def notice_text(notice: Notice) -> str:
    """The notice in the current locale."""
    return _(notice.message) % notice.params if notice.params else _(notice.message)


async def unread_count(user: User | None) -> int:
    if not permissions.is_signed_in(user):
        return 0
    return await Notice.filter(user=user, read_at__isnull=True).count()


async def list_notices(user: User, page: int) -> Page[Notice]:
    permissions.require(permissions.is_signed_in(user))
    return await paginate(Notice.filter(user=user).order_by("-created_at", "-id"), page)


async def mark_all_read(user: User) -> int:
    permissions.require(permissions.is_signed_in(user))
    return await Notice.filter(user=user, read_at__isnull=True).update(read_at=datetime.now(UTC))
