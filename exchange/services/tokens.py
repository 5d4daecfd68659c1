"""Personal access tokens for the JSON API: created and revoked by their owner.

The raw token is shown once, at creation; only its SHA-256 is stored. Creating one asks
for the owner's password again. Every token expires (90 days unless its owner chooses
otherwise, at most a year). A revoked or expired token, or one whose owner is
deactivated, stops working at once; a change of password, role, city or active flag
revokes all of the owner's tokens (see `services/accounts.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop
from exchange.models.accounts import User
from exchange.models.matching import PersonalAccessToken
from exchange.services import errors, permissions
from exchange.services.accounts import check_own_password
from exchange.services.audit import Event
from exchange.services.pagination import Page, paginate
from exchange.services.secrets import hash_token, new_token
from exchange.services.unit_of_work import UnitOfWork, unit_of_work
from exchange.services.validation import Checker, check_text
from exchange.settings import Settings

TOKEN_PREFIX = "exch_"  # noqa: S105 (a prefix that marks our tokens, not a secret)
MAX_NAME_LENGTH = 100
DEFAULT_LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 365
# The lifetimes the form offers; the service accepts any whole number of days up to a year.
LIFETIME_CHOICES = (7, 30, 90, 180, 365)
# `last_used_at` is written at most this often, so a busy script does not write on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedToken:
    token: PersonalAccessToken
    raw: str


def _lifetime(checker: Checker, raw: int | str) -> int:
    """Days from creation to expiry; blank means the default."""
    text = str(raw).strip()
    if not text:
        return DEFAULT_LIFETIME_DAYS
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        checker.fail(
            "expires_days",
            _("Choose a lifetime between 1 and %(count)d days.") % {"count": MAX_LIFETIME_DAYS},
        )
    return days


async def check_create_token(
    settings: Settings,
    user: User,
    name: str,
    password: str,
    expires_days: int | str = DEFAULT_LIFETIME_DAYS,
    ip: str = "",
) -> CreatedToken:
    """Create a token after the owner confirms their password; the owner is told by email."""
    permissions.require(permissions.can_use_api(user))
    name = name.strip()
    checker = Checker()
    if not name:
        checker.fail("name", _("Give the token a name, such as the script that uses it."))
    elif len(name) > MAX_NAME_LENGTH:
        checker.fail("name", _("Use at most %(count)d characters.") % {"count": MAX_NAME_LENGTH})
    check_text(checker, "name", name)
    days = _lifetime(checker, expires_days)
    if not checker.errors:
        # Only a request that could succeed spends a check of the password budget.
        await check_own_password(checker, "password", user, password)
    checker.done()
    async with unit_of_work(settings) as uow:
        return await do_create_token(uow, user, name, days, ip)


async def do_create_token(
    uow: UnitOfWork, user: User, name: str, days: int, ip: str = ""
) -> CreatedToken:
    """Store a new token (its hash) and tell its owner by email. Expects a checked name
    and lifetime; the raw token is returned once and kept nowhere."""
    raw, _hash = new_token()
    raw = TOKEN_PREFIX + raw
    now = datetime.now(UTC)
    token = await PersonalAccessToken.create(
        user=user,
        name=name,
        token_hash=hash_token(raw),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    uow.audit(Event.TOKEN_CREATED, actor=user, subject=user, ip=ip, detail={"token": token.id})
    uow.email(
        to=user.email,
        locale=user.locale,
        subject=gettext_noop("A new API token for your Exchange account"),
        template="token_created",
        # The name and dates only: the token itself never goes into mail.
        context={
            "name": user.name,
            "token_name": token.name,
            "created_at": now,
            "expires_at": token.expires_at,
            "timezone": user.timezone,
            "ip": ip,
            "link": uow.absolute("/settings/tokens"),
        },
    )
    return CreatedToken(token=token, raw=raw)


async def list_tokens(user: User, page: int) -> Page[PersonalAccessToken]:
    permissions.require(permissions.can_use_api(user))
    return await paginate(
        PersonalAccessToken.filter(user=user).order_by("-created_at", "-id"), page
    )


def is_expired(token: PersonalAccessToken, now: datetime | None = None) -> bool:
    return token.expires_at is None or token.expires_at <= (now or datetime.now(UTC))


async def revoke_token(user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens; someone else's is not found."""
    permissions.require(permissions.can_use_api(user))
    updated = await PersonalAccessToken.filter(
        id=token_id, user=user, revoked_at__isnull=True
    ).update(revoked_at=datetime.now(UTC))
    if not updated and not await PersonalAccessToken.exists(id=token_id, user=user):
        raise errors.NotFound


async def user_for_token(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, expired,
    inactive)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    now = datetime.now(UTC)
    token = await PersonalAccessToken.get_or_none(
        token_hash=hash_token(raw), revoked_at__isnull=True, expires_at__gt=now
    ).select_related("user")
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        await PersonalAccessToken.filter(id=token.id).update(last_used_at=now)
    return token.user


async def issue_token(settings: Settings, email: str, name: str, days: int) -> CreatedToken:
    """A token for a user, made by an administrator on the server (`exchange create-token`),
    so no password is asked: whoever runs the command already holds the database. The
    owner is told by email, as for a token they make themselves."""
    user = await User.get_or_none(email=email.strip().lower(), is_active=True)
    if user is None:
        raise errors.NotFound
    checker = Checker()
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        checker.fail("name", _("Give the token a name, such as the script that uses it."))
    check_text(checker, "name", name)
    lifetime = _lifetime(checker, days)
    checker.done()
    async with unit_of_work(settings) as uow:
        return await do_create_token(uow, user, name, lifetime)
