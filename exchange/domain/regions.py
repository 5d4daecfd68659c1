"""The world regions a city belongs to: the one list every layer uses.

The values are what the database stores (`City.region`), so they never change. Names
for readers are given in the reader's locale by `services/labels.region_label`.
"""

from __future__ import annotations

from enum import StrEnum


class Region(StrEnum):
    EUROPE = "europe"
    NORTH_AMERICA = "north-america"
    LATIN_AMERICA = "latin-america"
    AFRICA = "africa"
    MIDDLE_EAST = "middle-east"
    ASIA = "asia"
    OCEANIA = "oceania"


#: Region codes as plain strings, in the order forms list them.
REGIONS: tuple[str, ...] = tuple(region.value for region in Region)


def is_region(code: str) -> bool:
    """True for a stored region code such as "north-america"."""
    return code in Region._value2member_map_
