"""`exchange slots`: meeting times for invitees spread over time zones.

One `--zone` per invitee, all with the same working hours. Prints a table, or with
--json a list, best first, of `{"start", "end", "inside", "local"}` objects: UTC times as
ISO 8601 with `Z`, `inside` the number of invitees whose working hours hold the whole
slot, `local` the start on each zone's clocks. The command reads only the time zone
database, never the Exchange database. Every bad value raises ValueError with a
one-line reason for the caller to print.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from exchange.domain.scheduling import Invitee, Slot, WorkingHours, find_slots

DEFAULT_HOURS = "09:00-18:00"
DEFAULT_LIMIT = 10
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def add_slots_parser(commands: Any) -> argparse.ArgumentParser:
    slots: argparse.ArgumentParser = commands.add_parser(
        "slots", help="find meeting times across time zones (needs no database)"
    )
    slots.add_argument(
        "--zone",
        action="append",
        required=True,
        metavar="ZONE",
        help="IANA time zone of one invitee, such as Europe/Kyiv (repeat for each invitee)",
    )
    slots.add_argument(
        "--from", dest="first_day", required=True, metavar="YYYY-MM-DD", help="first UTC date"
    )
    slots.add_argument(
        "--to", dest="last_day", required=True, metavar="YYYY-MM-DD", help="last UTC date"
    )
    slots.add_argument("--duration", required=True, metavar="MINUTES", help="meeting length")
    slots.add_argument(
        "--hours",
        default=DEFAULT_HOURS,
        metavar="HH:MM-HH:MM",
        help=f"everyone's working hours, Monday to Friday ({DEFAULT_HOURS})",
    )
    slots.add_argument(
        "--limit", default=str(DEFAULT_LIMIT), metavar="N", help=f"how many ({DEFAULT_LIMIT})"
    )
    slots.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return slots


@dataclass(frozen=True)
class SlotsRequest:
    invitees: tuple[Invitee, ...]
    first_day: date
    last_day: date
    duration: timedelta
    limit: int

    @property
    def zones(self) -> list[str]:
        """Each zone once, in the order given: the columns of the answer."""
        return list(dict.fromkeys(invitee.zone for invitee in self.invitees))


def parse_args(args: argparse.Namespace) -> SlotsRequest:
    """The request the flags describe; ValueError names the flag that is wrong."""
    try:
        hours = WorkingHours.parse(args.hours)
    except ValueError as exc:
        raise ValueError(f"--hours: {exc}") from None
    return SlotsRequest(
        invitees=tuple(Invitee(zone, hours) for zone in args.zone),
        first_day=_date("--from", args.first_day),
        last_day=_date("--to", args.last_day),
        duration=timedelta(minutes=_whole("--duration", args.duration)),
        limit=_whole("--limit", args.limit),
    )


def run(args: argparse.Namespace) -> str:
    """What the command prints for these flags."""
    request = parse_args(args)
    slots = find_slots(
        request.invitees,
        request.first_day,
        request.last_day,
        request.duration,
        limit=request.limit,
    )
    if args.json:
        return json.dumps(
            [slot_json(slot, request.zones) for slot in slots], ensure_ascii=False, indent=2
        )
    return render_table(slots, request)


def slot_json(slot: Slot, zones: list[str]) -> dict[str, Any]:
    return {
        "start": _utc(slot.start),
        "end": _utc(slot.end),
        "inside": slot.inside,
        "local": {zone: f"{slot.local_start(zone):%Y-%m-%dT%H:%M}" for zone in zones},
    }


def render_table(slots: list[Slot], request: SlotsRequest) -> str:
    """One line per slot: rank, UTC start, who it suits, minutes outside, local starts."""
    minutes = int(request.duration / timedelta(minutes=1))
    lines = [
        f"{minutes}-minute meetings starting {request.first_day} to {request.last_day} (UTC), "
        f"best first, for {len(request.invitees)} invitee(s):"
    ]
    header = ["#", "start (UTC)", "inside", "outside", *request.zones]
    rows = [
        [
            str(rank),
            f"{slot.start:%Y-%m-%d %H:%M}",
            f"{slot.inside}/{len(request.invitees)}",
            f"{slot.outside_minutes} min",
            *(f"{slot.local_start(zone):%a %m-%d %H:%M}" for zone in request.zones),
        ]
        for rank, slot in enumerate(slots, start=1)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [row[0].rjust(widths[0])] + [
            cell.ljust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _date(flag: str, text: str) -> date:
    # date.fromisoformat also takes "20270315" and week dates; ask for one plain form.
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"{flag} must be a date written YYYY-MM-DD, not {text!r}")


def _whole(flag: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag} must be a whole number, not {text!r}") from None


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"
