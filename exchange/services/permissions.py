"""Who may do what: the whole access matrix as small named predicates.

Services call these before acting; routes only declare whether a page needs a signed-in
user, staff or an admin. Reading this file should answer any "can X do Y?" question.
Who may *see* what (and so what is a 404) is `services/visibility.py`'s business.
"""

from __future__ import annotations

from exchange.models.accounts import Role, User
from exchange.models.circles import Circle, CircleKind, CircleMembership, CirclePost
from exchange.models.cities import City
from exchange.models.matching import MatchRequest, PeerExchange, PeerInvitation
from exchange.services.errors import PermissionDenied


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
    return is_signed_in(user) and user is not None and user.city_id == city.id


def can_edit_city(user: User | None, city: City) -> bool:
    return is_staff(user) or belongs_to_city(user, city)


# --- city library: officials edit their own city and its practices, staff edit all.


def can_edit_practices_of(user: User | None, city: City) -> bool:
    return can_edit_city(user, city)


def can_edit_taxonomy(user: User | None) -> bool:
    return is_staff(user)


def can_import_catalogue(user: User | None) -> bool:
    return is_staff(user)


# --- peer matching: the requesting city manages its request, the invited city answers,
# either side of an exchange concludes it; staff broker and may do each on a city's behalf.


def in_city(user: User | None, city_id: int | None) -> bool:
    if not is_signed_in(user) or user is None or city_id is None:
        return False
    return user.city_id == city_id


def can_request_match_for(user: User | None, city: City) -> bool:
    """Officials file for their own city, staff for any."""
    return is_staff(user) or belongs_to_city(user, city)


def can_manage_match_request(user: User | None, request: MatchRequest) -> bool:
    """Choosing whom to invite, withdrawing, closing: the requesting city or staff."""
    return is_staff(user) or in_city(user, request.city_id)


def can_answer_peer_invitation(user: User | None, invitation: PeerInvitation) -> bool:
    """Only the invited city's officials (or staff) accept or decline."""
    return is_staff(user) or in_city(user, invitation.city_id)


def can_conclude_exchange(user: User | None, exchange: PeerExchange) -> bool:
    """Either side (or staff) concludes and gives feedback."""
    return is_staff(user) or in_city(user, exchange.mentor_id) or in_city(user, exchange.mentee_id)


def can_close_exchange(user: User | None, exchange: PeerExchange) -> bool:
    """Staff close an active exchange without waiting for both sides' feedback."""
    return is_staff(user) and exchange.status == "active"


def can_write_on_exchange(user: User | None, exchange: PeerExchange) -> bool:
    """Either city's officials (and staff) write on the exchange's thread."""
    return can_conclude_exchange(user, exchange)


def can_ask_city_for_help(user: User | None, city: City) -> bool:
    """Starting a request with `city` preferred: staff, and officials of another city."""
    if is_staff(user):
        return True
    has_city = user is not None and user.city_id is not None
    return is_signed_in(user) and has_city and not belongs_to_city(user, city)


def can_broker(user: User | None) -> bool:
    """The brokering dashboard of every open request."""
    return is_staff(user)


def can_organise_dialogues(user: User | None) -> bool:
    """Staff convene dialogues, invite people, find times and record attendance."""
    return is_staff(user)


def can_organise_dialogue(user: User | None, organiser_id: int | None) -> bool:
    """One dialogue: staff, or the official who set up a call for their exchange."""
    return can_organise_dialogues(user) or (
        is_signed_in(user) and user is not None and user.id == organiser_id
    )


def can_schedule_call(user: User | None, exchange: PeerExchange) -> bool:
    """Either city of an exchange (or staff) may set up a call between them."""
    return can_conclude_exchange(user, exchange)


def can_write_briefs(user: User | None) -> bool:
    """Staff put findings together into briefs and publish them."""
    return is_staff(user)


def can_edit_brief(user: User | None, author_id: int | None) -> bool:
    return can_write_briefs(user) or (
        is_signed_in(user) and user is not None and user.id == author_id
    )


# --- circles: staff create them and name the first facilitator; from then on only the
# circle's own facilitators run it. Whether someone is a member at all (and so may see
# anything inside) is `visibility.access_circle`'s business; these answer what a member
# or a would-be member may do.


def can_create_circles(user: User | None) -> bool:
    return is_staff(user)


def can_ask_to_join(user: User | None, circle: Circle) -> bool:
    """Any signed-in user may ask to join a listed circle; an unlisted one is by
    invitation only."""
    return is_signed_in(user) and circle.kind == CircleKind.LISTED


def can_facilitate(user: User | None, membership: CircleMembership) -> bool:
    """Inviting, approving, removing, naming facilitators, editing the agreement and
    support resources, scheduling meetings, reading check-in summaries."""
    return (
        is_signed_in(user)
        and user is not None
        and membership.user_id == user.id
        and membership.is_facilitator
    )


def can_change_post(user: User | None, post: CirclePost) -> bool:
    """Editing or deleting a post: its author alone (facilitators hide, never edit)."""
    return is_signed_in(user) and user is not None and post.author_id == user.id


def can_see_circle_totals(user: User | None) -> bool:
    """Admins plan support from the number of circles and members, never names."""
    return is_admin(user)


def can_delete_account(user: User | None, subject: User) -> bool:
    """Everyone may delete their own account; an admin may delete someone else's."""
    if not is_signed_in(user) or user is None:
        return False
    return user.id == subject.id or is_admin(user)


def can_use_api(user: User | None) -> bool:
    return is_signed_in(user)


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied
