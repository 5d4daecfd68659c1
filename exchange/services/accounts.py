"""Signing in and out, invitations, password resets, settings and user administration.

`check_*` functions validate and then change state in a unit of work, which writes
their mail and audit events in the same transaction and wakes the sender after commit.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from tortoise.exceptions import IntegrityError

from exchange import metrics
from exchange.i18n import SUPPORTED_LOCALES, gettext_noop
from exchange.i18n import gettext as _
from exchange.models.accounts import Invitation, LoginAttempt, PasswordReset, Role, User
from exchange.models.cities import City
from exchange.models.matching import PersonalAccessToken
from exchange.services import (
    audit,
    errors,
    notices,
    permissions,
    sessions,
    throttling,
    time_zones,
)
from exchange.services.audit import Event
from exchange.services.errors import ValidationError
from exchange.services.secrets import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    burn_verification_time,
    hash_password,
    hash_token,
    is_guessable,
    needs_rehash,
    new_token,
    verify_password,
)
from exchange.services.unit_of_work import UnitOfWork, unit_of_work
from exchange.services.validation import (
    Checker,
    check_text,
    is_clean,
    is_email,
    printable,
)
from exchange.services.validation import normalise_email as normalise_email
from exchange.settings import Settings

INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=1)
RESET_REQUEST_WINDOW = timedelta(hours=1)
MAX_RESETS_PER_ACCOUNT = 3
MAX_RESETS_PER_ADDRESS = 10


class SignInFailed(Exception):
    """Wrong email or password; deliberately says no more than that."""


class SignInThrottled(Exception):
    """Too many failures for this account or address; try again later."""


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_id: str


async def check_password_rules(
    checker: Checker, name: str, password: str, confirm: str, personal: tuple[str, ...]
) -> None:
    """Long enough, not too long, hard to guess (`secrets.is_guessable`, which also knows
    the person's own email and name, `personal`), and typed the same twice."""
    if len(re.sub(" {2,}", " ", password)) < MIN_PASSWORD_LENGTH:
        checker.fail(name, _("Use at least %(count)d characters.") % {"count": MIN_PASSWORD_LENGTH})
    elif len(password) > MAX_PASSWORD_LENGTH:
        checker.fail(name, _("That password is too long."))
    elif await asyncio.to_thread(is_guessable, password, personal):
        checker.fail(
            name,
            _(
                "This password is too easy to guess. Avoid common passwords, names, dates and "
                "keyboard patterns: a few unrelated words make a strong one."
            ),
        )
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

    The check is taken from the account's and the address's budgets before the password
    is verified (`services/throttling.py`), so parallel attempts cannot outrun the limit.
    Unknown email and wrong password take the same path and time, so the answer never
    tells whether an account exists.
    """
    now = now or datetime.now(UTC)
    # An address with control characters names no account; it is still throttled.
    email = printable(normalise_email(email))
    reservation = await throttling.reserve_sign_in(email, ip, now)
    if reservation is None:
        metrics.LOGINS_THROTTLED.inc()
        await audit.record(Event.SIGN_IN_THROTTLED, email=email, ip=ip)
        raise SignInThrottled
    user = await User.get_or_none(email=email)
    if user is None or not user.is_active:
        await asyncio.to_thread(burn_verification_time, password)
        await audit.record(Event.SIGN_IN_FAILED, email=email, ip=ip)
        raise SignInFailed
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        await audit.record(Event.SIGN_IN_FAILED, subject=user, email=email, ip=ip)
        raise SignInFailed
    async with unit_of_work() as uow:
        if needs_rehash(user.password_hash):
            user.password_hash = await asyncio.to_thread(hash_password, password)
            await user.save(update_fields=["password_hash", "updated_at"])
        await throttling.succeeded(reservation)
        session_id = await sessions.start_session(user, ip, user_agent)
        uow.audit(Event.SIGN_IN, actor=user, subject=user, ip=ip)
    return SignedIn(user, session_id)


async def confirm_password(user: User, password: str, now: datetime | None = None) -> bool:
    """Whether `password` is the signed-in user's own; each check is taken from the
    account's sign-in budget, so a borrowed session cannot be used to guess it.

    Raises SignInThrottled when the budget is spent.
    """
    reservation = await throttling.reserve_password_check(user.email, now or datetime.now(UTC))
    if reservation is None:
        raise SignInThrottled
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        return False
    await throttling.succeeded(reservation)
    return True


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
    check_text(checker, "name", name)
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
    city = await City.get_or_none(key=city_key) if city_key and is_clean(city_key) else None
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
    personal = (invitation.email, invitation.name)
    await check_password_rules(checker, "password", password, confirm, personal)
    # The form offers the city's zone first, whatever tzdata calls it now.
    city_zone = invitation.city.timezone if invitation.city else ""
    if not time_zones.is_offered(timezone, city_zone):
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
            await notices.tell_of_waiting_invitations(uow, user, now)
            session_id = await sessions.start_session(user, ip, user_agent)
    except IntegrityError:
        # The same address was given an account at the same moment by another route.
        raise ValidationError(
            {"password": _("Someone with this email already has an account.")}
        ) from None
    return SignedIn(user, session_id)


# Password resets


async def request_password_reset(settings: Settings, email: str, ip: str = "") -> None:
    """Email a reset link if the account exists; the caller's answer is the same either way
    (the web sends its answer before calling this, so not even its timing differs).

    A few requests an hour per address and per client are honoured; more are recorded
    and ignored, so nobody can flood someone's inbox through this form.
    """
    email = printable(normalise_email(email))
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
    settings: Settings,
    raw_token: str,
    password: str,
    confirm: str,
    ip: str = "",
    now: datetime | None = None,
) -> User:
    """Set a new password from a reset link; ends every session of the account, and the
    person is told by email."""
    reset = await open_password_reset(raw_token, now)
    checker = Checker()
    personal = (reset.user.email, reset.user.name)
    await check_password_rules(checker, "password", password, confirm, personal)
    checker.done()
    user = reset.user
    password_hash = await asyncio.to_thread(hash_password, password)
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        used = await PasswordReset.filter(id=reset.id, used_at__isnull=True).update(used_at=now)
        if not used:
            raise errors.NotFound
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash", "updated_at"])
        # A reset is account recovery: whatever an intruder may hold stops working.
        await PasswordReset.filter(user_id=user.id, used_at__isnull=True).update(used_at=now)
        await revoke_tokens(user, now)
        await sessions.end_all_sessions(user)
        await throttling.clear_account(user.email)
        uow.audit(Event.PASSWORD_RESET, actor=user, subject=user, ip=ip)
        _tell_password_changed(uow, user, now, ip, by_reset=True)
    return user


def _tell_password_changed(
    uow: UnitOfWork, user: User, when: datetime, ip: str, *, by_reset: bool
) -> None:
    uow.email(
        to=user.email,
        locale=user.locale,
        subject=gettext_noop("Your Exchange password was changed"),
        template="password_changed",
        context={
            "name": user.name,
            "by_reset": by_reset,
            "when": when,
            "timezone": user.timezone,
            "ip": ip,
            "reset_link": uow.absolute("/password/reset"),
        },
    )


# Own settings


async def revoke_tokens(user: User, now: datetime | None = None) -> int:
    """Revoke every live API token of the user (their credentials or rights changed)."""
    return await PersonalAccessToken.filter(user_id=user.id, revoked_at__isnull=True).update(
        revoked_at=now or datetime.now(UTC)
    )


async def check_own_password(checker: Checker, name: str, user: User, password: str) -> None:
    """Fail `name` unless `password` is the signed-in user's own (see `confirm_password`)."""
    try:
        if not await confirm_password(user, password):
            checker.fail(name, _("That is not your current password."))
    except SignInThrottled:
        checker.fail(name, _("Too many wrong passwords. Please wait 15 minutes and try again."))


async def check_change_password(
    settings: Settings,
    user: User,
    current: str,
    password: str,
    confirm: str,
    ip: str = "",
    user_agent: str = "",
) -> str:
    """Change one's password; every session ends (this browser gets a new one) and every
    API token is revoked."""
    checker = Checker()
    await check_own_password(checker, "current_password", user, current)
    await check_password_rules(checker, "password", password, confirm, (user.email, user.name))
    checker.done()
    password_hash = await asyncio.to_thread(hash_password, password)
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        user.password_hash = password_hash
        await user.save(update_fields=["password_hash", "updated_at"])
        await PasswordReset.filter(user_id=user.id, used_at__isnull=True).update(used_at=now)
        await revoke_tokens(user, now)
        await sessions.end_all_sessions(user)
        uow.audit(Event.PASSWORD_CHANGED, actor=user, subject=user, ip=ip)
        _tell_password_changed(uow, user, now, ip, by_reset=False)
        session_id = await sessions.start_session(user, ip, user_agent)
    return session_id


async def check_update_profile(user: User, *, name: str, timezone: str, locale: str) -> User:
    checker = Checker()
    name = name.strip()
    if not name or len(name) > 120:
        checker.fail("name", _("Enter a name of up to 120 characters."))
    check_text(checker, "name", name)
    if not time_zones.is_offered(timezone, user.timezone):
        checker.fail("timezone", _("Choose a time zone from the list."))
    if locale not in SUPPORTED_LOCALES:
        checker.fail("locale", _("Choose a language from the list."))
    checker.done()
    user.name, user.timezone, user.locale = name, timezone, locale
    await user.save(update_fields=["name", "timezone", "locale", "updated_at"])
    return user


async def update_exchange_preferences(
    user: User, *, share_email: bool, email_on_exchange_message: bool
) -> User:
    """Whether exchange partners see the user's email, and whether their messages are
    also sent to the user by email."""
    user.share_email = share_email
    user.email_on_exchange_message = email_on_exchange_message
    await user.save(update_fields=["share_email", "email_on_exchange_message", "updated_at"])
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


__all__ = ["ValidationError"]
