"""Each field of a city and a practice is checked, with its location in the catalogue."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.models.cities import City

from library_data import city_entry, import_data, practice_entry, problems_of, taxonomy


@pytest.fixture
async def terms(clean_db: str) -> None:
    await taxonomy()


CITY_CASES: list[tuple[str, Any, str]] = [
    ("key", "Lyon FR", "cities[0].key: must be lower-case letters"),
    ("key", "", "cities[0].key: is required"),
    ("name", "", "cities[0].name: is required"),
    ("name", "x" * 121, "cities[0].name: must be at most 120 characters"),
    ("country", "XX", "cities[0].country: unknown country code 'XX'"),
    ("country", "GBR", "cities[0].country: must be at most 2 characters"),
    ("country", "EU", "cities[0].country: unknown country code 'EU'"),
    ("region", "antarctica", "cities[0].region: unknown region 'antarctica'"),
    ("population", -5, "cities[0].population: is too small: the least allowed is 0"),
    (
        "population",
        10**39,
        "cities[0].population: is too large: the most allowed is 2,000,000,000",
    ),
    ("population", "many", "cities[0].population: must be a whole number"),
    ("population", 12.5, "cities[0].population: must be a whole number"),
    ("languages", ["fr", "xx"], "cities[0].languages: unknown language code 'xx' (ISO"),
    ("languages", ["fra"], "cities[0].languages: unknown language code 'fra'"),
    (
        "languages",
        ["english", "fr", "zz"],
        "cities[0].languages: unknown language codes 'english', 'zz' (ISO 639-1",
    ),
    ("languages", ["fr", "fr"], "cities[0].languages[1]: 'fr' is listed twice"),
    ("languages", "fr", "cities[0].languages: must be a list"),
    ("timezone", "Europe/Lyon", "cities[0].timezone: unknown time zone 'Europe/Lyon'"),
    ("mentoring_capacity", -1, "cities[0].mentoring_capacity: is too small"),
    (
        "mentoring_capacity",
        5000,
        "cities[0].mentoring_capacity: is too large: the most allowed is 1000",
    ),
    ("mentoring_capacity", True, "cities[0].mentoring_capacity: must be a whole number"),
    ("profile", 42, "cities[0].profile: must be text"),
    ("colour", "blue", "cities[0].colour: unknown field"),
]


@pytest.mark.parametrize(("field", "value", "message"), CITY_CASES)
async def test_each_city_field_is_checked(
    terms: None, field: str, value: Any, message: str
) -> None:
    problems = await problems_of({"cities": [city_entry(**{field: value})]})
    assert len(problems) == 1, problems
    assert problems[0].startswith(message), problems


PRACTICE_CASES: list[tuple[str, Any, str]] = [
    ("title", "", "practices[0].title: is required"),
    ("title", "t" * 201, "practices[0].title: must be at most 200 characters"),
    ("summary", None, "practices[0].summary: is required"),
    ("challenges", [], "practices[0].challenges: name at least one challenge"),
    ("challenges", ["foo"], "practices[0].challenges[0]: unknown challenge 'foo'"),
    ("challenges", "online-harms", "practices[0].challenges: must be a list"),
    ("since", 1700, "practices[0].since: is too small: the least allowed is 1800"),
    ("since", 3000, "practices[0].since: is too large: the most allowed is"),
    ("since", "2019", "practices[0].since: must be a whole number"),
    ("outcomes", ["x"], "practices[0].outcomes: must be text"),
    ("links", ["javascript:alert(1)"], "practices[0].links[0]: must be a web address"),
    ("links", [3], "practices[0].links[0]: must be text"),
    ("links", ["https://[::1/x"], "practices[0].links[0]: must be a web address"),
    ("status", "secret", "practices[0].status: must be 'draft' or 'published'"),
    ("last_reviewed", "31/01/2025", "practices[0].last_reviewed: must be a date"),
    ("author", "me", "practices[0].author: unknown field"),
    ("city", "atlantis-xx", "practices[0].city: unknown city 'atlantis-xx'"),
]


@pytest.mark.parametrize(("field", "value", "message"), PRACTICE_CASES)
async def test_each_practice_field_is_checked(
    terms: None, field: str, value: Any, message: str
) -> None:
    problems = await problems_of(
        {
            "cities": [city_entry("lyon-fr")],
            "practices": [practice_entry(**{field: value})],
        }
    )
    assert len(problems) == 1, problems
    assert problems[0].startswith(message), problems


async def test_missing_optional_fields_are_fine(terms: None) -> None:
    await import_data(
        {
            "cities": [{"key": "lyon-fr", "name": "Lyon", "country": "fr", "region": "europe"}],
            "practices": [
                {"city": "lyon-fr", "title": "T", "summary": "S", "challenges": ["online-harms"]}
            ],
        }
    )
    city = await City.get(key="lyon-fr")
    assert (city.country, city.timezone, city.mentoring_capacity, city.population) == (
        "FR",
        "UTC",
        0,
        None,
    )


async def test_duplicates_within_the_file_are_reported(terms: None) -> None:
    problems = await problems_of(
        {
            "cities": [city_entry("lyon-fr"), city_entry("lyon-fr")],
            "practices": [practice_entry(title="Same"), practice_entry(title="Same")],
        }
    )
    assert problems == [
        "cities[1].key: 'lyon-fr' appears twice in the file",
        "practices[1].title: 'Same' appears twice for city 'lyon-fr'",
    ]


async def test_an_empty_object_is_an_empty_catalogue(terms: None) -> None:
    report = await import_data("{}")
    assert report.cities_created == report.practices_created == 0
