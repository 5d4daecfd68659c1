"""The catalogue version stamp that tells workers their matching index is stale."""

from __future__ import annotations

from uuid import uuid4

from tortoise.expressions import F

from exchange.models.cities import CatalogueVersion

ROW_ID = 1


async def bump() -> None:
    """Call inside the transaction of any change to cities, practices or the taxonomy."""
    token = uuid4().hex
    updated = await CatalogueVersion.filter(id=ROW_ID).update(version=F("version") + 1, token=token)
    if not updated:
        await CatalogueVersion.create(id=ROW_ID, version=1, token=token)


async def current() -> int:
    row = await CatalogueVersion.get_or_none(id=ROW_ID)
    return row.version if row else 0


async def stamp() -> tuple[int, str]:
    """(version, token): the token names this state of the catalogue in any database."""
    row = await CatalogueVersion.get_or_none(id=ROW_ID)
    return (row.version, row.token) if row else (0, "")
