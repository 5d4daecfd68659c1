"""Well-being check-ins: a member records how they are doing; facilitators see only what
`domain/privacy.py` allows.

A check-in's score and note are read back by their author alone (`visibility.own_checkins`).
A facilitator gets the circle's summary: per fixed period (the circle's week or month,
chosen at creation and never changed), the number of members and their mean, only for
closed periods with at least five distinct members. There is no per-member series, no
breakdown, no window to choose and no export.

A closed period's figures, once shown (or once a deletion is about to change them), are
kept as they were: a member deleting their account removes their check-ins, and a summary
recomputed without them, set beside the one shown before, would tell what they said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from exchange.domain import privacy
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.circles import Circle, CircleCheckIn, CircleCheckInSummary
from exchange.services import permissions, visibility
from exchange.services.errors import ValidationError
from exchange.services.pagination import Page, paginate
from exchange.services.visibility import InCircle

MAX_NOTE = 2_000


def _score(raw: int | str | None) -> int | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        return None
    return value if privacy.MIN_SCORE <= value <= privacy.MAX_SCORE else None


async def check_record(
    user: User, circle_id: int, score: int | str | None, note: str = "", now: datetime | None = None
) -> CircleCheckIn:
    """Record how the member is doing, 1 to 5, with a note only they will read."""
    member = await visibility.access_circle(user, circle_id)
    errors: dict[str, str] = {}
    value = _score(score)
    if value is None:
        errors["score"] = _("Choose how you are doing, from 1 to 5.")
    note = note.strip()
    if len(note) > MAX_NOTE:
        errors["note"] = _("Use at most %(count)d characters.") % {"count": MAX_NOTE}
    if errors:
        raise ValidationError(errors)
    assert value is not None
    return await CircleCheckIn.create(
        circle_id=member.circle.id,
        user_id=user.id,
        score=value,
        note=note,
        created_at=now or datetime.now(UTC),
    )


@dataclass(frozen=True)
class OwnCheckIns:
    member: InCircle
    page: Page[CircleCheckIn]


async def own_checkins(user: User, circle_id: int, page: int) -> OwnCheckIns:
    """The member's own check-ins in this circle, newest first, notes included."""
    member = await visibility.access_circle(user, circle_id)
    query = visibility.own_checkins(user).filter(circle_id=member.circle.id)
    return OwnCheckIns(member, await paginate(query.order_by("-created_at", "-id"), page))


@dataclass(frozen=True)
class CheckInSummary:
    member: InCircle
    period: str
    periods: list[privacy.PeriodSummary]


async def summary(user: User, circle_id: int, now: datetime | None = None) -> CheckInSummary:
    """What a facilitator may see of the circle's check-ins (see the module docstring)."""
    member = await visibility.access_circle(user, circle_id)
    permissions.require(permissions.can_facilitate(user, member.membership))
    periods = await freeze(member.circle, now or datetime.now(UTC))
    return CheckInSummary(member, member.circle.checkin_period.value, periods)


async def freeze(circle: Circle, now: datetime) -> list[privacy.PeriodSummary]:
    """Every closed period the privacy rules let through, as first computed: periods
    already kept stay as they were, new ones are kept from now on."""
    rows = await CircleCheckIn.filter(circle_id=circle.id).values_list(
        "user_id", "score", "created_at"
    )
    computed = privacy.summarise(
        (privacy.CheckIn(int(u), int(s), at) for u, s, at in rows),
        circle.checkin_period.value,
        ZoneInfo(circle.timezone),
        now=now,
    )
    kept = {
        row.period: privacy.PeriodSummary(row.period, row.members, row.mean)
        for row in await CircleCheckInSummary.filter(circle_id=circle.id)
    }
    for found in computed:
        if found.period in kept:
            continue
        try:
            async with in_transaction():
                await CircleCheckInSummary.create(
                    circle_id=circle.id,
                    period=found.period,
                    members=found.members,
                    mean=found.mean,
                )
        except IntegrityError:
            # Another facilitator's look kept it first: theirs stands.
            row = await CircleCheckInSummary.get(circle_id=circle.id, period=found.period)
            found = privacy.PeriodSummary(row.period, row.members, row.mean)
        kept[found.period] = found
    return [kept[label] for label in sorted(kept)]
