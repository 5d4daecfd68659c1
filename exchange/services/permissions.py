"""Who may do what: the whole access matrix as small named predicates.

Services call these before acting; routes only declare whether a page needs a signed-in
user, staff or an admin. Reading this file should answer any "can X do Y?" question.
"""

from __future__ import annotations

from exchange.models.accounts import Role, User
from exchange.models.cities import City


class PermissionDenied(Exception):
    """The user may not do this; shown as 403."""


class NotFound(Exception):
    """The object does not exist, or its existence is private to this user; shown as 404."""


def is_signed_in(user: User | None) -> bool:
    return user is not None and user.is_active


def is_staff(user: User | None) -> bool:
    return is_signed_in(user) and user is not None and user.role in (Role.STAFF, Role.ADMIN)


def is_admin(user: User | None) -> bool:
    return is_signed_in(user) and user is not None and user.role == Role.ADMIN


def can_invite_users(user: User | None) -> bool:
    return is_staff(user)


def can_manage_users(user: User | None) -> bool:
    return is_admin(user)


def can_read_audit_log(user: User | None) -> bool:
    return is_admin(user)


def can_manage_mail(user: User | None) -> bool:
    return is_admin(user)


def can_invite_role(user: User | None, role: Role) -> bool:
    """Staff invite officials and staff; only an admin may create another admin."""
    if role == Role.ADMIN:
        return is_admin(user)
    return is_staff(user)


def belongs_to_city(user: User | None, city: City) -> bool:
    return is_signed_in(user) and user is not None and user.city_id == city.id  # type: ignore[attr-defined]


def can_edit_city(user: User | None, city: City) -> bool:
    return is_staff(user) or belongs_to_city(user, city)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied
