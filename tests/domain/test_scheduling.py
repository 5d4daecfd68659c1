"""Meeting times across zones: ranking, daylight-saving changes, grouping, bad input.

Expected instants come from zoneinfo itself where they depend on the zone rules, and a
naive reference below (every minute of every slot, invitee by invitee, read on the local
clock) checks the grouped, vectorised computation.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from exchange.domain.scheduling import (
    Invitee,
    Slot,
    WorkingHours,
    find_slots,
    load_zone,
    wall_to_utc,
)

HOUR = timedelta(hours=1)
EVERY_DAY = frozenset(range(7))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def key(slot: Slot) -> tuple[int, int, datetime]:
    return (-slot.inside, slot.outside_minutes, slot.start)


def naive_ranking(
    invitees: Sequence[Invitee], first: date, last: date, duration: timedelta, step: timedelta
) -> list[Slot]:
    """Every candidate, scored one invitee and one minute at a time, best first."""
    minutes = int(duration / timedelta(minutes=1))
    working: list[set[datetime]] = []
    for invitee in invitees:
        tz, hours = ZoneInfo(invitee.zone), invitee.hours
        moment, end = midnight(first), midnight(last) + 3 * 24 * HOUR
        minutes_worked = set()
        while moment < end:
            wall = moment.astimezone(tz)
            if wall.weekday() in hours.weekdays and hours.start <= wall.time() < hours.end:
                minutes_worked.add(moment)
            moment += timedelta(minutes=1)
        working.append(minutes_worked)
    slots = []
    start, stop = midnight(first), midnight(last) + 24 * HOUR
    while start < stop:
        inside = outside = 0
        for worked in working:
            missed = sum(1 for m in range(minutes) if start + timedelta(minutes=m) not in worked)
            inside += missed == 0
            outside += missed
        slots.append(Slot(start, start + duration, inside, outside))
        start += step
    return sorted(slots, key=key)


# Working hours


def test_default_hours_are_nine_to_six_monday_to_friday() -> None:
    hours = WorkingHours()
    assert (hours.start, hours.end, hours.weekdays) == (time(9), time(18), frozenset(range(5)))


def test_hours_parse_from_text() -> None:
    assert WorkingHours.parse("08:30-17:15") == WorkingHours(time(8, 30), time(17, 15))
    assert WorkingHours.parse(" 7:00 - 15:00 ").start == time(7)
    assert WorkingHours.parse("10:00-14:00", weekdays=[5, 6]).weekdays == {5, 6}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9-5", "must look like 09:00-18:00, not '9-5'"),
        ("09:00", "must look like 09:00-18:00"),
        ("09:00-18:00-20:00", "must look like 09:00-18:00"),
        ("", "must look like 09:00-18:00"),
        ("25:00-26:00", "a time that does not exist: '25:00-26:00'"),
        ("09:60-18:00", "a time that does not exist"),
        ("18:00-09:00", "must end after they start, not 18:00-09:00"),
        ("09:00-09:00", "must end after they start"),
    ],
)
def test_bad_hours_text_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="working hours") as raised:
        WorkingHours.parse(text)
    assert message in str(raised.value)


def test_hours_refuse_impossible_days_and_seconds() -> None:
    with pytest.raises(ValueError, match="at least one weekday"):
        WorkingHours(weekdays=frozenset())
    with pytest.raises(ValueError, match="from 0 \\(Monday\\) to 6"):
        WorkingHours(weekdays=frozenset({7}))
    with pytest.raises(ValueError, match="whole minute"):
        WorkingHours(start=time(9, 0, 30))
    with pytest.raises(ValueError, match="without a zone"):
        WorkingHours(start=time(9, tzinfo=UTC))


def test_unknown_zones_are_refused_by_name() -> None:
    for name in ("Mars/Olympus", "America", "", "../etc/passwd", "europe/paris"):
        with pytest.raises(ValueError, match="unknown time zone"):
            Invitee(name)
    assert load_zone("Europe/Kyiv").key == "Europe/Kyiv"


# Ranking


def test_one_invitee_gets_the_start_of_their_working_day_first() -> None:
    slots = find_slots(
        [Invitee("Europe/Paris")], date(2027, 1, 11), date(2027, 1, 11), timedelta(minutes=30)
    )
    # 09:00 in Paris is 08:00 UTC in winter; every slot up to 17:30 local fits, earliest first.
    assert [s.start for s in slots[:3]] == [
        utc(2027, 1, 11, 8),
        utc(2027, 1, 11, 8, 15),
        utc(2027, 1, 11, 8, 30),
    ]
    assert all(s.inside == 1 and s.outside_minutes == 0 for s in slots)
    assert len(slots) == 10
    assert slots[0].end == utc(2027, 1, 11, 8, 30)
    assert slots[0].local_start("Europe/Paris") == local("Europe/Paris", 2027, 1, 11, 9)


def test_ties_go_to_the_earlier_slot_and_the_order_is_total() -> None:
    invitees = [Invitee("America/New_York"), Invitee("Europe/London")]
    slots = find_slots(invitees, date(2027, 1, 11), date(2027, 1, 15), HOUR, limit=50)
    assert [key(s) for s in slots] == sorted(key(s) for s in slots)
    # New York 09:00-18:00 is 14:00-23:00 UTC, London 09:00-18:00 is 09:00-18:00 UTC:
    # 14:00-17:00 UTC suits both every weekday; Monday's are the earliest of the equals.
    assert [s.start for s in slots[:5]] == [
        utc(2027, 1, 11, 14, 0),
        utc(2027, 1, 11, 14, 15),
        utc(2027, 1, 11, 14, 30),
        utc(2027, 1, 11, 14, 45),
        utc(2027, 1, 11, 15, 0),
    ]
    assert all(s.inside == 2 for s in slots[:5])


def test_more_people_inside_beats_fewer_minutes_outside() -> None:
    def works(start: int, end: int) -> Invitee:
        return Invitee("UTC", WorkingHours(time(start), time(end), EVERY_DAY))

    # Two people work 09-11, two 11-13 and one 10-12 (UTC), and the meeting lasts two hours.
    # 09:00 suits two and costs the others 120 + 120 + 60 = 300 minutes; 10:00 suits one
    # and costs the rest 4 x 60 = 240. Two inside still ranks first.
    invitees = [works(9, 11), works(9, 11), works(11, 13), works(11, 13), works(10, 12)]
    day = date(2027, 1, 11)
    slots = find_slots(invitees, day, day, 2 * HOUR, limit=3)
    assert [(s.start.hour, s.start.minute, s.inside, s.outside_minutes) for s in slots] == [
        (9, 0, 2, 300),
        (11, 0, 2, 300),
        (10, 0, 1, 240),
    ]


def test_no_common_hours_still_ranks_by_least_time_outside() -> None:
    # In January: Vancouver works 17:00-02:00 UTC, Kyiv 07:00-16:00, Tokyo 00:00-09:00.
    # No two of them share three hours, so at best one person is inside and the other
    # two give up 240 minutes between them (e.g. 06:00-09:00 UTC: Tokyo inside, Kyiv one
    # hour early, Vancouver three hours at night).
    invitees = [Invitee("America/Vancouver"), Invitee("Europe/Kyiv"), Invitee("Asia/Tokyo")]
    first, last = date(2027, 1, 11), date(2027, 1, 13)
    slots = find_slots(invitees, first, last, 3 * HOUR, limit=20)
    assert len(slots) == 20
    assert all(s.inside <= 1 for s in slots)
    assert (slots[0].inside, slots[0].outside_minutes) == (1, 240)
    assert slots[0].start == utc(2027, 1, 11, 6)
    assert [key(s) for s in slots] == sorted(key(s) for s in slots)
    reference = naive_ranking(invitees, first, last, 3 * HOUR, timedelta(minutes=15))
    assert slots == reference[:20]


def test_weekends_are_not_working_time_by_default() -> None:
    # 2027-01-09 and 10 are a Saturday and a Sunday.
    slots = find_slots([Invitee("UTC")], date(2027, 1, 9), date(2027, 1, 10), HOUR, limit=500)
    assert all(s.inside == 0 and s.outside_minutes == 60 for s in slots)
    friday_to_monday = find_slots(
        [Invitee("UTC")], date(2027, 1, 8), date(2027, 1, 11), HOUR, limit=500
    )
    fitting = {s.start.date() for s in friday_to_monday if s.inside}
    assert fitting == {date(2027, 1, 8), date(2027, 1, 11)}
    weekend_worker = Invitee("UTC", WorkingHours(weekdays=frozenset({5, 6})))
    assert find_slots([weekend_worker], date(2027, 1, 9), date(2027, 1, 9), HOUR)[0].inside == 1


def test_weekdays_are_read_in_the_invitees_zone() -> None:
    # Monday 09:00 in Auckland (UTC+13 in January) is Sunday 20:00 UTC.
    slots = find_slots([Invitee("Pacific/Auckland")], date(2027, 1, 10), date(2027, 1, 10), HOUR)
    assert slots[0].start == utc(2027, 1, 10, 20)
    assert slots[0].inside == 1
    # Tuesday 00:00 UTC is still Monday 14:00 in Honolulu: the first candidate fits.
    honolulu = find_slots([Invitee("Pacific/Honolulu")], date(2027, 1, 12), date(2027, 1, 12), HOUR)
    assert [s.start.hour for s in honolulu[:5]] == [0, 0, 0, 0, 1]
    assert honolulu[0].start == utc(2027, 1, 12, 0) and honolulu[0].inside == 1


def test_limit_and_the_last_candidate() -> None:
    slots = find_slots(
        [Invitee("UTC", WorkingHours(weekdays=EVERY_DAY))],
        date(2027, 1, 11),
        date(2027, 1, 12),
        HOUR,
        step=HOUR,
        limit=1000,
    )
    # Two days of hourly starts: the last starts at 23:00 on the last day.
    assert len(slots) == 48
    assert max(s.start for s in slots) == utc(2027, 1, 12, 23)
    assert len(find_slots([Invitee("UTC")], date(2027, 1, 11), date(2027, 1, 11), HOUR)) == 10


# Daylight saving


def test_zoneinfo_facts_for_march_2027() -> None:
    """North America moves on 14 March 2027, Europe on 28 March: for two weeks between,
    New York is five hours behind Berlin instead of six."""
    nine_in_new_york = [local("America/New_York", 2027, 3, d, 9) for d in (12, 16, 30)]
    assert [t.astimezone(UTC).hour for t in nine_in_new_york] == [14, 13, 13]
    nine_in_berlin = [local("Europe/Berlin", 2027, 3, d, 9) for d in (12, 16, 30)]
    assert [t.astimezone(UTC).hour for t in nine_in_berlin] == [8, 8, 7]


@pytest.mark.parametrize(
    ("monday", "fits"),
    [
        (date(2027, 3, 8), False),  # both on winter time: overlap 14:00-17:00 UTC
        (date(2027, 3, 15), True),  # New York moved, Berlin not yet: 13:00-17:00 UTC
        (date(2027, 3, 29), False),  # both on summer time: overlap 13:00-16:00 UTC
    ],
)
def test_four_hour_meeting_fits_new_york_and_berlin_only_in_the_gap_weeks(
    monday: date, fits: bool
) -> None:
    invitees = [Invitee("America/New_York"), Invitee("Europe/Berlin")]
    best = find_slots(invitees, monday, monday + timedelta(days=4), 4 * HOUR)[0]
    assert (best.inside == 2) is fits
    if fits:
        assert best.start == utc(2027, 3, 15, 13)
        assert best.local_start("America/New_York") == local("America/New_York", 2027, 3, 15, 9)
        assert best.local_start("Europe/Berlin") == local("Europe/Berlin", 2027, 3, 15, 14)
    else:
        assert best.outside_minutes == 60


def test_the_working_day_moves_in_utc_across_the_change() -> None:
    invitees = [Invitee("America/New_York")]
    before = find_slots(invitees, date(2027, 3, 12), date(2027, 3, 12), HOUR)[0]
    after = find_slots(invitees, date(2027, 3, 15), date(2027, 3, 15), HOUR)[0]
    assert (before.start, after.start) == (utc(2027, 3, 12, 14), utc(2027, 3, 15, 13))


@pytest.mark.parametrize(
    ("zone", "before", "after", "first_utc_before", "first_utc_after"),
    [
        # Sydney leaves summer time on Sunday 4 April 2027 (+11 to +10) and enters it on
        # Sunday 3 October 2027 (+10 to +11): Monday 09:00 moves by an hour in UTC.
        (
            "Australia/Sydney",
            date(2027, 3, 28),
            date(2027, 4, 4),
            utc(2027, 3, 28, 22),
            utc(2027, 4, 4, 23),
        ),
        (
            "Australia/Sydney",
            date(2027, 9, 26),
            date(2027, 10, 3),
            utc(2027, 9, 26, 23),
            utc(2027, 10, 3, 22),
        ),
        # Santiago leaves summer time on 4 April 2027 (-3 to -4), enters it on 5 September.
        (
            "America/Santiago",
            date(2027, 3, 29),
            date(2027, 4, 5),
            utc(2027, 3, 29, 12),
            utc(2027, 4, 5, 13),
        ),
        (
            "America/Santiago",
            date(2027, 8, 30),
            date(2027, 9, 6),
            utc(2027, 8, 30, 13),
            utc(2027, 9, 6, 12),
        ),
    ],
)
def test_southern_hemisphere_changes(
    zone: str, before: date, after: date, first_utc_before: datetime, first_utc_after: datetime
) -> None:
    # The UTC dates given hold the local Monday 09:00.
    assert first_utc_before == local(zone, *_monday_after(before), 9).astimezone(UTC)
    assert first_utc_after == local(zone, *_monday_after(after), 9).astimezone(UTC)
    invitees = [Invitee(zone)]
    assert find_slots(invitees, before, before, HOUR)[0].start == first_utc_before
    assert find_slots(invitees, after, after, HOUR)[0].start == first_utc_after


def _monday_after(day: date) -> tuple[int, int, int]:
    """The local Monday whose 09:00 falls on the UTC date `day` (same day or the next)."""
    monday = day + timedelta(days=(7 - day.weekday()) % 7)
    return monday.year, monday.month, monday.day


def test_sydney_and_santiago_share_no_hour_and_rank_consistently() -> None:
    invitees = [Invitee("Australia/Sydney"), Invitee("America/Santiago")]
    first, last = date(2027, 4, 1), date(2027, 4, 6)
    slots = find_slots(invitees, first, last, HOUR, limit=600)
    assert slots == naive_ranking(invitees, first, last, HOUR, timedelta(minutes=15))


def test_a_working_span_across_a_jump_has_its_real_length() -> None:
    # New York jumps from 02:00 to 03:00 on 14 March 2027, so 00:00-06:00 lasts five hours:
    # 05:00-10:00 UTC. A wall-clock sum would call it six.
    night = Invitee("America/New_York", WorkingHours(time(0), time(6), EVERY_DAY))
    day = date(2027, 3, 14)
    five = find_slots([night], day, day, 5 * HOUR)
    assert (five[0].start, five[0].inside) == (utc(2027, 3, 14, 5), 1)
    assert [s.start for s in five if s.inside] == [utc(2027, 3, 14, 5)]
    six = find_slots([night], day, day, 6 * HOUR)[0]
    assert (six.inside, six.outside_minutes) == (0, 60)
    assert six.start == utc(2027, 3, 14, 4)  # the first of several equally good starts


def test_hours_starting_in_a_skipped_hour_start_at_the_jump() -> None:
    # 02:30 does not exist in New York on 14 March 2027; work starts when clocks show 03:00.
    tz = ZoneInfo("America/New_York")
    assert wall_to_utc(date(2027, 3, 14), time(2, 30), tz) == int(utc(2027, 3, 14, 7).timestamp())
    early = Invitee("America/New_York", WorkingHours(time(2, 30), time(8), EVERY_DAY))
    best = find_slots([early], date(2027, 3, 14), date(2027, 3, 14), timedelta(minutes=30))[0]
    assert best.start == utc(2027, 3, 14, 7)
    assert best.local_start("America/New_York") == local("America/New_York", 2027, 3, 14, 3)
    # Santiago skips its midnight hour on 5 September 2027: a day from 00:00 starts when
    # the clocks show 01:00, at 04:00 UTC.
    santiago = ZoneInfo("America/Santiago")
    assert wall_to_utc(date(2027, 9, 5), time(0), santiago) == int(utc(2027, 9, 5, 4).timestamp())


def test_hours_starting_in_a_repeated_hour_start_at_its_first_occurrence() -> None:
    # New York turns 02:00 back to 01:00 on 7 November 2027: 01:30 happens twice.
    tz = ZoneInfo("America/New_York")
    first = int(local("America/New_York", 2027, 11, 7, 1, 30).timestamp())  # fold=0: EDT
    assert (
        wall_to_utc(date(2027, 11, 7), time(1, 30), tz)
        == first
        == int(utc(2027, 11, 7, 5, 30).timestamp())
    )


# Grouping


def test_grouping_gives_the_same_ranking_as_one_invitee_at_a_time() -> None:
    rng = random.Random(20270314)
    zones = [
        "America/New_York",
        "Europe/London",
        "Europe/Kyiv",
        "Asia/Kolkata",
        "Australia/Sydney",
        "America/Santiago",
    ]
    hours = [
        WorkingHours(),
        WorkingHours.parse("07:30-16:00"),
        WorkingHours.parse("10:00-19:00", weekdays=range(6)),
    ]
    invitees = [Invitee(rng.choice(zones), rng.choice(hours)) for _ in range(14)]
    assert len({(i.zone, i.hours) for i in invitees}) < len(invitees)  # some do group
    # 12-16 March holds the US change (14 March) and a weekend.
    first, last = date(2027, 3, 12), date(2027, 3, 15)
    duration, step = timedelta(minutes=45), timedelta(minutes=30)
    reference = naive_ranking(invitees, first, last, duration, step)
    grouped = find_slots(invitees, first, last, duration, step, limit=len(reference))
    assert grouped == reference
    # Splitting the same people into separate calls per person and adding up agrees too.
    singles = [find_slots([i], first, last, duration, step, limit=1000) for i in invitees]
    totals: dict[datetime, tuple[int, int]] = {}
    for ranking in singles:
        for slot in ranking:
            inside, outside = totals.get(slot.start, (0, 0))
            totals[slot.start] = (inside + slot.inside, outside + slot.outside_minutes)
    assert {s.start: (s.inside, s.outside_minutes) for s in grouped} == totals


def test_order_of_invitees_does_not_matter() -> None:
    invitees = [
        Invitee("Asia/Tokyo"),
        Invitee("Europe/Paris"),
        Invitee("Asia/Tokyo"),
        Invitee("America/Chicago"),
    ]
    args = (date(2027, 3, 10), date(2027, 3, 17), HOUR)
    assert find_slots(invitees, *args) == find_slots(list(reversed(invitees)), *args)


# Bad requests


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"invitees": []}, "at least one invitee"),
        ({"duration": timedelta(0)}, "duration must be positive"),
        ({"duration": timedelta(minutes=-30)}, "duration must be positive"),
        ({"duration": timedelta(seconds=90)}, "duration must be a whole number of minutes"),
        ({"duration": timedelta(hours=25)}, "at most 24 hours"),
        ({"step": timedelta(0)}, "step must be positive"),
        ({"first_day": date(2027, 3, 20)}, "the first day (2027-03-20) is after the last day"),
        ({"last_day": date(2027, 6, 11)}, "covers 93 days; at most 92"),
        ({"limit": 0}, "limit must be at least 1"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(change: dict[str, object], message: str) -> None:
    request: dict[str, object] = {
        "invitees": [Invitee("UTC")],
        "first_day": date(2027, 3, 11),
        "last_day": date(2027, 3, 12),
        "duration": HOUR,
        "step": timedelta(minutes=15),
        "limit": 10,
    }
    request.update(change)
    with pytest.raises(ValueError) as raised:
        find_slots(**request)  # type: ignore[arg-type]
    assert message in str(raised.value)


def test_the_longest_range_is_accepted() -> None:
    slots = find_slots([Invitee("UTC")], date(2027, 3, 11), date(2027, 6, 10), HOUR, limit=1)
    assert slots[0].start == utc(2027, 3, 11, 9)
