"""What facilitators may see of well-being check-ins: k-anonymous aggregates only.

A circle member records how they are doing as a score from 1 to 5. A facilitator never
sees a member's scores, a series per member, or any breakdown: only, per fixed calendar
period (an ISO week such as "2027-W11", or a month such as "2027-03"), how many members
checked in and their mean score, and only for periods where at least MIN_MEMBERS distinct
members did. Any other period is left out entirely, count included, because "3 members
checked in" already narrows down who. Periods are fixed, never a window the reader picks:
two overlapping windows could be subtracted to isolate one check-in.

Within a period each member counts once, with the mean of their own check-ins, so that
someone who checks in daily does not outweigh someone who checks in weekly. Their mean
rather than their latest score: the mean uses everything the member said in the period and
does not depend on when they happened to check in last, and one extra check-in moves the
period's figure less than a replaced one would.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from fractions import Fraction
from typing import Literal

#: Fewest distinct members a period needs before anything about it is shown.
MIN_MEMBERS = 5
MIN_SCORE, MAX_SCORE = 1, 5

Period = Literal["week", "month"]


@dataclass(frozen=True)
class CheckIn:
    """One member's score at one moment (aware)."""

    member_id: int
    score: int
    at: datetime

    def __post_init__(self) -> None:
        # bool is an int in Python; True is not a score.
        if isinstance(self.score, bool) or not isinstance(self.score, int):
            raise ValueError(f"a score is a whole number, not {self.score!r}")
        if not MIN_SCORE <= self.score <= MAX_SCORE:
            raise ValueError(f"a score is from {MIN_SCORE} to {MAX_SCORE}, not {self.score}")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("a check-in time must be an aware datetime")


@dataclass(frozen=True)
class PeriodSummary:
    """One period as a facilitator sees it: how many members, and their mean score."""

    period: str
    members: int
    mean: float


def summarise(
    checkins: Iterable[CheckIn],
    period: Period,
    zone: tzinfo = UTC,
    *,
    now: datetime | None = None,
) -> list[PeriodSummary]:
    """Periods with at least MIN_MEMBERS distinct members, oldest first.

    Periods are calendar weeks or months in `zone` (the circle's zone). With `now`, the
    period holding it and any later one are left out too: an open period's figure changes
    with every check-in, and comparing two looks at it would reveal the newest score.
    """
    if period not in ("week", "month"):
        raise ValueError(f"a period is 'week' or 'month', not {period!r}")
    scores: dict[tuple[int, int], dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for checkin in checkins:
        key = _period_key(checkin.at.astimezone(zone).date(), period)
        scores[key][checkin.member_id].append(checkin.score)
    open_from = None if now is None else _period_key(now.astimezone(zone).date(), period)

    summaries = []
    for key in sorted(scores):
        if open_from is not None and key >= open_from:
            continue
        members = scores[key]
        if len(members) < MIN_MEMBERS:
            continue
        # Exact arithmetic until the one rounding, so the figure never depends on order.
        total = sum((Fraction(sum(s), len(s)) for s in members.values()), Fraction(0))
        mean = total / len(members)
        summaries.append(PeriodSummary(_label(key, period), len(members), _one_decimal(mean)))
    return summaries


def _period_key(day: date, period: Period) -> tuple[int, int]:
    if period == "week":
        # ISO weeks belong to the year holding their Thursday: 2027-01-01 is in 2026-W53.
        iso = day.isocalendar()
        return iso.year, iso.week
    return day.year, day.month


def _label(key: tuple[int, int], period: Period) -> str:
    year, number = key
    return f"{year}-W{number:02d}" if period == "week" else f"{year}-{number:02d}"


def _one_decimal(value: Fraction) -> float:
    """Round half up to one decimal (round() would make 2.25 into 2.2)."""
    return math.floor(value * 10 + Fraction(1, 2)) / 10
