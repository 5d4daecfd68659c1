"""Choices offered in forms, as (value, label) pairs with translated labels."""

from __future__ import annotations

from babel import Locale

from exchange import i18n
from exchange.models.accounts import Role
from exchange.services import cities
from exchange.services.labels import role_label as role_label
from exchange.services.time_zones import zone_groups


def role_options(roles: list[Role] | None = None) -> list[tuple[str, str]]:
    return [(role.value, role_label(role)) for role in roles or list(Role)]


def timezone_options() -> list[tuple[str, list[tuple[str, str]]]]:
    """Current canonical zones grouped by region, for `macros.zone_select` (which offers
    the value already chosen first)."""
    return zone_groups()


async def city_options() -> list[tuple[str, str]]:
    return await cities.city_choices()


def weekday_options() -> list[tuple[str, str]]:
    """("0", "Monday") ... ("6", "Sunday") in the reader's language."""
    names = Locale.parse(i18n.current_locale()).days["format"]["wide"]
    return [(str(day), str(names[day])) for day in range(7)]
