"""Who may do what: the whole access matrix as small named predicates.

Services call these before acting; routes only declare whether a page needs a signed-in
user, staff or an admin. Reading this file should answer any "can X do Y?" question.
"""

from __future__ import annotations

from exchange.models.accounts import Role, User
from exchange.models.cities import City
from exchange.models.matching import Exchange, MatchRequest, PeerInvitation


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


# --- city library: cities and published practices are public; officials edit their own
# city and its practices, staff edit all; drafts are seen only by those who may edit them.


def can_edit_practices_of(user: User | None, city: City) -> bool:
    return can_edit_city(user, city)


def can_see_practice(user: User | None, city: City, published: bool) -> bool:
    return published or can_edit_practices_of(user, city)


def can_edit_taxonomy(user: User | None) -> bool:
    return is_staff(user)


def can_import_catalogue(user: User | None) -> bool:
    return is_staff(user)


# --- peer matching: requests are private to their city and staff; invitations are
# also visible to the invited city, exchanges to both of their cities.


def in_city(user: User | None, city_id: int | None) -> bool:
    if not is_signed_in(user) or user is None or city_id is None:
        return False
    return bool(user.city_id == city_id)  # type: ignore[attr-defined]


def can_request_match_for(user: User | None, city: City) -> bool:
    """Officials file for their own city, staff for any."""
    return is_staff(user) or belongs_to_city(user, city)


def can_view_match_request(user: User | None, request: MatchRequest) -> bool:
    return is_staff(user) or in_city(user, request.city_id)  # type: ignore[attr-defined]


def can_manage_match_request(user: User | None, request: MatchRequest) -> bool:
    """Choosing whom to invite, withdrawing, closing: the requesting city or staff."""
    return can_view_match_request(user, request)


def can_answer_peer_invitation(user: User | None, invitation: PeerInvitation) -> bool:
    """Only the invited city's officials (or staff) accept or decline."""
    return is_staff(user) or in_city(user, invitation.city_id)  # type: ignore[attr-defined]


def can_view_exchange(user: User | None, exchange: Exchange) -> bool:
    return (
        is_staff(user)
        or in_city(user, exchange.mentor_id)  # type: ignore[attr-defined]
        or in_city(user, exchange.mentee_id)  # type: ignore[attr-defined]
    )


def can_conclude_exchange(user: User | None, exchange: Exchange) -> bool:
    """Either side (or staff) concludes and gives feedback."""
    return can_view_exchange(user, exchange)


def can_ask_city_for_help(user: User | None, city: City) -> bool:
    """Starting a request with `city` preferred: staff, and officials of another city."""
    if is_staff(user):
        return True
    has_city = user is not None and user.city_id is not None  # type: ignore[attr-defined]
    return is_signed_in(user) and has_city and not belongs_to_city(user, city)


def can_broker(user: User | None) -> bool:
    """The brokering dashboard of every open request."""
    return is_staff(user)


def can_use_api(user: User | None) -> bool:
    return is_signed_in(user)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied
