"""What each user may see: every visibility rule, for single objects and for lists.

`access_<thing>(user, ...)` returns the object or raises `NotFound`: where existence
itself is private, a user who may not see an object is told it does not exist, the same
way on every page and API path. `visible_<things>(user)` returns the query of what that
user may list or search, so lists, search, feeds and exports apply the same rule inside
the database, never by filtering after a limit.

No other module filters by status or owner to decide what someone may see. Staff
override is a named rule per kind of object (`STAFF_SEE_*`), not a default: a kind that
staff may not see simply has none (circles).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from exchange.models.accounts import User
from exchange.models.briefs import Brief, BriefDialogue, BriefVisibility, Finding, Reviewer
from exchange.models.circles import (
    Circle,
    CircleCheckIn,
    CircleKind,
    CircleMeeting,
    CircleMembership,
    CirclePost,
    CircleThread,
    MembershipState,
)
from exchange.models.cities import Challenge, City, Practice, PracticeStatus
from exchange.models.dialogues import (
    Dialogue,
    DialogueStatus,
    DialogueVisibility,
    Invitee,
    Seat,
)
from exchange.models.matching import MatchRequest, PeerExchange, PeerInvitation
from exchange.services import permissions
from exchange.services.errors import NotFound
from exchange.services.library_rules import SLUG_RE

# Staff broker every match: they see every request, invitation and exchange, and the
# drafts of every city's practices, since they edit the library on the cities' behalf.
STAFF_SEE_ALL_REQUESTS = True
STAFF_SEE_ALL_INVITATIONS = True
STAFF_SEE_ALL_EXCHANGES = True
STAFF_SEE_ALL_DRAFTS = True


def _staff(user: User | None, rule: bool) -> bool:
    return rule and permissions.is_staff(user)


def _own_city_id(user: User | None) -> int | None:
    return user.city_id if user is not None and permissions.is_signed_in(user) else None


def _fits_key(value: str, max_length: int) -> bool:
    return 0 < len(value) <= max_length and SLUG_RE.fullmatch(value) is not None


# ------------------------------------------------------------------ the library
# Cities and the taxonomy are public. A practice is public once published; a draft is
# seen only by those who may edit its city's practices.


async def access_city(user: User | None, key: str) -> City:
    city = await City.get_or_none(key=key) if _fits_key(key, 80) else None
    if city is None:
        raise NotFound
    return city


async def access_challenge(user: User | None, slug: str) -> Challenge:
    challenge = await Challenge.get_or_none(slug=slug) if _fits_key(slug, 64) else None
    if challenge is None:
        raise NotFound
    return challenge


def can_see_practice(user: User | None, practice: Practice, city: City) -> bool:
    if practice.status == PracticeStatus.PUBLISHED:
        return True
    return _staff(user, STAFF_SEE_ALL_DRAFTS) or permissions.belongs_to_city(user, city)


async def access_practice(user: User | None, practice_id: int) -> Practice:
    """The practice with its city, or NotFound when it is missing or a draft this user
    may not see."""
    practice = await Practice.get_or_none(id=practice_id).select_related("city")
    if practice is None or not can_see_practice(user, practice, practice.city):
        raise NotFound
    return practice


def public_practices() -> QuerySet[Practice]:
    """Practices anyone may read: what search, challenge pages and matching use."""
    return Practice.filter(**public_practice_filter())


def public_practice_filter(via: str = "") -> dict[str, Any]:
    """The same rule as filter arguments for a query that reaches practices through a
    relation (`via="practice__"`), so it stays one join instead of a subquery."""
    return {f"{via}status": PracticeStatus.PUBLISHED}


def visible_practices_of(user: User | None, city: City) -> QuerySet[Practice]:
    """A city's practices as this user may list them: drafts too for its editors."""
    practices = Practice.filter(city_id=city.id)
    if _staff(user, STAFF_SEE_ALL_DRAFTS) or permissions.belongs_to_city(user, city):
        return practices
    return practices.filter(status=PracticeStatus.PUBLISHED)


def public_practice_sql(alias: str, mark: Callable[[], str]) -> tuple[str, list[Any]]:
    """`public_practices` as a SQL condition and its parameters, for raw search SQL;
    `mark` gives the next placeholder in the caller's dialect."""
    return f"{alias}.status = {mark()}", [PracticeStatus.PUBLISHED.value]


# ------------------------------------------------------------------ peer matching
# A match request is private to its city's officials; an invitation is also seen by the
# invited city; an exchange by both of its cities.


async def access_request(user: User | None, request_id: int) -> MatchRequest:
    request = await MatchRequest.get_or_none(id=request_id).select_related("city", "requested_by")
    if request is None or not can_see_request(user, request):
        raise NotFound
    return request


def can_see_request(user: User | None, request: MatchRequest) -> bool:
    return _staff(user, STAFF_SEE_ALL_REQUESTS) or permissions.in_city(user, request.city_id)


def visible_requests(user: User | None) -> QuerySet[MatchRequest]:
    if _staff(user, STAFF_SEE_ALL_REQUESTS):
        return MatchRequest.all()
    city_id = _own_city_id(user)
    return MatchRequest.filter(city_id=city_id) if city_id else MatchRequest.filter(id=0)


async def access_invitation(user: User | None, invitation_id: int) -> PeerInvitation:
    invitation = await PeerInvitation.get_or_none(id=invitation_id).select_related(
        "city", "request", "request__city"
    )
    if invitation is None or not can_see_invitation(user, invitation):
        raise NotFound
    return invitation


def can_see_invitation(user: User | None, invitation: PeerInvitation) -> bool:
    return (
        _staff(user, STAFF_SEE_ALL_INVITATIONS)
        or permissions.in_city(user, invitation.city_id)
        or can_see_request(user, invitation.request)
    )


def invitations_to_own_city(user: User | None) -> QuerySet[PeerInvitation]:
    """The invitations a user answers: to their city; staff answer for every city."""
    if _staff(user, STAFF_SEE_ALL_INVITATIONS):
        return PeerInvitation.all()
    city_id = _own_city_id(user)
    return PeerInvitation.filter(city_id=city_id) if city_id else PeerInvitation.filter(id=0)


async def access_exchange(user: User | None, exchange_id: int) -> PeerExchange:
    exchange = await PeerExchange.get_or_none(id=exchange_id).select_related(
        "mentor", "mentee", "request"
    )
    if exchange is None or not can_see_exchange(user, exchange):
        raise NotFound
    return exchange


def can_see_exchange(user: User | None, exchange: PeerExchange) -> bool:
    return (
        _staff(user, STAFF_SEE_ALL_EXCHANGES)
        or permissions.in_city(user, exchange.mentor_id)
        or permissions.in_city(user, exchange.mentee_id)
    )


def visible_exchanges(user: User | None) -> QuerySet[PeerExchange]:
    if _staff(user, STAFF_SEE_ALL_EXCHANGES):
        return PeerExchange.all()
    city_id = _own_city_id(user)
    if not city_id:
        return PeerExchange.filter(id=0)
    return PeerExchange.filter(Q(mentor_id=city_id) | Q(mentee_id=city_id))


# ------------------------------------------------------------------ dialogues
# A public dialogue is listed for everyone (without participant lists or links), a
# network one for signed-in users, an invited one for its invitees. A draft is seen by
# staff and by the official who set it up as a call for their exchange.

STAFF_SEE_ALL_DIALOGUES = True
LISTED_STATUSES = (DialogueStatus.SCHEDULED, DialogueStatus.HELD, DialogueStatus.CANCELLED)


def visible_dialogues(user: User | None) -> QuerySet[Dialogue]:
    if _staff(user, STAFF_SEE_ALL_DIALOGUES):
        return Dialogue.all()
    listed = Dialogue.filter(status__in=LISTED_STATUSES)
    if user is None or not permissions.is_signed_in(user):
        return listed.filter(visibility=DialogueVisibility.PUBLIC)
    invited_ids = Invitee.filter(user_id=user.id).exclude(seat=Seat.REMOVED).values("dialogue_id")
    return Dialogue.filter(
        Q(
            status__in=LISTED_STATUSES,
            visibility__in=(DialogueVisibility.PUBLIC, DialogueVisibility.NETWORK),
        )
        | Q(status__in=LISTED_STATUSES, id__in=Subquery(invited_ids))
        | Q(organiser_id=user.id)
    )


async def invitee_of(user: User | None, dialogue: Dialogue) -> Invitee | None:
    """The user's own place on the dialogue's list, if they have one."""
    if user is None or not permissions.is_signed_in(user):
        return None
    return (
        await Invitee.filter(dialogue_id=dialogue.id, user_id=user.id)
        .exclude(seat=Seat.REMOVED)
        .first()
    )


async def access_dialogue(user: User | None, dialogue_id: int) -> Dialogue:
    dialogue = await Dialogue.get_or_none(id=dialogue_id).select_related("host_city", "organiser")
    if dialogue is None or not await can_see_dialogue(user, dialogue):
        raise NotFound
    return dialogue


async def can_see_dialogue(user: User | None, dialogue: Dialogue) -> bool:
    if _staff(user, STAFF_SEE_ALL_DIALOGUES):
        return True
    if dialogue.status not in LISTED_STATUSES:
        return user is not None and user.id == dialogue.organiser_id
    if dialogue.visibility == DialogueVisibility.PUBLIC:
        return True
    if dialogue.visibility == DialogueVisibility.NETWORK and permissions.is_signed_in(user):
        return True
    return await invitee_of(user, dialogue) is not None


