"""Catalogue export: every city, practice and taxonomy term in the import format.

Written as a stream, a batch of cities at a time, so exporting a network-sized catalogue
keeps memory flat; importing the file again changes nothing (docs/catalogue-format.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any, TextIO

from exchange.models.cities import City, Practice
from exchange.services import catalogue_terms
from exchange.services.catalogue import challenge_ids, challenges_of, languages_of


async def export_catalogue(out: TextIO) -> tuple[int, int]:
    """Write every city and practice in the catalogue format; return how many of each."""
    slugs = {ident: slug for slug, ident in (await challenge_ids()).items()}
    out.write('{\n  "cities": [')
    cities = 0
    async for batch in _city_batches():
        languages = await languages_of([city.id for city in batch])
        for city in batch:
            out.write(",\n    " if cities else "\n    ")
            out.write(_dump(_city_entry(city, languages.get(city.id, ()))))
            cities += 1
    out.write('\n  ],\n  "practices": [' if cities else '],\n  "practices": [')
    practices = 0
    async for batch in _city_batches():
        by_id = {city.id: city.key for city in batch}
        rows = await Practice.filter(city_id__in=list(by_id)).order_by("city_id", "title", "id")
        rows.sort(key=lambda p: (by_id[p.city_id], p.title, p.id))
        links = await challenges_of([practice.id for practice in rows])
        for practice in rows:
            entry = _practice_entry(
                by_id[practice.city_id],
                practice,
                [slugs[c] for c in links.get(practice.id, ())],
            )
            out.write(",\n    " if practices else "\n    ")
            out.write(_dump(entry))
            practices += 1
    out.write('\n  ],\n  "challenges": [' if practices else '],\n  "challenges": [')
    terms = await catalogue_terms.term_entries()
    for position, entry in enumerate(terms):
        out.write(",\n    " if position else "\n    ")
        out.write(_dump(entry))
    out.write("\n  ]\n}\n" if terms else "]\n}\n")
    return cities, practices


async def _city_batches(size: int = 500) -> AsyncIterator[list[City]]:
    """Every city in key order, a batch at a time (keyset paging keeps memory flat)."""
    last = ""
    while True:
        batch = await City.filter(key__gt=last).order_by("key").limit(size)
        if not batch:
            return
        yield batch
        last = batch[-1].key


def _dump(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False)


def _city_entry(city: City, languages: Iterable[str]) -> dict[str, Any]:
    return {
        "key": city.key,
        "name": city.name,
        "country": city.country,
        "region": city.region.value,
        "population": city.population,
        "languages": list(languages),
        "timezone": city.timezone,
        "mentoring_capacity": city.mentoring_capacity,
        "profile": city.profile,
    }


def _practice_entry(city_key: str, practice: Practice, challenges: list[str]) -> dict[str, Any]:
    return {
        "city": city_key,
        "title": practice.title,
        "summary": practice.summary,
        "challenges": challenges,
        "since": practice.since,
        "outcomes": practice.outcomes,
        "links": list(practice.links),
        "status": practice.status.value,
        # str() of a date is its ISO form (and a driver handing back text passes through).
        "last_reviewed": str(practice.last_reviewed) if practice.last_reviewed else None,
    }
