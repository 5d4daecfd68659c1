"""Mentoring capacity: how many exchanges a city can host at once.

Taken by ONE conditional UPDATE whose row count says whether a unit was free, so two
acceptances racing for the last unit can never both win, on either database.
"""

from __future__ import annotations

from tortoise.expressions import F

from exchange.i18n import gettext as _
from exchange.models.cities import City
from exchange.services.errors import Conflict


async def take_capacity(city: City) -> None:
    """One unit of mentoring capacity, in one conditional UPDATE: never overbooked."""
    taken = await City.filter(id=city.id, capacity_used__lt=F("mentoring_capacity")).update(
        capacity_used=F("capacity_used") + 1
    )
    if taken != 1:
        raise Conflict(
            "no_capacity", _("%(city)s has no free mentoring capacity left.") % {"city": city.name}
        )


async def free_capacity(city_id: int) -> None:
    await City.filter(id=city_id, capacity_used__gt=0).update(capacity_used=F("capacity_used") - 1)
