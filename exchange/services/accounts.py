"""Signing in and out, invitations, password resets, settings and user administration.

`check_*` functions validate and then change state in a unit of work, which writes
their mail and audit events in the same transaction and wakes the sender after commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from exchange import metrics
from exchange.i18n import SUPPORTED_LOCALES, gettext_noop
from exchange.i18n import gettext as _
from exchange.models.accounts import Invitation, LoginAttempt, PasswordReset, Role, User
from exchange.models.cities import City
from exchange.models.matching import PersonalAccessToken
from exchange.services import audit, errors, permissions, sessions
from exchange.services.audit import Event
from exchange.services.errors import ValidationError
from exchange.services.pagination import Page, paginate
from exchange.services.secrets import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    burn_verification_time,
    hash_password,
    hash_token,
    needs_rehash,
    new_token,
    verify_password,
)
from exchange.services.unit_of_work import unit_of_work
from exchange.services.validation import Checker, is_email, is_timezone
from exchange.services.validation import normalise_email as normalise_email
from exchange.settings import Settings

INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=1)
THROTTLE_WINDOW = timedelta(minutes=15)
RESET_REQUEST_WINDOW = timedelta(hours=1)
MAX_RESETS_PER_ACCOUNT = 3
MAX_RESETS_PER_ADDRESS = 10
THROTTLE_LOCK = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


class SignInFailed(Exception):
    """Wrong email or password; deliberately says no more than that."""


class SignInThrottled(Exception):
    """Too many failures for this account or address; try again later."""


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_id: str


def check_password_rules(checker: Checker, name: str, password: str, confirm: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        checker.fail(name, _("Use at least %(count)d characters.") % {"count": MIN_PASSWORD_LENGTH})
    elif len(password) > MAX_PASSWORD_LENGTH:
        checker.fail(name, _("That password is too long."))
    elif password != confirm:
        checker.fail("password_confirm", _("The two passwords do not match."))


# Signing in and out


async def check_sign_in(
    settings: Settings,
    email: str,
    password: str,
    ip: str = "",
    user_agent: str = "",
    now: datetime | None = None,
) -> SignedIn:
    """Verify the credentials and start a session, unless throttled.

    Unknown email and wrong password take the same path and time, so the answer never
    tells whether an account exists.
    """
    now = now or datetime.now(UTC)
    email = normalise_email(email)
    if await is_throttled(email, ip, now):
        metrics.LOGINS_THROTTLED.inc()
        await audit.record(Event.SIGN_IN_THROTTLED, email=email, ip=ip)
        raise SignInThrottled
    user = await User.get_or_none(email=email)
    if user is None or not user.is_active:
        await asyncio.to_thread(burn_verification_time, password)
        await record_failure(email, ip, now)
        raise SignInFailed
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        await record_failure(email, ip, now, user)
        raise SignInFailed
    async with unit_of_work() as uow:
        if needs_rehash(user.password_hash):
            user.password_hash = await asyncio.to_thread(hash_password, password)
            await user.save(update_fields=["password_hash", "updated_at"])
        await LoginAttempt.filter(kind="failure", email=email).delete()
        session_id = await sessions.start_session(user, ip, user_agent)
        uow.audit(Event.SIGN_IN, actor=user, subject=user, ip=ip)
    return SignedIn(user, session_id)


async def is_throttled(email: str, ip: str, now: datetime) -> bool:
    locks = LoginAttempt.filter(kind="lock", created_at__gt=now - THROTTLE_LOCK)
    return await locks.filter(Q(email=email, ip="") | Q(ip=ip, email="")).exists()


async def record_failure(email: str, ip: str, now: datetime, user: User | None = None) -> None:
    """Count a failure; the one that reaches a limit locks the account or the address."""
    since = now - THROTTLE_WINDOW
    async with unit_of_work() as uow:
        await LoginAttempt.create(kind="failure", email=email, ip=ip, created_at=now)
        recent = LoginAttempt.filter(kind="failure", created_at__gt=since)
        if await recent.filter(email=email).count() >= MAX_FAILURES_PER_ACCOUNT:
            await LoginAttempt.create(kind="lock", email=email, ip="", created_at=now)
        if ip and await recent.filter(ip=ip).count() >= MAX_FAILURES_PER_ADDRESS:
            await LoginAttempt.create(kind="lock", email="", ip=ip, created_at=now)
        uow.audit(Event.SIGN_IN_FAILED, subject=user, email=email, ip=ip)


async def sign_out(user: User | None, session_id: str, ip: str = "") -> None:
    await sessions.end_session(session_id)
    if user is not None:
        await audit.record(Event.SIGN_OUT, actor=user, subject=user, ip=ip)


# Invitations


async def check_invite(
    settings: Settings,
    inviter: User,
    *,
    email: str,
    name: str,
    role: str,
    city_key: str,
    ip: str = "",
) -> Invitation:
    """Invite a person by email; for officials, to a given city."""
    permissions.require(permissions.can_invite_users(inviter))
    checker = Checker()
    email = normalise_email(email)
    name = name.strip()
    if not is_email(email):
        checker.fail("email", _("Enter a valid email address."))
    elif await User.filter(email=email).exists():
        checker.fail("email", _("Someone with this email already has an account."))
    if not name or len(name) > 120:
        checker.fail("name", _("Enter a name of up to 120 characters."))
    role_value = _parse_role(checker, role)
    city = await _city_for_role(checker, role_value, city_key)
    if role_value is not None and not permissions.can_invite_role(inviter, role_value):
        checker.fail("role", _("You may not invite someone with this role."))
    checker.done()
    assert role_value is not None
    raw, hashed = new_token()
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        # Only the newest link to an address works; older unanswered ones end here.
        await Invitation.filter(email=email, accepted_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        invitation = await Invitation.create(
            token_hash=hashed,
            email=email,
            name=name,
            role=role_value,
            city=city,
            invited_by=inviter,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        uow.email(
            to=email,
            locale=inviter.locale,
            subject=gettext_noop("You are invited to Exchange"),
            template="invitation",
            context={
                "name": name,
                "inviter": inviter.name,
                "city": city.name if city else "",
                "link": f"{settings.base_url}/invitations/{raw}",
                "expires_days": INVITATION_LIFETIME.days,
            },
        )
        uow.audit(
            Event.INVITATION_SENT,
            actor=inviter,
            email=email,
            ip=ip,
            detail={"role": role_value.value, "city": city.key if city else None},
        )
    return invitation


def _parse_role(checker: Checker, role: str) -> Role | None:
    try:
        return Role(role)
    except ValueError:
        checker.fail("role", _("Choose a role."))
        return None


async def _city_for_role(checker: Checker, role: Role | None, city_key: str) -> City | None:
    """Officials belong to exactly one city; staff and admins to none."""
    city_key = city_key.strip()
    city = await City.get_or_none(key=city_key) if city_key else None
    if city_key and city is None:
        checker.fail("city", _("Unknown city."))
    elif role == Role.OFFICIAL and city is None:
        checker.fail("city", _("Choose the city this official works for."))
    return city if role == Role.OFFICIAL else None


async def open_invitation(raw_token: str, now: datetime | None = None) -> Invitation:
    """The invitation behind a link, if it is unused and unexpired; else NotFound."""
    now = now or datetime.now(UTC)
    invitation = await Invitation.get_or_none(token_hash=hash_token(raw_token)).select_related(
        "city"
    )
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= now:
        raise errors.NotFound
    if await User.filter(email=invitation.email).exists():
        raise errors.NotFound
    return invitation


async def check_accept_invitation(
    raw_token: str,
    password: str,
    confirm: str,
    timezone: str,
    ip: str = "",
    user_agent: str = "",
) -> SignedIn:
    """Create the invited account with its password and sign it in."""
    invitation = await open_invitation(raw_token)
    checker = Checker()
    check_password_rules(checker, "password", password, confirm)
    if not is_timezone(timezone):
        checker.fail("timezone", _("Choose a time zone from the list."))
    if await User.filter(email=invitation.email).exists():
        checker.fail("password", _("Someone with this email already has an account."))
    checker.done()
    password_hash = await asyncio.to_thread(hash_password, password)
    now = datetime.now(UTC)
    try:
        async with unit_of_work() as uow:
            # The conditional update makes the token single-use even when two requests race.
            claimed = await Invitation.filter(id=invitation.id, accepted_at__isnull=True).update(
                accepted_at=now
            )
            if not claimed:
                raise errors.NotFound
            user = await User.create(
                email=invitation.email,
                name=invitation.name,
                role=invitation.role,
                city_id=invitation.city_id,
                timezone=timezone,
                password_hash=password_hash,
            )
            uow.audit(Event.INVITATION_ACCEPTED, actor=user, subject=user, ip=ip)
            session_id = await sessions.start_session(user, ip, user_agent)
    except IntegrityError:
        # The same address was given an account at the same moment by another route.
        raise ValidationError(
            {"password": _("Someone with this email already has an account.")}
        ) from None
    return SignedIn(user, session_id)


# Password resets


async def request_password_reset(settings: Settings, email: str, ip: str = "") -> None:
    """Email a reset link if the account exists; the caller's answer is the same either way.

    A few requests an hour per address and per client are honoured; more are recorded
    and ignored, so nobody can flood someone's inbox through this form.
    """
    email = normalise_email(email)
    user = await User.get_or_none(email=email, is_active=True)
    now = datetime.now(UTC)
    recent = LoginAttempt.filter(kind="reset", created_at__gt=now - RESET_REQUEST_WINDOW)
    flooded = await recent.filter(email=email).count() >= MAX_RESETS_PER_ACCOUNT or (
        bool(ip) and await recent.filter(ip=ip).count() >= MAX_RESETS_PER_ADDRESS
    )
    async with unit_of_work(settings) as uow:
        await LoginAttempt.create(kind="reset", email=email, ip=ip, created_at=now)
        uow.audit(
            Event.PASSWORD_RESET_REQUESTED,
            subject=user,
            email=email,
            ip=ip,
            detail={"ignored": "too many requests"} if flooded else {},
        )
        if user is None or flooded:
            return
        raw, hashed = new_token()
        # Only the newest link works, so an old email lying around is worthless.
        await PasswordReset.filter(user_id=user.id, used_at__isnull=True).update(used_at=now)
        await PasswordReset.create(
            token_hash=hashed, user=user, created_at=now, expires_at=now + RESET_LIFETIME
        )
        uow.email(
            to=user.email,
            locale=user.locale,
            subject=gettext_noop("Reset your Exchange password"),
            template="password_reset",
            context={
                "name": user.name,
                "link": f"{settings.base_url}/password/reset/{raw}",
                "expires_minutes": int(RESET_LIFETIME.total_seconds() // 60),
            },
        )


async def open_password_reset(raw_token: str, now: datetime | None = None) -> PasswordReset:
    now = now or datetime.now(UTC)
    reset = await PasswordReset.get_or_none(token_hash=hash_token(raw_token)).select_related("user")
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise errors.NotFound
    if not reset.user.is_active:
        raise errors.NotFound
    return reset


async def check_reset_password(
    raw_token: str, password: str, confirm: str, ip: str = "", now: datetime | None = None
) -> User:
    """Set a new password from a reset link; ends every session of the account."""
    reset = await open_password_reset(raw_token, now)
    checker = Checker()
    check_password_rules(checker, "password", password, confirm)
    checker.done()
    user = reset.user
    password_hash = await asyncio.to_thread(hash_password, password)
    now = datetime.now(UTC)
    async with unit_of_work() as uow:
        used = await PasswordReset.filter(id=reset.id, used_at__isnull=True).update(used_at=now)
        if not used:
            raise errors.NotFound
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash", "updated_at"])
        # A reset is account recovery: whatever an intruder may hold stops working.
        await PasswordReset.filter(user_id=user.id, used_at__isnull=True).update(used_at=now)
        await PersonalAccessToken.filter(user_id=user.id, revoked_at__isnull=True).update(
            revoked_at=now
        )
        await sessions.end_all_sessions(user)
        await LoginAttempt.filter(kind__in=("failure", "lock"), email=user.email).delete()
        uow.audit(Event.PASSWORD_RESET, actor=user, subject=user, ip=ip)
    return user


# Own settings


async def check_change_password(
    user: User, current: str, password: str, confirm: str, ip: str = "", user_agent: str = ""
) -> str:
    """Change one's password; every session ends and this browser gets a new one."""
    checker = Checker()
    if not await asyncio.to_thread(verify_password, user.password_hash, current):
        checker.fail("current_password", _("That is not your current password."))
    check_password_rules(checker, "password", password, confirm)
    checker.done()
    password_hash = await asyncio.to_thread(hash_password, password)
    async with unit_of_work() as uow:
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash", "updated_at"])
        await PasswordReset.filter(user_id=user.id, used_at__isnull=True).update(
            used_at=datetime.now(UTC)
        )
        await sessions.end_all_sessions(user)
        uow.audit(Event.PASSWORD_CHANGED, actor=user, subject=user, ip=ip)
        session_id = await sessions.start_session(user, ip, user_agent)
    return session_id


