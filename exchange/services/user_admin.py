"""User administration: the list of people, changing someone's role, city or access, and
creating an account from the command line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tortoise.expressions import Q

from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop
from exchange.models.accounts import Role, User
from exchange.models.cities import City
from exchange.services import errors, notices, permissions, sessions
from exchange.services.accounts import (
    _city_for_role,
    _parse_role,
    check_password_rules,
    revoke_tokens,
)
from exchange.services.audit import Event
from exchange.services.pagination import Page, paginate
from exchange.services.secrets import hash_password
from exchange.services.unit_of_work import unit_of_work
from exchange.services.validation import Checker, check_text, is_email, is_timezone, normalise_email
from exchange.settings import Settings


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
    settings: Settings,
    admin: User,
    user_id: int,
    *,
    role: str,
    city_key: str,
    is_active: bool,
    ip: str = "",
) -> User:
    """Change a user's role, city or active flag; any of these ends their sessions and
    revokes their API tokens (a reactivated account starts with none). An active person
    whose role or city changed is told by email."""
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
    old_role = user.role
    was_active = user.is_active
    old_city = await City.get_or_none(id=old_city_id) if old_city_id else None
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
    async with unit_of_work(settings) as uow:
        user.role, user.city, user.is_active = role_value, city, is_active
        await user.save(update_fields=["role", "city_id", "is_active", "updated_at"])
        # What the person may do changed: whatever they hold must be earned again.
        await sessions.end_all_sessions(user)
        await revoke_tokens(user)
        for event, detail in changes:
            uow.audit(event, actor=admin, subject=user, ip=ip, detail=detail)
        if old_city_id != new_city_id or old_role != role_value or not was_active:
            await notices.tell_of_waiting_invitations(uow, user, datetime.now(UTC))
        if is_active and (old_role != role_value or old_city_id != new_city_id):
            uow.email(
                to=user.email,
                locale=user.locale,
                subject=gettext_noop("Your access to Exchange changed"),
                template="access_changed",
                context={
                    "name": user.name,
                    "admin": admin.name,
                    "old_role": old_role.value,
                    "new_role": role_value.value,
                    "old_city": old_city.name if old_city else "",
                    "new_city": city.name if city else "",
                    "link": uow.absolute("/login"),
                },
            )
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
    if not name.strip() or len(name.strip()) > 120:
        checker.fail("name", _("Enter a name of up to 120 characters."))
    check_text(checker, "name", name.strip())
    role_value = _parse_role(checker, role)
    city = await _city_for_role(checker, role_value, city_key)
    await check_password_rules(checker, "password", password, password, (email, name))
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
        await notices.tell_of_waiting_invitations(uow, user, datetime.now(UTC))
    return user
