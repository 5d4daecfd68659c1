"""Meeting times across time zones: rank candidate slots by how well they suit invitees.

Working hours are wall-clock times in each invitee's zone. A day's working span is found
by converting its local start and end to UTC instants with zoneinfo, so the span moves in
UTC when daylight saving changes, and a span that contains a clock jump has its real
length. A candidate slot is a UTC interval; the part of it outside someone's working
hours is its real elapsed time minus its overlap with their working spans.

A slot is better the more invitees it suits entirely, then the fewer minutes it asks of
the rest outside their hours, then the earlier it starts. Invitees who share a zone and
hours form one group weighted by its size, so the work grows with the number of distinct
zones, not of people; every candidate of a group is scored at once with numpy.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

#: The longest date range searched: a quarter is as far ahead as anyone plans a meeting,
#: and the bound keeps a mistyped year from building millions of candidates.
MAX_DAYS = 92
#: A meeting longer than a day is not a meeting to fit into working hours.
MAX_DURATION = timedelta(hours=24)

WEEKDAYS = frozenset(range(5))
_DAY = timedelta(days=1)
_HOURS = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


@lru_cache(maxsize=512)
def load_zone(name: str) -> ZoneInfo:
    """The zone called `name`; ValueError names it when the zone database does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: a folder of the database such as "America" is not a zone.
        raise ValueError(f"unknown time zone: {name!r}") from None


