"""The catalogue version stamp that tells workers their matching index is stale."""

from __future__ import annotations

from tortoise.expressions import F

from exchange.models.cities import CatalogueVersion

ROW_ID = 1


async def bump() -> None:
    """Call inside the transaction of any change to cities, practices or the taxonomy."""
    updated = await CatalogueVersion.filter(id=ROW_ID).update(version=F("version") + 1)
    if not updated:
        await CatalogueVersion.create(id=ROW_ID, version=1)


async def current() -> int:
    row = await CatalogueVersion.get_or_none(id=ROW_ID)
    return row.version if row else 0
