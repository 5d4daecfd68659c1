"""Builders for the city library tests: the taxonomy, cities, practices, catalogue files."""

from __future__ import annotations

import io
import json
from typing import Any

from exchange.models.cities import Challenge, City, CityLanguage, Practice, PracticeChallenge
from exchange.services import catalogue, catalogue_export
from exchange.services.cities import load_shipped_taxonomy


async def taxonomy() -> None:
    """Test tables start empty; put the shipped challenge terms back."""
    await load_shipped_taxonomy()


def city_entry(key: str = "lyon-fr", **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "key": key,
        "name": key.split("-")[0].title() or "Somewhere",
        "country": "FR",
        "region": "europe",
        "population": 500000,
        "languages": ["fr"],
        "timezone": "Europe/Paris",
        "mentoring_capacity": 1,
    }
    entry.update(fields)
    return entry


def practice_entry(
    city: str = "lyon-fr", title: str = "A practice", **fields: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "city": city,
        "title": title,
        "summary": "What the city did.",
        "challenges": ["community-engagement"],
    }
    entry.update(fields)
    return entry


def as_file(data: dict[str, Any] | str) -> io.BytesIO:
    text = data if isinstance(data, str) else json.dumps(data)
    return io.BytesIO(text.encode("utf-8"))


async def import_data(data: dict[str, Any] | str) -> catalogue.ImportReport:
    return await catalogue.import_catalogue(as_file(data))


async def problems_of(data: dict[str, Any] | str) -> list[str]:
    try:
        await import_data(data)
    except catalogue.CatalogueError as exc:
        return exc.problems
    raise AssertionError("the import was expected to fail")


async def make_city(key: str = "lyon-fr", **fields: Any) -> City:
    languages = fields.pop("languages", ["fr"])
    values = city_entry(key, **fields)
    values.pop("languages")
    city = await City.create(**values)
    for position, code in enumerate(languages):
        await CityLanguage.create(city=city, code=code, position=position)
    return city


async def make_practice(
    city: City,
    title: str = "A practice",
    challenges: tuple[str, ...] = ("community-engagement",),
    **fields: Any,
) -> Practice:
    values: dict[str, Any] = {"summary": "What the city did."}
    values.update(fields)
    practice = await Practice.create(city=city, title=title, **values)
    for slug in challenges:
        await PracticeChallenge.create(practice=practice, challenge=await Challenge.get(slug=slug))
    return practice


async def export_text() -> str:
    out = io.StringIO()
    await catalogue_export.export_catalogue(out)
    return out.getvalue()