async def sees_participants(user: User | None, dialogue: Dialogue) -> bool:
    """The list of participants, the venue and the meeting link: participants and staff."""
    if _staff(user, STAFF_SEE_ALL_DIALOGUES):
        return True
    return await invitee_of(user, dialogue) is not None


# ------------------------------------------------------------------ findings and briefs
# Findings are working notes until a brief publishes them: staff and the dialogue's
# rapporteurs see them. A brief in draft or review is seen by staff, its author and its
# reviewers; a published one by what its visibility says: everyone (public), signed-in
# users (members), or the people who took part in its dialogues and staff (participants).

STAFF_SEE_ALL_BRIEFS = True


def took_part(user_id: int) -> QuerySet[Invitee]:
    """A user's places in dialogues they took part in: confirmed, or recorded as present."""
    return Invitee.filter(Q(user_id=user_id), Q(seat=Seat.CONFIRMED) | Q(attended=True))


async def is_rapporteur(user: User | None, dialogue_id: int) -> bool:
    if user is None or not permissions.is_signed_in(user):
        return False
    return (
        await Invitee.filter(dialogue_id=dialogue_id, user_id=user.id, rapporteur=True)
        .exclude(seat=Seat.REMOVED)
        .exists()
    )


async def access_finding(user: User | None, finding_id: int) -> Finding:
    finding = await Finding.get_or_none(id=finding_id)
    if finding is None or not (
        _staff(user, STAFF_SEE_ALL_BRIEFS) or await is_rapporteur(user, finding.dialogue_id)
    ):
        raise NotFound
    return finding


def visible_briefs(user: User | None) -> QuerySet[Brief]:
    """Published briefs the user may read (drafts are never listed)."""
    published = Brief.filter(latest_version__gt=0)
    if _staff(user, STAFF_SEE_ALL_BRIEFS):
        return published
    if user is None or not permissions.is_signed_in(user):
        return published.filter(visibility=BriefVisibility.PUBLIC)
    dialogues = took_part(user.id).values("dialogue_id")
    linked = BriefDialogue.filter(dialogue_id__in=Subquery(dialogues)).values("brief_id")
    return published.filter(
        Q(visibility__in=(BriefVisibility.PUBLIC, BriefVisibility.MEMBERS))
        | Q(id__in=Subquery(linked))
    )


def visible_brief_sql(
    user: User | None, alias: str, mark: Callable[[], str]
) -> tuple[str, list[Any]]:
    """`visible_briefs` as a SQL condition and its parameters, for raw search SQL."""
    if _staff(user, STAFF_SEE_ALL_BRIEFS):
        return f"{alias}.latest_version > 0", []
    if user is None or not permissions.is_signed_in(user):
        return (
            f"{alias}.latest_version > 0 AND {alias}.visibility = {mark()}",
            [BriefVisibility.PUBLIC.value],
        )
    public, members, user_mark, confirmed = mark(), mark(), mark(), mark()
    took_part_sql = (
        "SELECT bd.brief_id FROM brief_dialogue bd "  # noqa: S608 - only placeholders go in
        "JOIN dialogue_invitee i ON i.dialogue_id = bd.dialogue_id "
        f"WHERE i.user_id = {user_mark} AND (i.seat = {confirmed} OR i.attended)"
    )
    return (
        f"{alias}.latest_version > 0 AND ({alias}.visibility IN ({public}, {members}) "
        f"OR {alias}.id IN ({took_part_sql}))",
        [
            BriefVisibility.PUBLIC.value,
            BriefVisibility.MEMBERS.value,
            user.id,
            Seat.CONFIRMED.value,
        ],
    )


async def can_work_on_brief(user: User | None, brief: Brief) -> bool:
    """Staff, the author and the named reviewers see a brief before it is published."""
    if _staff(user, STAFF_SEE_ALL_BRIEFS):
        return True
    if user is None or not permissions.is_signed_in(user):
        return False
    return user.id == brief.author_id or await Reviewer.exists(brief_id=brief.id, user_id=user.id)


async def can_read_brief(user: User | None, brief: Brief) -> bool:
    if brief.latest_version > 0 and await visible_briefs(user).filter(id=brief.id).exists():
        return True
    return await can_work_on_brief(user, brief)


async def access_brief(user: User | None, brief_id: int) -> Brief:
    """A brief the user may read (its latest version) or work on; others get 404."""
    brief = await Brief.get_or_none(id=brief_id)
    if brief is None or not await can_read_brief(user, brief):
        raise NotFound
    return brief


