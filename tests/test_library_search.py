"""Library search on the database's own full-text engine (run the suite on SQLite and on
PostgreSQL): word variants, filters, drafts kept out, safe highlighting, pagination."""

from __future__ import annotations

import httpx
import pytest

from exchange.models.cities import Practice, PracticeStatus, Region
from exchange.services import search
from exchange.services.search import highlight, search_practices

from library_data import (
    city_entry,
    import_data,
    make_city,
    make_practice,
    practice_entry,
    taxonomy,
)


@pytest.fixture
async def library(clean_db: str) -> None:
    await taxonomy()
    manchester = await make_city("manchester-gb", name="Manchester", country="GB")
    nice = await make_city("nice-fr", name="Nice", country="FR")
    boston = await make_city("boston-us", name="Boston", country="US", region=Region.NORTH_AMERICA)
    await make_practice(
        manchester,
        "Arena attack recovery hub",
        summary="A support hub for people affected by the attack, open for years.",
        challenges=("post-attack-recovery", "mental-health-trauma"),
    )
    await make_practice(
        nice,
        "Promenade memorial",
        summary="After the truck attack the city built a memorial with the families.",
        challenges=("post-attack-recovery",),
    )
    await make_practice(
        boston,
        "Marathon resilience fund",
        summary="Money raised after the bombing paid for the injured and their care.",
        challenges=("post-attack-recovery",),
    )
    await make_practice(
        boston,
        "Secret attack drill",
        summary="Attack planning, not public yet.",
        status=PracticeStatus.DRAFT,
    )
    await make_practice(
        nice,
        "Neighbour dialogues",
        summary="Residents <b>talk</b> about polarisation & rumours.",
        challenges=("hate-polarisation",),
    )


async def titles(query: str, **filters: str) -> list[str]:
    page = await search_practices(query, **filters)
    return sorted(hit.title.striptags() for hit in page.items)


async def test_a_plural_finds_the_singular_and_the_other_way_round(library: None) -> None:
    found = await titles("attacks")
    assert found == ["Arena attack recovery hub", "Promenade memorial"]
    assert await titles("recoveries") == ["Arena attack recovery hub"]
    assert await titles("memorials") == ["Promenade memorial"]


async def test_any_word_matches_and_all_words_come_first(library: None) -> None:
    page = await search_practices("attack families")
    ranked = [hit.title.striptags() for hit in page.items]
    assert ranked[0] == "Promenade memorial"
    assert sorted(ranked) == ["Arena attack recovery hub", "Promenade memorial"]
    assert await titles("attack unicorn") == ["Arena attack recovery hub", "Promenade memorial"]
    assert await titles("unicorn bombing") == ["Marathon resilience fund"]
    assert await titles("unicorn") == []


async def test_drafts_never_show_in_search(library: None) -> None:
    assert "Secret attack drill" not in await titles("drill")
    assert await titles("secret") == []


async def test_region_and_challenge_filters_narrow_the_results(library: None) -> None:
    assert await titles("attack", region="north-america") == []
    assert await titles("bombing", region="north-america") == ["Marathon resilience fund"]
    assert await titles("attack", challenge="mental-health-trauma") == ["Arena attack recovery hub"]
    assert await titles("attack", challenge="hate-polarisation") == []


async def test_matches_are_highlighted_and_the_text_is_escaped(library: None) -> None:
    page = await search_practices("rumours")
    [hit] = page.items
    assert "<mark>rumours</mark>" in hit.snippet
    # SQLite shows the tag as text, PostgreSQL's parser drops it: neither lets it through.
    assert "<b>" not in hit.snippet
    assert "talk" in hit.snippet
    assert "&amp;" in hit.snippet
    page = await search_practices("attacks")
    assert any("<mark>attack</mark>" in hit.title for hit in page.items)


def test_highlight_escapes_everything_but_its_own_marks() -> None:
    marked = "a <script>x</script> \ue000hit & run\ue001 [link](https://x.org) end"
    html = str(highlight(marked))
    assert html == "a &lt;script&gt;x&lt;/script&gt; <mark>hit &amp; run</mark> link end"


