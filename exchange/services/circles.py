"""Circles: staff create one and name its first facilitator; members find theirs;
facilitators keep its purpose, agreement and support resources; admins count them.

Who may see a circle at all is `visibility.access_circle` (members) and
`access_circle_outline` (those who may know of it); nobody else learns that it exists,
staff and admins included. Membership itself (inviting, joining, leaving) is in
`services/circle_members.py`, the discussion in `circle_posts.py`, check-ins in
`checkins.py` and meetings in `circle_meetings.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from exchange import i18n
from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.accounts import User
from exchange.models.circles import (
    CheckInPeriod,
    Circle,
    CircleKind,
    CircleMeeting,
    CircleMembership,
    CirclePost,
    CircleThread,
    MeetingStatus,
    MembershipState,
)
from exchange.services import audit, circle_mail, permissions, visibility
from exchange.services.errors import Conflict, ValidationError
from exchange.services.pagination import Page, paginate
from exchange.services.unit_of_work import unit_of_work
from exchange.services.validation import Checker, is_email, is_timezone, normalise_email
from exchange.services.visibility import InCircle
from exchange.settings import Settings

MAX_NAME = 120
MAX_PURPOSE = 5_000
MAX_AGREEMENT = 20_000
MAX_RESOURCES = 20_000
MIN_CAP, MAX_CAP, DEFAULT_CAP = 2, 30, 12

# The agreement a new circle starts with, in its first facilitator's language; the
# facilitators make it their own.
DEFAULT_AGREEMENT = N_(
    "What is said in this circle stays in this circle. We do not repeat who said what, "
    "outside or to anyone. We listen without judging, we speak for ourselves, and each of "
    "us decides what to share. Anyone may leave at any time."
)


@dataclass(frozen=True)
class CircleInput:
    """A circle as submitted by staff (form or API); checked by `check_circle_input`."""

    name: str
    purpose: str = ""
    kind: str = CircleKind.UNLISTED.value
    facilitator: str = ""
    cap: int | str | None = DEFAULT_CAP
    timezone: str = ""
    checkin_period: str = CheckInPeriod.WEEK.value


def _whole(raw: int | str | None, default: int) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


def _check_name_purpose_kind_cap(
    checker: Checker, name: str, purpose: str, kind: str, cap: int | str | None
) -> int:
    if not name:
        checker.fail("name", _("Give the circle a name."))
    elif len(name) > MAX_NAME:
        checker.fail("name", _("Use at most %(count)d characters.") % {"count": MAX_NAME})
    if len(purpose) > MAX_PURPOSE:
        checker.fail("purpose", _("Use at most %(count)d characters.") % {"count": MAX_PURPOSE})
    if kind not in CircleKind._value2member_map_:
        checker.fail("kind", _("Choose listed or unlisted."))
    number = _whole(cap, DEFAULT_CAP)
    if number is None or not MIN_CAP <= number <= MAX_CAP:
        checker.fail(
            "cap",
            _("Give a number of members from %(low)d to %(high)d.")
            % {"low": MIN_CAP, "high": MAX_CAP},
        )
        number = DEFAULT_CAP
    return number


async def check_create_circle(settings: Settings, user: User, data: CircleInput) -> Circle:
    """Staff create a circle and invite its first facilitator. The creator is not
    recorded and, unless they are that facilitator, does not see the circle again."""
    permissions.require(permissions.can_create_circles(user))
    checker = Checker()
    name, purpose = data.name.strip(), data.purpose.strip()
    cap = _check_name_purpose_kind_cap(checker, name, purpose, data.kind, data.cap)
    email = normalise_email(data.facilitator)
    facilitator = await User.get_or_none(email=email, is_active=True) if is_email(email) else None
    if facilitator is None:
        checker.fail("facilitator", _("Give the email address of someone with an account."))
    zone = data.timezone.strip()
    if zone and not is_timezone(zone):
        checker.fail("timezone", _("Choose a time zone from the list."))
    if data.checkin_period not in CheckInPeriod._value2member_map_:
        checker.fail("checkin_period", _("Choose a week or a month."))
    checker.done()
    assert facilitator is not None
    with i18n.use_locale(facilitator.locale):
        agreement = _(DEFAULT_AGREEMENT)
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        circle = await Circle.create(
            name=name,
            purpose=purpose,
            kind=CircleKind(data.kind),
            cap=cap,
            seats_taken=1,
            agreement_text=agreement,
            timezone=zone or facilitator.timezone,
            checkin_period=CheckInPeriod(data.checkin_period),
            created_at=now,
            updated_at=now,
        )
        await CircleMembership.create(
            circle=circle,
            user=facilitator,
            state=MembershipState.INVITED,
            is_facilitator=True,
            created_at=now,
        )
        uow.audit(audit.Event.CIRCLE_CREATED, actor=user, detail={"circle": circle.id})
        uow.audit(
            audit.Event.CIRCLE_INVITED,
            actor=user,
            subject=facilitator,
            detail={"circle": circle.id, "facilitator": True},
        )
        circle_mail.send(uow, facilitator, "invitation", circle_mail.circle_path(circle))
    return circle


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class CircleListing:
    page: Page[Circle]
    # The viewer's own open memberships, by circle id.
    memberships: dict[int, CircleMembership]


async def list_circles(user: User, page: int) -> CircleListing:
    """The circles the user may see: theirs (joined, invited, asked) and listed ones."""
    permissions.require(permissions.is_signed_in(user))
    found = await paginate(visibility.visible_circles(user).order_by("name", "id"), page)
    own = await CircleMembership.filter(
        user_id=user.id,
        circle_id__in=[c.id for c in found.items],
        state__in=visibility.OPEN_MEMBERSHIP,
    )
    return CircleListing(page=found, memberships={m.circle_id: m for m in own})


@dataclass(frozen=True)
class CircleOutline:
    """A circle as someone who may know of it sees it, and where they stand."""

    circle: Circle
    membership: CircleMembership | None

    @property
    def is_member(self) -> bool:
        return visibility.is_member(self.membership, self.circle)

    @property
    def to_accept(self) -> bool:
        """Invited, or a member asked to accept a new version of the agreement."""
        return self.membership is not None and self.membership.state in (
            MembershipState.INVITED,
            MembershipState.ACTIVE,
        )

    @property
    def requested(self) -> bool:
        return self.membership is not None and self.membership.state == MembershipState.REQUESTED

    @property
    def may_ask(self) -> bool:
        return self.membership is None and self.circle.kind == CircleKind.LISTED

    @property
    def state(self) -> str:
        if self.membership is None:
            return "none"
        if self.membership.state == MembershipState.ACTIVE and not self.is_member:
            return "agreement_changed"
        return self.membership.state.value


async def circle_outline(user: User | None, circle_id: int) -> CircleOutline:
    circle, membership = await visibility.access_circle_outline(user, circle_id)
    return CircleOutline(circle, membership)


async def circle_for_member(user: User, circle_id: int) -> InCircle:
    """The circle for one of its members, NotFound for anyone else: for routes that
    settle who may act before they read what was sent."""
    return await visibility.access_circle(user, circle_id)


@dataclass(frozen=True)
class CircleHome:
    member: InCircle
    threads: Page[CircleThread]
    meetings: list[CircleMeeting]
    members: int
    authors: dict[int, str] = field(default_factory=dict)


async def circle_home(
    user: User, circle_id: int, page: int, now: datetime | None = None
) -> CircleHome:
    """A member's view: the threads, the next meetings, the support resources."""
    member = await visibility.access_circle(user, circle_id)
    await circle_mail.mark_seen(member.membership, now)
    threads = await paginate(
        visibility.visible_threads(member).order_by("-last_post_at", "-id"), page
    )
    meetings = await CircleMeeting.filter(
        circle_id=member.circle.id,
        status=MeetingStatus.SCHEDULED,
        ends_at__gte=now or datetime.now(UTC),
    ).limit(5)
    return CircleHome(
        member=member,
        threads=threads,
        meetings=list(meetings),
        members=len(await visibility.current_members(member.circle)),
        authors=await author_names([t.author_id for t in threads.items if t.author_id]),
    )