async def check_update_profile(user: User, *, name: str, timezone: str, locale: str) -> User:
    checker = Checker()
    name = name.strip()
    if not name or len(name) > 120:
        checker.fail("name", _("Enter a name of up to 120 characters."))
    if not is_timezone(timezone):
        checker.fail("timezone", _("Choose a time zone from the list."))
    if locale not in SUPPORTED_LOCALES:
        checker.fail("locale", _("Choose a language from the list."))
    checker.done()
    user.name, user.timezone, user.locale = name, timezone, locale
    await user.save(update_fields=["name", "timezone", "locale", "updated_at"])
    return user


WEEKDAYS = "0123456"


async def check_update_working_hours(
    user: User, *, start: str, end: str, days: Sequence[str]
) -> User:
    """When the user works, in their own zone: what the dialogue slot finder reads."""
    checker = Checker()
    try:
        opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        checker.fail("work_start", _("Give the hours as HH:MM, such as 09:00."))
        opens = closes = time(0)
    if opens >= closes and "work_start" not in checker.errors:
        checker.fail("work_end", _("Working hours must end after they start."))
    chosen = "".join(day for day in WEEKDAYS if day in set(days))
    if not chosen:
        checker.fail("work_days", _("Choose at least one working day."))
    checker.done()
    user.work_start, user.work_end = opens.strftime("%H:%M"), closes.strftime("%H:%M")
    user.work_days = chosen
    await user.save(update_fields=["work_start", "work_end", "work_days", "updated_at"])
    return user


