"""Catalogue import and export: validation with locations, all-or-nothing, idempotent
upserts, the exact round trip, and the command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from conftest import empty_tables

from exchange.models.cities import City, CityLanguage, Practice, PracticeStatus
from exchange.services import catalogue, catalogue_version, json_stream
from exchange.services.catalogue import CatalogueError

from library_data import (
    city_entry,
    export_text,
    import_data,
    practice_entry,
    problems_of,
    taxonomy,
)

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "exchange" / "data" / "demo_catalogue.json"


@pytest.fixture
async def terms(clean_db: str) -> None:
    await taxonomy()


async def test_a_valid_catalogue_imports_cities_practices_languages_and_tags(terms: None) -> None:
    report = await import_data(
        {
            "cities": [city_entry("lyon-fr", languages=["fr", "en"], profile="**Lyon**")],
            "practices": [
                practice_entry(
                    "lyon-fr",
                    "Neighbourhood mediators",
                    since=2019,
                    outcomes="Fewer disputes",
                    links=["https://example.org/mediators"],
                    challenges=["community-engagement", "hate-polarisation"],
                )
            ],
        }
    )
    assert (report.cities_created, report.practices_created) == (1, 1)
    city = await City.get(key="lyon-fr")
    assert city.profile == "**Lyon**"
    codes = await CityLanguage.filter(city=city).order_by("position").values_list("code", flat=True)
    assert codes == ["fr", "en"]
    practice = await Practice.get(city=city, title="Neighbourhood mediators")
    assert practice.status == PracticeStatus.PUBLISHED
    assert practice.links == ["https://example.org/mediators"]
    slugs = (
        await practice.challenge_links.all()
        .order_by("id")
        .values_list("challenge__slug", flat=True)
    )
    assert slugs == ["community-engagement", "hate-polarisation"]


async def test_every_problem_is_reported_with_its_location_and_nothing_changes(
    terms: None,
) -> None:
    before = await catalogue_version.current()
    problems = await problems_of(
        {
            "cities": [city_entry("lyon-fr"), city_entry("nice-fr", country="XX")],
            "practices": [
                practice_entry("lyon-fr", "Good one"),
                practice_entry("lyon-fr", "Bad tags", challenges=["community-engagement", "foo"]),
                practice_entry("atlantis-xx", "Lost"),
            ],
            "version": 2,
        }
    )
    assert problems == [
        "cities[1].country: unknown country code 'XX' (ISO 3166-1 alpha-2, like 'GB')",
        "practices[1].challenges[1]: unknown challenge 'foo'",
        "version: unknown top-level key",
        "practices[2].city: unknown city 'atlantis-xx'",
    ]
    assert await City.all().count() == 0
    assert await Practice.all().count() == 0
    assert await catalogue_version.current() == before


async def test_a_practice_with_several_problems_reports_them_all_at_once(
    terms: None,
) -> None:
    problems = await problems_of(
        {
            "practices": [
                {
                    "city": "nowhere",
                    "title": "",
                    "summary": "s",
                    "challenges": ["crisis-communication", "no-such-challenge"],
                }
            ]
        }
    )
    assert problems == [
        "practices[0].title: is required",
        "practices[0].challenges[1]: unknown challenge 'no-such-challenge'",
        "practices[0].city: unknown city 'nowhere'",
    ]


async def test_a_failure_while_writing_rolls_everything_back(terms: None) -> None:
    # A checked file cannot fail while writing, so the file changes between the passes:
    # the second one names a city that exists nowhere, after writing a city.
    class Shifty:
        def __init__(self) -> None:
            good = {"cities": [city_entry("lyon-fr")], "practices": [practice_entry()]}
            bad = {"cities": [city_entry("lyon-fr")], "practices": [practice_entry("ghost-xx")]}
            self.passes = [json.dumps(good).encode(), json.dumps(bad).encode()]
            self.data = self.passes.pop(0)
            self.pos = 0

        def read(self, size: int = -1) -> bytes:
            chunk = self.data[self.pos :] if size < 0 else self.data[self.pos : self.pos + size]
            self.pos += len(chunk)
            return chunk

        def seek(self, offset: int, whence: int = 0) -> int:
            if self.passes:
                self.data = self.passes.pop(0)
            self.pos = offset
            return offset

        def tell(self) -> int:
            return self.pos

    with pytest.raises(KeyError):
        await catalogue.import_catalogue(Shifty())  # type: ignore[arg-type]
    assert await City.all().count() == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[]", "not valid JSON: line 1, column 1: expected the file to be a JSON object"),
        ('{"cities": [\n{"key": "a",}\n]}', "not valid JSON: line 2, column 13: Expecting"),
        ("", "not valid JSON: line 1, column 1: the file is empty"),
        ("name,country\nLyon,FR\n", "not valid JSON: line 1, column 1: Expecting value"),
        ('{\n  "cities": []\n  "practices": []\n}', "not valid JSON: line 3, column 3: expected"),
        ('{"cities": {}}', "cities: must be a list"),
        ('{"cities": [1]}', "cities[0]: must be an object"),
    ],
)
async def test_broken_files_are_reported_not_crashed_on(
    terms: None, text: str, expected: str
) -> None:
    problems = await problems_of(text)
    assert problems[0].startswith(expected), problems


async def test_reimporting_the_same_file_changes_nothing(terms: None) -> None:
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    first = await import_data(data)
    assert (first.cities_created, first.practices_created) == (41, 56)
    exported = await export_text()
    version = await catalogue_version.current()
    again = await import_data(data)
    assert (again.cities_created, again.cities_updated, again.cities_unchanged) == (0, 0, 41)
    assert (again.practices_created, again.practices_updated) == (0, 0)
    assert await export_text() == exported
    assert await catalogue_version.current() == version + 1


async def test_an_import_updates_cities_by_key_and_practices_by_city_and_title(
    terms: None,
) -> None:
    await import_data(
        {
            "cities": [city_entry("lyon-fr", languages=["fr"])],
            "practices": [practice_entry("lyon-fr", "Mediators", since=2019)],
        }
    )
    report = await import_data(
        {
            "cities": [city_entry("lyon-fr", name="Lyon Métropole", languages=["en", "fr"])],
            "practices": [
                practice_entry(
                    "lyon-fr",
                    "Mediators",
                    since=2020,
                    status="draft",
                    challenges=["hate-polarisation"],
                    last_reviewed="2025-01-31",
                )
            ],
        }
    )
    assert (report.cities_updated, report.practices_updated) == (1, 1)
    city = await City.get(key="lyon-fr")
    assert city.name == "Lyon Métropole"
    codes = await CityLanguage.filter(city=city).order_by("position").values_list("code", flat=True)
    assert codes == ["en", "fr"]
    practice = await Practice.get(title="Mediators")
    assert (practice.since, practice.status) == (2020, PracticeStatus.DRAFT)
    assert str(practice.last_reviewed) == "2025-01-31"
    slugs = await practice.challenge_links.all().values_list("challenge__slug", flat=True)
    assert slugs == ["hate-polarisation"]
    assert await Practice.all().count() == 1


async def test_practices_may_come_first_or_name_cities_already_stored(terms: None) -> None:
    await import_data({"cities": [city_entry("lyon-fr")]})
    await import_data(
        {
            "practices": [practice_entry("nice-fr", "Beach watch"), practice_entry("lyon-fr")],
            "cities": [city_entry("nice-fr")],
        }
    )
    assert await Practice.filter(city__key="nice-fr").count() == 1
    assert await Practice.filter(city__key="lyon-fr").count() == 1


async def test_export_then_import_into_an_empty_database_round_trips_exactly(
    terms: None,
) -> None:
    await import_data(json.loads(DEMO.read_text(encoding="utf-8")))
    await import_data(
        {
            "cities": [
                city_entry(
                    "zurich-ch",
                    country="CH",
                    population=None,
                    languages=[],
                    profile='Line one\n\n* a list with "quotes" and ü',
                )
            ],
            "practices": [
                practice_entry(
                    "zurich-ch",
                    "Draft idea",
                    status="draft",
                    last_reviewed="2024-02-29",
                    links=["https://example.org/a", "http://example.org/b"],
                    outcomes="Some",
                    challenges=["online-harms", "crisis-communication"],
                    since=2001,
                )
            ],
        }
    )
    first = await export_text()
    parsed = json.loads(first)
    assert len(parsed["cities"]) == 42 and len(parsed["practices"]) == 57

    await empty_tables()
    await taxonomy()
    await import_data(first)
    assert await export_text() == first


async def test_export_of_an_empty_catalogue_is_valid_json(terms: None) -> None:
    exported = json.loads(await export_text())
    assert exported["cities"] == [] and exported["practices"] == []
    assert len(exported["challenges"]) == 15  # the shipped terms, with their translations


async def test_large_imports_are_written_in_batches(
    terms: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalogue, "BATCH_SIZE", 7)
    cities = [city_entry(f"city-{n}") for n in range(30)]
    practices = [practice_entry(f"city-{n % 30}", f"Practice {n}") for n in range(95)]
    report = await import_data({"cities": cities, "practices": practices})
    assert (report.cities_created, report.practices_created) == (30, 95)
    again = await import_data({"cities": cities, "practices": practices})
    assert (again.cities_unchanged, again.practices_unchanged) == (30, 95)
    assert await Practice.all().count() == 95


async def run_cli(database_url: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": database_url,
        "EXCHANGE_VAR_DIR": str(tmp_path / "var"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exchange",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_import_command_imports_and_the_export_command_writes_it_back(
    terms: None, database_url: str, tmp_path: Path
) -> None:
    code, out, err = await run_cli(database_url, tmp_path, "import", str(DEMO))
    assert code == 0, err
    assert "Cities: 41 new" in out
    assert await City.filter(key="manchester-gb").exists()

    code, out, err = await run_cli(database_url, tmp_path, "export")
    assert code == 0, err
    assert out == await export_text()
    target = tmp_path / "catalogue.json"
    code, out, _err = await run_cli(database_url, tmp_path, "export", str(target))
    assert code == 0
    assert target.read_text(encoding="utf-8") == await export_text()
    assert "Exported 41 cities and 56 practices" in out


async def test_the_import_command_prints_every_problem_and_changes_nothing(
    terms: None, database_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "cities": [city_entry("lyon-fr", timezone="Moon/Base")],
                "practices": [practice_entry("lyon-fr", challenges=["foo"])],
            }
        ),
        encoding="utf-8",
    )
    code, _out, err = await run_cli(database_url, tmp_path, "import", str(bad))
    assert code == 1
    assert "cities[0].timezone: unknown time zone 'Moon/Base'" in err
    assert "practices[0].challenges[0]: unknown challenge 'foo'" in err
    assert err.strip().splitlines()[-1] == (
        f"exchange: error: {bad} has 2 problem(s); nothing was imported"
    )
    assert "Traceback" not in err
    assert await City.all().count() == 0

    code, _out, err = await run_cli(database_url, tmp_path, "import", str(tmp_path / "nope"))
    assert code == 1
    assert err.strip() == f"exchange: error: no such file: {tmp_path / 'nope'}"


async def test_the_import_command_says_where_a_broken_file_stops_being_json(
    terms: None, database_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"cities": [\n  {"key": "lyon-fr",\n   "name": "Lyon"\n  ]\n}', "utf-8")
    code, _out, err = await run_cli(database_url, tmp_path, "import", str(broken))
    assert code == 1
    assert "not valid JSON: line 4, column 3: Expecting ',' delimiter" in err
    assert "JSON object" not in err


async def test_line_and_column_stay_right_across_the_reading_window(
    terms: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reader refills its window in chunks; a tiny chunk crosses lines and columns.
    monkeypatch.setattr(json_stream, "CHUNK_BYTES", 3)
    good = json.dumps({"cities": [city_entry(f"city-{n}") for n in range(5)]}, indent=2)
    where = good.index('"city-3"')
    broken = good[:where] + "#" + good[where:]
    with pytest.raises(json.JSONDecodeError) as reference:
        json.loads(broken)
    line, column = reference.value.lineno, reference.value.colno
    assert await problems_of(broken) == [
        f"not valid JSON: line {line}, column {column}: Expecting value"
    ]


async def test_a_catalogue_error_names_how_many_problems(terms: None) -> None:
    with pytest.raises(CatalogueError) as caught:
        await import_data({"cities": [{"key": "x"}]})
    assert len(caught.value.problems) == 3  # name, country and region are required
