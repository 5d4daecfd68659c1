"""The time zones people choose from: current canonical IANA zones, grouped by region.

`zoneinfo.available_timezones()` also holds every backward-compatible link (`US/Eastern`,
`Europe/Kiev`, `Etc/GMT+5`, `GB`...), which only confuse a person choosing their zone. The
list offered is tzdata's own `zone.tab` (one zone per country region, the list tz tools
show people), kept to the zones this Python can load, plus `UTC`. A value already stored
(an older link, say) is still offered to its owner and still accepted, so nobody loses
their setting by saving a form.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path

from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop

UTC = "UTC"
# The first part of a zone's name, as the groups of the list; anything else is "Other".
REGIONS: dict[str, str] = {
    "Africa": gettext_noop("Africa"),
    "America": gettext_noop("Americas"),
    "Antarctica": gettext_noop("Antarctica"),
    "Arctic": gettext_noop("Arctic"),
    "Asia": gettext_noop("Asia"),
    "Atlantic": gettext_noop("Atlantic Ocean"),
    "Australia": gettext_noop("Australia"),
    "Europe": gettext_noop("Europe"),
    "Indian": gettext_noop("Indian Ocean"),
    "Pacific": gettext_noop("Pacific Ocean"),
}


def _zone_tab_text() -> str:
    """tzdata's `zone.tab`: the system's (where zoneinfo looks first), else the package's."""
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return ""


def parse_zone_tab(text: str) -> set[str]:
    """The zone names (third column) of a `zone.tab` or `zone1970.tab` text."""
    zones: set[str] = set()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) >= 3:
            zones.add(columns[2].strip())
    return zones


@cache
def canonical_zones() -> frozenset[str]:
    """Current canonical zones that this Python can load, and UTC."""
    available = zoneinfo.available_timezones()
    listed = parse_zone_tab(_zone_tab_text()) & available
    return frozenset(listed | {UTC})


def is_offered(value: str, existing: str = "") -> bool:
    """Whether `value` is a zone a person may choose: a canonical one or the one they have."""
    return value in canonical_zones() or (bool(existing) and value == existing)


def region_of(zone: str) -> str:
    head = zone.split("/", 1)[0]
    return head if head in REGIONS and "/" in zone else ""


def _label(zone: str) -> str:
    return zone.replace("_", " ")


@cache
def _region_zones() -> list[tuple[str, list[str]]]:
    by_region: dict[str, list[str]] = {}
    for zone in canonical_zones():
        by_region.setdefault(region_of(zone), []).append(zone)
    return [(region, sorted(by_region[region])) for region in sorted(by_region, key=_last_other)]


def _last_other(region: str) -> tuple[bool, str]:
    return (region == "", region)


def zone_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """(group label, [(zone, label)]) in the reader's language: each region in
    alphabetical order, then "Other" (UTC). Forms put the person's own zone first."""
    return [
        (_(REGIONS[region]) if region else _("Other"), _options(zones))
        for region, zones in _region_zones()
    ]


def _options(zones: Iterable[str]) -> list[tuple[str, str]]:
    return [(zone, _label(zone)) for zone in sorted(zones)]
