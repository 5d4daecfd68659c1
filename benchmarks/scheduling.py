"""Speed of the meeting-time finder on a large, spread-out set of invitees.

Puts 60 invitees in 20 zones around the world (three per zone), searches three weeks that
include the North American and European daylight-saving changes in 15-minute steps,
warms up, then times `find_slots` over several runs. With --distinct every invitee gets
their own working hours, so nothing can be grouped (the worst case). Run from the
repository root:

    python benchmarks/scheduling.py [--runs 50] [--distinct]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange.domain.scheduling import Invitee, WorkingHours, find_slots  # noqa: E402

TARGET_P95_MS = 200.0
PER_ZONE = 3
FIRST_DAY = date(2027, 3, 8)
LAST_DAY = date(2027, 3, 28)
DURATION = timedelta(minutes=60)

# Both hemispheres, half-hour and quarter-hour offsets, zones with and without DST.
ZONES = (
    "America/Los_Angeles",
    "America/Vancouver",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Santiago",
    "Atlantic/Reykjavik",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Kyiv",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def make_invitees(distinct: bool) -> list[Invitee]:
    invitees = []
    for number, zone in enumerate(ZONES):
        for member in range(PER_ZONE):
            if distinct:
                # A different quarter-hour start for every invitee defeats grouping.
                minutes = 7 * 60 + (number * PER_ZONE + member) * 3
                start = f"{minutes // 60:02d}:{minutes % 60:02d}"
                hours = WorkingHours.parse(f"{start}-{minutes // 60 + 8:02d}:{minutes % 60:02d}")
            else:
                hours = WorkingHours()
            invitees.append(Invitee(zone, hours))
    return invitees


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--distinct", action="store_true", help="own working hours for everyone")
    args = parser.parse_args(argv)

    invitees = make_invitees(args.distinct)
    groups = len({(i.zone, i.hours) for i in invitees})
    candidates = ((LAST_DAY - FIRST_DAY).days + 1) * 24 * 4
    print(
        f"{len(invitees)} invitees in {len(ZONES)} zones ({groups} groups), "
        f"{FIRST_DAY} to {LAST_DAY}, {candidates} candidate starts"
    )
    started = time.perf_counter()
    find_slots(invitees, FIRST_DAY, LAST_DAY, DURATION)
    print(f"first call: {(time.perf_counter() - started) * 1000.0:.1f} ms")
    for _ in range(args.warmup):
        find_slots(invitees, FIRST_DAY, LAST_DAY, DURATION)
    timings: list[float] = []
    for _ in range(args.runs):
        started = time.perf_counter()
        best = find_slots(invitees, FIRST_DAY, LAST_DAY, DURATION)
        timings.append((time.perf_counter() - started) * 1000.0)
    median, p95 = statistics.median(timings), percentile(timings, 0.95)
    print(
        f"find_slots over {len(timings)} runs: median {median:.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(timings):.1f} ms"
    )
    print(f"best: {best[0].start:%Y-%m-%d %H:%M} UTC, inside for {best[0].inside}")
    ok = p95 < TARGET_P95_MS
    print(f"target (p95 < {TARGET_P95_MS:.0f} ms):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
