"""Well-being check-ins reach facilitators only as k-anonymous period aggregates."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from exchange.domain.privacy import MIN_MEMBERS, CheckIn, PeriodSummary, summarise

# Monday 15 March 2027, 10:00 UTC: inside ISO week 2027-W11.
MONDAY = datetime(2027, 3, 15, 10, tzinfo=UTC)


def checkins(scores: dict[int, list[int]], at: datetime = MONDAY) -> list[CheckIn]:
    """Check-ins by member id, an hour apart, all in the week of `at`."""
    made = []
    for member, member_scores in scores.items():
        for number, score in enumerate(member_scores):
            made.append(CheckIn(member, score, at + timedelta(hours=number)))
    return made


def test_the_threshold_is_five_members() -> None:
    assert MIN_MEMBERS == 5


def test_four_members_show_nothing_five_show_the_period() -> None:
    four = checkins({1: [2], 2: [3], 3: [4], 4: [5]})
    assert summarise(four, "week") == []
    five = [*four, CheckIn(5, 1, MONDAY)]
    assert summarise(five, "week") == [PeriodSummary("2027-W11", 5, 3.0)]


def test_five_checkins_from_four_members_show_nothing() -> None:
    assert summarise(checkins({1: [1, 5], 2: [3], 3: [4], 4: [2]}), "week") == []


def test_each_member_counts_once_with_their_own_mean() -> None:
    # Member 1 checks in five times at 5; four others once at 1. Per check-in the mean
    # would be (25 + 4) / 9 = 3.2; per member it is (5 + 1 + 1 + 1 + 1) / 5 = 1.8.
    [week] = summarise(checkins({1: [5] * 5, 2: [1], 3: [1], 4: [1], 5: [1]}), "week")
    assert (week.members, week.mean) == (5, 1.8)
    # A member's own check-ins are averaged first: (1.5 + 2 + 3 + 4 + 5) / 5 = 3.1.
    [week] = summarise(checkins({1: [1, 2], 2: [2], 3: [3], 4: [4], 5: [5]}), "week")
    assert week.mean == 3.1


def test_the_mean_is_rounded_half_up_to_one_decimal() -> None:
    # Eight members totalling 18: 2.25 exactly, which round() would make 2.2.
    scores = {m: [s] for m, s in enumerate([1, 1, 2, 2, 3, 3, 3, 3], start=1)}
    [week] = summarise(checkins(scores), "week")
    assert (week.members, week.mean) == (8, 2.3)
    # Six members totalling 14: 2.333... rounds down to 2.3.
    scores = {m: [s] for m, s in enumerate([1, 2, 2, 2, 3, 4], start=1)}
    assert summarise(checkins(scores), "week")[0].mean == 2.3


def test_iso_weeks_across_a_year_end() -> None:
    # 2026 has 53 ISO weeks: Thursday 31 December 2026 and Friday 1 January 2027 are both
    # in 2026-W53; Monday 4 January 2027 starts 2027-W01.
    thursday = datetime(2026, 12, 31, 12, tzinfo=UTC)
    friday = datetime(2027, 1, 1, 12, tzinfo=UTC)
    monday = datetime(2027, 1, 4, 12, tzinfo=UTC)
    data = [
        *(CheckIn(m, 4, thursday) for m in (1, 2, 3)),
        *(CheckIn(m, 2, friday) for m in (4, 5)),
        *(CheckIn(m, 3, monday) for m in (1, 2, 3, 4, 5)),
    ]
    assert summarise(data, "week") == [
        PeriodSummary("2026-W53", 5, 3.2),
        PeriodSummary("2027-W01", 5, 3.0),
    ]
    # By month they split differently: three members in December are too few, and in
    # January members 4 and 5 average their 2 and 3: (3 + 3 + 3 + 2.5 + 2.5) / 5 = 2.8.
    assert summarise(data, "month") == [PeriodSummary("2027-01", 5, 2.8)]


def test_iso_week_one_can_start_in_december() -> None:
    # Monday 30 December 2024 is in 2025-W01.
    data = checkins({m: [3] for m in range(1, 6)}, at=datetime(2024, 12, 30, 9, tzinfo=UTC))
    assert [s.period for s in summarise(data, "week")] == ["2025-W01"]
    assert [s.period for s in summarise(data, "month")] == ["2024-12"]


def test_months_and_ascending_order() -> None:
    april = checkins({m: [4] for m in range(1, 7)}, at=datetime(2027, 4, 2, tzinfo=UTC))
    march = checkins({m: [2] for m in range(1, 6)}, at=datetime(2027, 3, 2, tzinfo=UTC))
    sparse_may = checkins({1: [5], 2: [5]}, at=datetime(2027, 5, 2, tzinfo=UTC))
    assert summarise([*sparse_may, *april, *march], "month") == [
        PeriodSummary("2027-03", 5, 2.0),
        PeriodSummary("2027-04", 6, 4.0),
    ]
    many_months = [
        *checkins({m: [3] for m in range(1, 6)}, at=datetime(2026, 11, 2, tzinfo=UTC)),
        *checkins({m: [3] for m in range(1, 6)}, at=datetime(2027, 2, 2, tzinfo=UTC)),
        *checkins({m: [3] for m in range(1, 6)}, at=datetime(2026, 10, 2, tzinfo=UTC)),
    ]
    assert [s.period for s in summarise(many_months, "month")] == [
        "2026-10",
        "2026-11",
        "2027-02",
    ]


def test_periods_follow_the_circles_zone() -> None:
    # 23:30 UTC on 31 March is already 1 April in Kyiv (UTC+3 in summer).
    late = checkins({m: [5] for m in range(1, 6)}, at=datetime(2027, 3, 31, 21, 30, tzinfo=UTC))
    assert [s.period for s in summarise(late, "month")] == ["2027-03"]
    kyiv = ZoneInfo("Europe/Kyiv")
    assert [s.period for s in summarise(late, "month", kyiv)] == ["2027-04"]
    # Sunday 21 March 23:00 UTC is Monday 22 March in Kyiv: week 12, not 11.
    sunday_night = checkins({m: [5] for m in range(1, 6)}, at=datetime(2027, 3, 21, 23, tzinfo=UTC))
    assert [s.period for s in summarise(sunday_night, "week")] == ["2027-W11"]
    assert [s.period for s in summarise(sunday_night, "week", kyiv)] == ["2027-W12"]


def test_the_open_period_is_left_out_when_now_is_given() -> None:
    last_week = checkins({m: [4] for m in range(1, 6)}, at=MONDAY - timedelta(days=7))
    this_week = checkins({m: [2] for m in range(1, 6)}, at=MONDAY)
    data = [*last_week, *this_week]
    assert [s.period for s in summarise(data, "week")] == ["2027-W10", "2027-W11"]
    assert [s.period for s in summarise(data, "week", now=MONDAY + timedelta(days=2))] == [
        "2027-W10"
    ]
    next_monday = datetime(2027, 3, 22, 0, 1, tzinfo=UTC)
    assert [s.period for s in summarise(data, "week", now=next_monday)] == [
        "2027-W10",
        "2027-W11",
    ]


def test_a_summary_holds_no_member_or_breakdown() -> None:
    assert [f.name for f in fields(PeriodSummary)] == ["period", "members", "mean"]


def test_nothing_in_nothing_out() -> None:
    assert summarise([], "week") == []
    assert summarise(iter(()), "month") == []


@pytest.mark.parametrize("score", [0, 6, -1, 100])
def test_scores_outside_one_to_five_are_rejected(score: int) -> None:
    with pytest.raises(ValueError, match="from 1 to 5"):
        CheckIn(1, score, MONDAY)


@pytest.mark.parametrize("score", [True, 2.5, "3", None])
def test_scores_must_be_whole_numbers(score: Any) -> None:
    with pytest.raises(ValueError, match="whole number"):
        CheckIn(1, score, MONDAY)


def test_naive_times_and_unknown_periods_are_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        CheckIn(1, 3, MONDAY.replace(tzinfo=None))
    with pytest.raises(ValueError, match="'week' or 'month'"):
        summarise([], "day")  # type: ignore[arg-type]