# ------------------------------------------------------------------ circles
# There is no staff override for circles, on purpose: what is said in a circle is for its
# members alone, and an override, however well meant, is the one leak that would end the
# trust circles exist for. Staff and admins who are not members see what any non-member
# sees: the name and purpose of a listed circle, and nothing at all of an unlisted one.
#
# A *member* holds an active membership whose accepted agreement is the circle's current
# version. Someone invited (or approved) but not yet agreed, or a member asked to accept a
# new version, sees only the circle's outline and its agreement. Membership is read from
# the database on every call, never cached, so leaving or removal ends access at once, in
# open sessions and for API tokens alike.

OPEN_MEMBERSHIP = (MembershipState.INVITED, MembershipState.REQUESTED, MembershipState.ACTIVE)


@dataclass(frozen=True)
class InCircle:
    """A circle as one of its members sees it, with their own membership."""

    circle: Circle
    membership: CircleMembership

    @property
    def facilitator(self) -> bool:
        return self.membership.is_facilitator


def is_member(membership: CircleMembership | None, circle: Circle) -> bool:
    return (
        membership is not None
        and membership.state == MembershipState.ACTIVE
        and membership.agreement_version == circle.agreement_version
    )


async def circle_membership(user: User | None, circle_id: int) -> CircleMembership | None:
    """The user's open membership (invited, requested or active) of a circle, if any."""
    if user is None or not permissions.is_signed_in(user):
        return None
    return await CircleMembership.get_or_none(
        circle_id=circle_id, user_id=user.id, state__in=OPEN_MEMBERSHIP
    )


async def access_circle_outline(
    user: User | None, circle_id: int
) -> tuple[Circle, CircleMembership | None]:
    """The circle as someone who may know of it sees it (name, purpose, agreement), with
    their open membership if any: a listed circle for any signed-in user, any circle for
    those invited, asking or in it. NotFound for everyone else, staff and admins too."""
    circle = await Circle.get_or_none(id=circle_id)
    if circle is None or user is None or not permissions.is_signed_in(user):
        raise NotFound
    membership = await circle_membership(user, circle.id)
    if membership is None and circle.kind != CircleKind.LISTED:
        raise NotFound
    return circle, membership


async def access_circle(user: User | None, circle_id: int) -> InCircle:
    """The circle for one of its members; NotFound for anyone else, whoever they are."""
    circle = await Circle.get_or_none(id=circle_id)
    if circle is None:
        raise NotFound
    membership = await circle_membership(user, circle.id)
    if membership is None or not is_member(membership, circle):
        raise NotFound
    return InCircle(circle, membership)


def visible_circles(user: User | None) -> QuerySet[Circle]:
    """Circles the user may list: listed ones once signed in, and those they are
    invited to, asking to join or in."""
    if user is None or not permissions.is_signed_in(user):
        return Circle.filter(id=0)
    own = CircleMembership.filter(user_id=user.id, state__in=OPEN_MEMBERSHIP).values("circle_id")
    return Circle.filter(Q(kind=CircleKind.LISTED) | Q(id__in=Subquery(own)))


async def member_circles(user: User | None) -> list[Circle]:
    """The circles the user is a member of now (agreement current)."""
    if user is None or not permissions.is_signed_in(user):
        return []
    memberships = await CircleMembership.filter(
        user_id=user.id, state=MembershipState.ACTIVE
    ).select_related("circle")
    return [m.circle for m in memberships if is_member(m, m.circle)]


async def current_members(circle: Circle) -> list[CircleMembership]:
    """Every member of the circle (agreement current), with their user."""
    return list(
        await CircleMembership.filter(
            circle_id=circle.id,
            state=MembershipState.ACTIVE,
            agreement_version=circle.agreement_version,
        )
        .select_related("user")
        .order_by("joined_at", "id")
    )


async def access_thread(member: InCircle, thread_id: int) -> CircleThread:
    thread = await CircleThread.get_or_none(id=thread_id, circle_id=member.circle.id)
    if thread is None:
        raise NotFound
    return thread


def visible_threads(member: InCircle) -> QuerySet[CircleThread]:
    return CircleThread.filter(circle_id=member.circle.id)


async def access_post(member: InCircle, post_id: int) -> CirclePost:
    post = await CirclePost.get_or_none(id=post_id, thread__circle_id=member.circle.id)
    if post is None:
        raise NotFound
    return post


async def access_meeting(member: InCircle, meeting_id: int) -> CircleMeeting:
    meeting = await CircleMeeting.get_or_none(id=meeting_id, circle_id=member.circle.id)
    if meeting is None:
        raise NotFound
    return meeting


def own_checkins(user: User) -> QuerySet[CircleCheckIn]:
    """A member's check-ins, notes included: theirs alone, whoever else asks."""
    return CircleCheckIn.filter(user_id=user.id)