@dataclass(frozen=True)
class WorkingHours:
    """When someone works, as wall-clock times in their own zone (0 = Monday)."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    weekdays: frozenset[int] = WEEKDAYS

    def __post_init__(self) -> None:
        for name, clock in (("start", self.start), ("end", self.end)):
            if clock.tzinfo is not None:
                raise ValueError(f"working hours {name} must be a wall-clock time without a zone")
            if clock.second or clock.microsecond:
                raise ValueError(f"working hours {name} must be a whole minute")
        if self.end <= self.start:
            # A span crossing midnight would belong to two days; nobody has needed it yet.
            raise ValueError(
                f"working hours must end after they start, not {self.start:%H:%M}-{self.end:%H:%M}"
            )
        # Accept any set of days but keep a frozenset, so that hours stay hashable.
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        if not self.weekdays:
            raise ValueError("working hours need at least one weekday")
        if not self.weekdays <= frozenset(range(7)):
            raise ValueError("weekdays are numbers from 0 (Monday) to 6 (Sunday)")

    @classmethod
    def parse(cls, text: str, weekdays: Iterable[int] = WEEKDAYS) -> WorkingHours:
        """Hours written as "HH:MM-HH:MM", such as "09:00-18:00"."""
        found = _HOURS.fullmatch(text)
        if found is None:
            raise ValueError(f"working hours must look like 09:00-18:00, not {text!r}")
        start_h, start_m, end_h, end_m = (int(part) for part in found.groups())
        try:
            start, end = time(start_h, start_m), time(end_h, end_m)
        except ValueError:
            raise ValueError(f"working hours hold a time that does not exist: {text!r}") from None
        return cls(start, end, frozenset(weekdays))


@dataclass(frozen=True)
class Invitee:
    """Someone to meet: their IANA zone (checked on creation) and working hours."""

    zone: str
    hours: WorkingHours = field(default_factory=WorkingHours)

    def __post_init__(self) -> None:
        load_zone(self.zone)


@dataclass(frozen=True)
class Slot:
    """A candidate meeting in UTC, with how well it suits the invitees.

    `inside` counts the invitees for whom the whole slot is working time;
    `outside_minutes` adds up, over the others, the minutes that are not.
    """

    start: datetime
    end: datetime
    inside: int
    outside_minutes: int

    def local_start(self, zone: str) -> datetime:
        """The start as the clocks in `zone` show it."""
        return self.start.astimezone(load_zone(zone))


def find_slots(
    invitees: Iterable[Invitee],
    first_day: date,
    last_day: date,
    duration: timedelta,
    step: timedelta = timedelta(minutes=15),
    limit: int = 10,
) -> list[Slot]:
    """The `limit` best slots starting every `step` on the UTC dates first_day..last_day.

    Candidates start from first_day 00:00 UTC up to the last step before the end of
    last_day; a slot may run past that end.
    """
    people = list(invitees)
    check_request(people, first_day, last_day, duration, step, limit)
    origin = _seconds(datetime.combine(first_day, time(0), tzinfo=UTC))
    span = ((last_day - first_day).days + 1) * 86_400
    starts = np.arange(origin, origin + span, int(step.total_seconds()), dtype=np.int64)
    length = int(duration.total_seconds())
    ends = starts + length
    # A zone's local date is at most a day off its UTC date, and a slot may end up to a
    # day after the last one: working spans from two days either side cover every slot.
    local_first = first_day - 2 * _DAY
    local_last = last_day + 2 * _DAY + timedelta(days=-(-length // 86_400))

    inside = np.zeros(len(starts), dtype=np.int64)
    outside = np.zeros(len(starts), dtype=np.int64)
    for (zone, hours), members in Counter((p.zone, p.hours) for p in people).items():
        worked = WorkedTime(working_spans(zone, hours, local_first, local_last))
        missed = length - (worked(ends) - worked(starts))
        inside += members * (missed == 0)
        outside += members * missed

    # lexsort sorts by the last key first: most inside, then least outside, then earliest.
    order = np.lexsort((starts, outside, -inside))[:limit]
    return [
        Slot(
            start=datetime.fromtimestamp(int(starts[i]), UTC),
            end=datetime.fromtimestamp(int(ends[i]), UTC),
            inside=int(inside[i]),
            # Whole minutes in practice; rounded up so a stray second still shows.
            outside_minutes=-(-int(outside[i]) // 60),
        )
        for i in order
    ]


def check_request(
    invitees: list[Invitee],
    first_day: date,
    last_day: date,
    duration: timedelta,
    step: timedelta,
    limit: int,
) -> None:
    """Raise ValueError with a reason fit to show a person for a request we refuse."""
    if not invitees:
        raise ValueError("at least one invitee is needed")
    _check_minutes("duration", duration)
    if duration > MAX_DURATION:
        raise ValueError("the duration must be at most 24 hours")
    _check_minutes("step", step)
    if first_day > last_day:
        raise ValueError(f"the first day ({first_day}) is after the last day ({last_day})")
    days = (last_day - first_day).days + 1
    if days > MAX_DAYS:
        raise ValueError(f"the date range covers {days} days; at most {MAX_DAYS} are searched")
    if limit < 1:
        raise ValueError("the limit must be at least 1")


def _check_minutes(name: str, value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"the {name} must be positive")
    if value % timedelta(minutes=1):
        raise ValueError(f"the {name} must be a whole number of minutes")


def working_spans(zone: str, hours: WorkingHours, first: date, last: date) -> list[tuple[int, int]]:
    """Working spans in UTC seconds for the local dates first..last, in order.

    Each span runs from the first instant the local clock reads `hours.start` (or later)
    to the first instant it reads `hours.end`, so its length is real elapsed time.
    """
    tz = load_zone(zone)
    spans = []
    day = first
    while day <= last:
        if day.weekday() in hours.weekdays:
            spans.append((wall_to_utc(day, hours.start, tz), wall_to_utc(day, hours.end, tz)))
        day += _DAY
    return spans


def wall_to_utc(day: date, clock: time, tz: ZoneInfo) -> int:
    """The first instant (UTC seconds) at which the clocks of `tz` read day+clock or later.

    A repeated wall time (clocks turned back) gives its first occurrence. A wall time
    skipped by a jump forward gives the instant of the jump, when work can start.
    """
    wall = datetime.combine(day, clock)
    earlier = _seconds(wall.replace(tzinfo=tz, fold=0))
    later = _seconds(wall.replace(tzinfo=tz, fold=1))
    if earlier <= later:
        return earlier
    # In a gap, fold=0 reads the wall time with the offset before the jump and lands
    # after it, fold=1 with the offset after and lands before: the jump lies between.
    low, high = later, earlier
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


class WorkedTime:
    """Working seconds elapsed since the first span, at any instants, for sorted spans."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        bounds = np.array(spans, dtype=np.int64).reshape(-1, 2)
        self.opens = bounds[:, 0]
        self.lengths = bounds[:, 1] - bounds[:, 0]
        # before[i]: working seconds in all spans before span i.
        self.before = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)

    def __call__(self, instants: IntArray) -> IntArray:
        if not len(self.opens):
            return np.zeros_like(instants)
        index = np.searchsorted(self.opens, instants, side="right") - 1
        clamped = np.maximum(index, 0)
        into = np.clip(instants - self.opens[clamped], 0, self.lengths[clamped])
        worked: IntArray = np.where(index >= 0, self.before[clamped] + into, 0)
        return worked


def _seconds(moment: datetime) -> int:
    # Aware datetimes with whole seconds convert exactly.
    return int(moment.timestamp())