# Administration


async def list_users(viewer: User, page: int, query: str = "") -> Page[User]:
    permissions.require(permissions.can_manage_users(viewer))
    users = User.all().select_related("city")
    if query.strip():
        term = query.strip()
        users = users.filter(Q(email__icontains=term) | Q(name__icontains=term))
    return await paginate(users.order_by("name", "id"), page)


async def user_for_admin(viewer: User, user_id: int) -> User:
    permissions.require(permissions.can_manage_users(viewer))
    user = await User.get_or_none(id=user_id).select_related("city")
    if user is None:
        raise errors.NotFound
    return user


async def check_admin_update_user(
    admin: User, user_id: int, *, role: str, city_key: str, is_active: bool, ip: str = ""
) -> User:
    """Change a user's role, city or active flag; any of these ends their sessions."""
    user = await user_for_admin(admin, user_id)
    checker = Checker()
    role_value = _parse_role(checker, role)
    city = await _city_for_role(checker, role_value, city_key)
    if user.id == admin.id and not is_active:
        checker.fail("is_active", _("You cannot deactivate yourself."))
    elif user.id == admin.id and role_value != Role.ADMIN:
        checker.fail("role", _("You cannot remove your own admin rights."))
    checker.done()
    assert role_value is not None
    old_city_id = user.city_id
    new_city_id = city.id if city else None
    changes: list[tuple[Event, dict[str, object]]] = []
    if user.role != role_value:
        changes.append((Event.ROLE_CHANGED, {"from": user.role.value, "to": role_value.value}))
    if old_city_id != new_city_id:
        changes.append((Event.CITY_CHANGED, {"to": city.key if city else None}))
    if user.is_active != is_active:
        changes.append((Event.REACTIVATED if is_active else Event.DEACTIVATED, {}))
    if not changes:
        return user
    async with unit_of_work() as uow:
        user.role, user.city, user.is_active = role_value, city, is_active
        await user.save(update_fields=["role", "city_id", "is_active", "updated_at"])
        await sessions.end_all_sessions(user)
        for event, detail in changes:
            uow.audit(event, actor=admin, subject=user, ip=ip, detail=detail)
    return user


async def create_user(
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    city_key: str = "",
    timezone: str = "UTC",
) -> User:
    """Create an account directly (the command line's way to make the first admin)."""
    checker = Checker()
    email = normalise_email(email)
    if not is_email(email):
        checker.fail("email", _("Enter a valid email address."))
    elif await User.filter(email=email).exists():
        checker.fail("email", _("Someone with this email already has an account."))
    if not name.strip():
        checker.fail("name", _("Enter a name of up to 120 characters."))
    role_value = _parse_role(checker, role)
    city = await _city_for_role(checker, role_value, city_key)
    check_password_rules(checker, "password", password, password)
    if not is_timezone(timezone):
        checker.fail("timezone", _("Choose a time zone from the list."))
    checker.done()
    assert role_value is not None
    async with unit_of_work() as uow:
        user = await User.create(
            email=email,
            name=name.strip(),
            role=role_value,
            city=city,
            timezone=timezone,
            password_hash=await asyncio.to_thread(hash_password, password),
        )
        uow.audit(Event.USER_CREATED, subject=user, detail={"role": role_value.value})
    return user


__all__ = ["ValidationError"]