async def author_names(ids: list[int]) -> dict[int, str]:
    return dict(await User.filter(id__in=list(set(ids))).values_list("id", "name"))


# ------------------------------------------------------------------ facilitators


@dataclass(frozen=True)
class CircleSettingsInput:
    name: str
    purpose: str
    kind: str
    cap: int | str | None
    agreement_text: str
    support_resources: str


async def circle_to_facilitate(user: User, circle_id: int) -> InCircle:
    """The circle for one of its facilitators: NotFound for non-members, refused for
    other members."""
    member = await visibility.access_circle(user, circle_id)
    permissions.require(permissions.can_facilitate(user, member.membership))
    return member


async def check_update_circle(
    settings: Settings, user: User, circle_id: int, data: CircleSettingsInput
) -> Circle:
    """Facilitators keep the name, purpose, kind, cap, agreement and support resources.
    A changed agreement is a new version that every other member accepts again before
    seeing anything inside; the facilitator who wrote it accepts it by saving."""
    member = await circle_to_facilitate(user, circle_id)
    checker = Checker()
    name, purpose = data.name.strip(), data.purpose.strip()
    cap = _check_name_purpose_kind_cap(checker, name, purpose, data.kind, data.cap)
    agreement = data.agreement_text.strip()
    if not agreement:
        checker.fail("agreement_text", _("A circle needs its confidentiality agreement."))
    elif len(agreement) > MAX_AGREEMENT:
        checker.fail(
            "agreement_text", _("Use at most %(count)d characters.") % {"count": MAX_AGREEMENT}
        )
    resources = data.support_resources.strip()
    if len(resources) > MAX_RESOURCES:
        checker.fail(
            "support_resources", _("Use at most %(count)d characters.") % {"count": MAX_RESOURCES}
        )
    checker.done()
    now = datetime.now(UTC)
    async with unit_of_work(settings) as uow:
        circle = await Circle.filter(id=member.circle.id).select_for_update().first()
        if circle is None:
            raise Conflict("gone", _("This circle no longer exists."))
        if cap < circle.seats_taken:
            raise ValidationError(
                {
                    "cap": _("The circle already holds %(count)d places.")
                    % {"count": circle.seats_taken}
                }
            )
        new_agreement = agreement != circle.agreement_text.strip()
        others = await visibility.current_members(circle) if new_agreement else []
        circle.name, circle.purpose, circle.kind, circle.cap = (
            name,
            purpose,
            CircleKind(data.kind),
            cap,
        )
        circle.support_resources, circle.updated_at = resources, now
        if new_agreement:
            circle.agreement_text = agreement
            circle.agreement_version += 1
            await CircleMembership.filter(id=member.membership.id).update(
                agreement_version=circle.agreement_version, agreement_accepted_at=now
            )
            uow.audit(
                audit.Event.CIRCLE_AGREEMENT_ACCEPTED,
                actor=user,
                subject=user,
                detail={"circle": circle.id, "version": circle.agreement_version},
            )
            for other in others:
                if other.user_id != user.id:
                    circle_mail.send(uow, other.user, "agreement", circle_mail.circle_path(circle))
        await circle.save()
    return circle