async def test_results_are_paginated(clean_db: str) -> None:
    await taxonomy()
    city = await make_city("lyon-fr")
    for n in range(25):
        await make_practice(city, f"Flood barrier {n:02d}", summary="Barriers against floods.")
    first = await search_practices("flooding", per_page=10)
    third = await search_practices("flooding", per_page=10, page=3)
    assert (first.total, first.pages, len(first.items), len(third.items)) == (25, 3, 10, 5)
    everything = {
        hit.practice_id
        for n in (1, 2, 3)
        for hit in (await search_practices("flood", per_page=10, page=n)).items
    }
    assert everything == set(await Practice.all().values_list("id", flat=True))


async def test_edits_reach_the_index(library: None) -> None:
    practice = await Practice.get(title="Promenade memorial")
    practice.summary = "A garden of remembrance by the sea."
    await practice.save()
    assert await titles("garden") == ["Promenade memorial"]
    assert await titles("truck") == []
    await practice.delete()
    assert await titles("garden") == []


async def test_the_library_page_shows_highlighted_results(
    library: None, client: httpx.AsyncClient
) -> None:
    response = await client.get("/library", params={"q": "attacks", "region": "europe"})
    assert response.status_code == 200
    assert "2 practices found" in response.text
    assert "<mark>attack</mark>" in response.text
    assert "Marathon" not in response.text
    response = await client.get("/library", params={"q": "<script>"})
    assert response.status_code == 200
    assert "<script>" not in response.text.split("<main", 1)[1]


async def test_a_blank_search_lists_published_practices_with_filters(library: None) -> None:
    page = await search_practices("", challenge="post-attack-recovery")
    assert [hit.title.striptags() for hit in page.items] == [
        "Arena attack recovery hub",
        "Marathon resilience fund",
        "Promenade memorial",
    ]


async def test_counts_stop_at_the_limit_and_all_words_still_come_first(
    clean_db: str, monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient
) -> None:
    # Small limits stand in for a large library: more matches than are counted, and
    # more single-word matches than a tier ranks.
    monkeypatch.setattr(search, "COUNT_LIMIT", 4)
    monkeypatch.setattr(search, "RANK_POOL", 2)
    await taxonomy()
    city = await make_city("lyon-fr")
    await make_practice(city, "Old flood barrier", summary="Barriers on the river.")
    for n in range(6):
        await make_practice(city, f"Flood warning {n}", summary="Sirens and text messages.")
    page = await search_practices("flood barrier", per_page=2)
    assert (page.total, page.capped, page.pages) == (4, True, 2)
    assert page.items[0].title.striptags() == "Old flood barrier"
    second = await search_practices("flood barrier", per_page=2, page=2)
    shown = [hit.title.striptags() for hit in [*page.items, *second.items]]
    assert len(set(shown)) == 4
    assert (await search_practices("barrier")).total == 1
    response = await client.get("/library", params={"q": "flood"})
    assert "More than 4 practices found" in response.text


async def test_imported_and_reimported_practices_reach_the_index(clean_db: str) -> None:
    # An import writes many rows per statement: the search index must follow each one.
    await taxonomy()
    cities = [city_entry("lyon-fr"), city_entry("oslo-no")]
    practices = [
        practice_entry("lyon-fr", f"Flood barrier {n}", summary="Barriers against floods.")
        for n in range(30)
    ]
    practices.append(practice_entry("oslo-no", "Harbour mediators", summary="Quiet talks."))
    await import_data({"cities": cities, "practices": practices})
    assert (await search_practices("floods")).total == 30
    assert await titles("mediators") == ["Harbour mediators"]
    practices[-1] = practice_entry("oslo-no", "Harbour mediators", summary="Loud sirens.")
    await import_data({"cities": cities, "practices": practices})
    assert await titles("quiet") == []
    assert await titles("sirens") == ["Harbour mediators"]
