"""Personal access tokens for the JSON API: created and revoked by their owner.

The raw token is shown once, at creation; only its SHA-256 is stored. A revoked token,
or one whose owner is deactivated, stops working at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.matching import PersonalAccessToken
from exchange.services import errors, permissions
from exchange.services.pagination import Page, paginate
from exchange.services.secrets import hash_token, new_token
from exchange.services.validation import Checker

TOKEN_PREFIX = "exch_"  # noqa: S105 (a prefix that marks our tokens, not a secret)
MAX_NAME_LENGTH = 100
# `last_used_at` is written at most this often, so a busy script does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedToken:
    token: PersonalAccessToken
    raw: str


async def check_create_token(user: User, name: str) -> CreatedToken:
    permissions.require(permissions.can_use_api(user))
    name = name.strip()
    checker = Checker()
    if not name:
        checker.fail("name", _("Give the token a name, such as the script that uses it."))
    elif len(name) > MAX_NAME_LENGTH:
        checker.fail("name", _("Use at most %(count)d characters.") % {"count": MAX_NAME_LENGTH})
    checker.done()
    raw, _hash = new_token()
    raw = TOKEN_PREFIX + raw
    token = await PersonalAccessToken.create(
        user=user, name=name, token_hash=hash_token(raw), created_at=datetime.now(UTC)
    )
    return CreatedToken(token=token, raw=raw)


async def list_tokens(user: User, page: int) -> Page[PersonalAccessToken]:
    permissions.require(permissions.can_use_api(user))
    return await paginate(
        PersonalAccessToken.filter(user=user).order_by("-created_at", "-id"), page
    )


async def revoke_token(user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens; someone else's is not found."""
    permissions.require(permissions.can_use_api(user))
    updated = await PersonalAccessToken.filter(
        id=token_id, user=user, revoked_at__isnull=True
    ).update(revoked_at=datetime.now(UTC))
    if not updated and not await PersonalAccessToken.exists(id=token_id, user=user):
        raise errors.NotFound


async def user_for_token(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, inactive)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = await PersonalAccessToken.get_or_none(
        token_hash=hash_token(raw), revoked_at__isnull=True
    ).select_related("user")
    if token is None or not token.user.is_active:
        return None
    now = datetime.now(UTC)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        await PersonalAccessToken.filter(id=token.id).update(last_used_at=now)
    return token.user


MAX_TOKEN_DAYS = 365


async def issue_token(email: str, name: str, days: int) -> CreatedToken:
    """A token for a user, made by an administrator on the server (`exchange create-token`),
    so no password is asked: whoever runs the command already holds the database."""
    user = await User.get_or_none(email=email.strip().lower(), is_active=True)
    if user is None:
        raise errors.NotFound
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise errors.ValidationError(
            {"days": _("Choose from 1 to %(count)d days.") % {"count": MAX_TOKEN_DAYS}}
        )
    return await check_create_token(user, name)
