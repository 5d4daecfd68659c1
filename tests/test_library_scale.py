"""Library pages at scale: a page's statements do not grow with the catalogue, and the
challenge page pages its practices and cities.

Statements are counted by the traffic middleware (its access log line carries them), so
these tests see what a real request costs, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from exchange import db
from exchange.models.cities import Practice
from exchange.services import catalogue as catalogue_service
from exchange.web import visitor_pages

from library_data import city_entry, import_data, practice_entry, taxonomy

TERM = "post-attack-recovery"


def listed_cities(html: str) -> list[str]:
    """The cities of the challenge page's own list (practice cards name theirs too)."""
    return re.findall(r'<li><a href="/cities/city-(\d+)">', html)


def catalogue(cities: int, practices: int) -> dict[str, object]:
    return {
        "cities": [city_entry(f"city-{n:03d}", name=f"City {n:03d}") for n in range(cities)],
        "practices": [
            practice_entry(
                f"city-{n % cities:03d}",
                f"Practice {n:03d}",
                challenges=[TERM, "community-engagement"] if n % 2 else [TERM],
            )
            for n in range(practices)
        ],
    }


async def statements(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, url: str
) -> tuple[int, str]:
    """The page's text and how many statements it ran to render, once its caches are warm
    (the first request after a catalogue change computes what later ones reuse). The
    rendered page kept for visitors is dropped first: what is measured is the page's own
    work, which a kept page only saves until the next change."""
    await client.get(url)
    visitor_pages.forget()
    caplog.clear()
    response = await client.get(url)
    assert response.status_code == 200, url
    counts = [r.db_statements for r in caplog.records if hasattr(r, "db_statements")]
    assert len(counts) == 1, counts
    return int(counts[0]), response.text


async def page_costs(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> dict[str, int]:
    first = await Practice.filter(title="Practice 001").first()
    assert first is not None
    urls = ["/", "/cities", "/cities/city-001", f"/practices/{first.id}", f"/challenges/{TERM}"]
    return {url.split("/")[1]: (await statements(client, caplog, url))[0] for url in urls}


async def test_no_library_page_runs_more_statements_for_a_larger_catalogue(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exchange.access")
    await taxonomy()
    await import_data(catalogue(cities=4, practices=8))
    small = await page_costs(client, caplog)
    # Ten times the cities and practices (the import bumps the catalogue version).
    await import_data(catalogue(cities=40, practices=120))
    large = await page_costs(client, caplog)
    assert large == small
    # Counts and the newest practices come from the per-worker cache: the home page reads
    # little more than the catalogue version (it ran seven statements, two of them over
    # every practice, before).
    assert small[""] <= 2


async def test_the_challenge_page_pages_its_practices_and_its_cities(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exchange.access")
    await taxonomy()
    await import_data(catalogue(cities=30, practices=60))
    _, first = await statements(client, caplog, f"/challenges/{TERM}")
    shown = set(re.findall(r'href="/practices/(\d+)"', first))
    assert len(shown) == 25
    assert "Practice 000" in first and "Practice 024" in first and "Practice 025" not in first
    assert listed_cities(first) == [f"{n:03d}" for n in range(25)]
    assert "30 cities have practices on this challenge" in first
    _, last = await statements(client, caplog, f"/challenges/{TERM}?page=3&cities_page=2")
    assert len(set(re.findall(r'href="/practices/(\d+)"', last))) == 10
    assert "Practice 059" in last and "Practice 049" not in last
    assert listed_cities(last) == [f"{n:03d}" for n in range(25, 30)]
    # A page past the end shows the last one, as every list does.
    _, beyond = await statements(client, caplog, f"/challenges/{TERM}?page=9")
    assert "Practice 059" in beyond


async def test_a_change_to_the_catalogue_shows_at_once(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """What the cache keeps is dropped when any change commits (the version moves)."""
    caplog.set_level(logging.INFO, logger="exchange.access")
    await taxonomy()
    await import_data(catalogue(cities=3, practices=3))
    _, before = await statements(client, caplog, f"/challenges/{TERM}")
    assert "Practice 003" not in before
    await import_data(catalogue(cities=3, practices=4))
    _, after = await statements(client, caplog, f"/challenges/{TERM}")
    assert "Practice 003" in after
    home = await client.get("/")
    assert "Practice 003" in home.text


async def analysed_at() -> dict[str, object]:
    rows = await db.connection().execute_query_dict(
        "SELECT relname, last_analyze FROM pg_stat_user_tables"
    )
    return {row["relname"]: row["last_analyze"] for row in rows}


async def test_a_large_import_has_postgresql_count_the_rows_again(clean_db: str) -> None:
    """Plans made for the empty tables made searches of a freshly imported library ten
    times slower until autovacuum came by (docs/performance.md)."""
    if db.dialect() != "postgres":
        pytest.skip("SQLite plans without row counts")
    await taxonomy()
    await import_data(catalogue(cities=4, practices=8))
    before = await analysed_at()
    await import_data(catalogue(cities=40, practices=catalogue_service.BATCH_SIZE))
    after = await analysed_at()
    for table in catalogue_service.IMPORTED_TABLES:
        assert after[table] is not None, table
        assert before[table] is None or after[table] > before[table], table