# ------------------------------------------------------------------ admins and owners


@dataclass(frozen=True)
class CircleTotals:
    circles: int
    members: int


async def circle_totals(user: User) -> CircleTotals:
    """How many circles there are and how many people are in at least one: enough to
    plan support, and nothing that names a circle or a person."""
    permissions.require(permissions.can_see_circle_totals(user))
    people = (
        await CircleMembership.filter(state=MembershipState.ACTIVE)
        .order_by("user_id")
        .distinct()
        .values_list("user_id", flat=True)
    )
    return CircleTotals(circles=await Circle.all().count(), members=len(set(people)))


async def my_circle_data(user: User) -> dict[str, Any]:
    """Everything the user wrote in circles and every check-in they made, for them to
    download: their own words only, never another member's."""
    permissions.require(permissions.is_signed_in(user))
    posts = await CirclePost.filter(author_id=user.id, deleted_at__isnull=True).select_related(
        "thread"
    )
    opening = set()
    for thread_id in {p.thread_id for p in posts}:
        first = await CirclePost.filter(thread_id=thread_id).order_by("id").first()
        if first is not None and first.author_id == user.id:
            opening.add(first.id)
    checkins = await visibility.own_checkins(user).order_by("created_at", "id")
    return {
        "posts": [
            {
                "circle": p.thread.circle_id,
                "thread": p.thread_id,
                "title": p.thread.title if p.id in opening else None,
                "body": p.body,
                "created_at": p.created_at.isoformat(),
                "edited_at": p.edited_at.isoformat() if p.edited_at else None,
            }
            for p in sorted(posts, key=lambda p: (p.created_at, p.id))
        ],
        "checkins": [
            {
                "circle": c.circle_id,
                "score": c.score,
                "note": c.note,
                "created_at": c.created_at.isoformat(),
            }
            for c in checkins
        ],
    }
