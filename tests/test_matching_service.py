"""Matching over the database: what the index is built from, and when it is refreshed."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import connections
from tortoise.transactions import in_transaction

from exchange.domain.matching import (
    ChallengeTerm,
    MatchIndex,
    MatchQuery,
    PeerCity,
    PeerHistory,
    PracticeDoc,
    UnknownChallenge,
    UnknownCity,
)
from exchange.models.cities import City
from exchange.services import catalogue_version, matching

from matching_data import add_practice, load_catalogue

QUERY = MatchQuery(
    city_key="lviv-ua",
    challenges=("post-attack-recovery",),
    text="Support for victims and bereaved families after an attack",
    limit=10,
)


async def keys(query: MatchQuery = QUERY) -> list[str]:
    return [c.city_key for c in await matching.rank(query)]


async def test_ranking_uses_published_practices_and_free_capacity_only(clean_db: str) -> None:
    await load_catalogue()
    ranked = await keys()
    assert ranked[:2] == ["manchester-gb", "nice-fr"]
    assert "lviv-ua" not in ranked  # never the requester
    assert "berlin-de" not in ranked  # fits, but no free capacity
    assert "oslo-no" not in ranked  # capacity, but its only practice is a draft


async def test_reasons_name_the_practice_and_the_capacity(clean_db: str) -> None:
    await load_catalogue()
    best = (await matching.rank(QUERY))[0]
    texts = matching.reason_texts(best.reasons)
    assert any("Recovery after the Arena bombing" in text for text in texts)
    assert "Has capacity for 1 more exchange" in texts


async def test_unknown_city_and_challenge_are_errors(clean_db: str) -> None:
    await load_catalogue()
    with pytest.raises(UnknownCity):
        await matching.rank(
            MatchQuery(city_key="atlantis-xx", challenges=("post-attack-recovery",))
        )
    with pytest.raises(UnknownChallenge):
        await matching.rank(MatchQuery(city_key="lviv-ua", challenges=("volcanoes",)))


async def test_index_is_rebuilt_when_the_catalogue_version_moves(clean_db: str) -> None:
    catalogue = await load_catalogue()
    cache = matching.index_cache()
    assert "toronto-ca" not in await keys()
    builds = cache.builds
    await add_practice(
        catalogue.cities["toronto-ca"],
        "Support after the Danforth shooting",
        2018,
        "Support for victims and bereaved families after the attack.",
        ["post-attack-recovery"],
    )
    # Without a version bump the cached index is used as it is.
    assert "toronto-ca" not in await keys()
    assert cache.builds == builds
    await catalogue_version.bump()
    assert "toronto-ca" in await keys()
    assert cache.builds == builds + 1


async def test_a_large_index_is_left_out_of_garbage_collections(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection walking an index of 100,000 practices stalled a worker ~150 ms."""
    await load_catalogue()
    gc.unfreeze()
    try:
        await keys()
        assert gc.get_freeze_count() == 0  # a small index is not worth it
        monkeypatch.setattr(matching, "FREEZE_FROM_PRACTICES", 1)
        await catalogue_version.bump()
        await keys()
        index = matching.index_cache().base
        assert gc.get_freeze_count() > 0
        assert not gc.is_tracked(index) or index not in gc.get_objects()
    finally:
        gc.unfreeze()


async def test_a_slow_rebuild_serves_the_previous_index_meanwhile(clean_db: str) -> None:
    catalogue = await load_catalogue()
    cache = matching.index_cache()
    await keys()
    await add_practice(
        catalogue.cities["toronto-ca"],
        "Support after the Danforth shooting",
        2018,
        "Support for victims and bereaved families after the attack.",
        ["post-attack-recovery"],
    )
    await catalogue_version.bump()
    cache.stale_wait = 0.0
    try:
        assert "toronto-ca" not in await keys()  # the old index answers at once
        assert cache.building is not None
        await cache.building
        assert "toronto-ca" in await keys()
    finally:
        cache.stale_wait = matching.STALE_WAIT_SECONDS


async def test_capacity_and_history_changes_apply_without_a_rebuild(clean_db: str) -> None:
    await load_catalogue()
    cache = matching.index_cache()
    assert "manchester-gb" in await keys()
    builds = cache.builds
    await City.filter(key="manchester-gb").update(capacity_used=1)
    await matching.bump_availability()
    ranked = await keys()
    assert "manchester-gb" not in ranked
    assert ranked[0] == "nice-fr"
    assert cache.builds == builds


async def test_concurrent_rankings_share_one_build(clean_db: str) -> None:
    await load_catalogue()
    cache = matching.index_cache()
    builds = cache.builds
    results = await asyncio.gather(*(keys() for _ in range(5)))
    assert all(result == results[0] for result in results)
    assert cache.builds == builds + 1


def test_with_availability_replaces_capacity_and_history_only() -> None:
    taxonomy = [ChallengeTerm("post-attack-recovery", "Post-attack recovery")]
    practice = PracticeDoc(
        1, "Recovery after the attack", "Support for victims", ("post-attack-recovery",), 2017
    )
    cities = [
        PeerCity("a-xx", "A", "XX", "europe", 1000, ("en",), 0, ()),
        PeerCity("b-xx", "B", "XX", "europe", 1000, ("en",), 1, (practice,)),
        PeerCity(
            "c-xx",
            "C",
            "XX",
            "europe",
            1000,
            ("en",),
            1,
            (
                PracticeDoc(
                    2,
                    "Recovery after the attack",
                    "Support for victims",
                    ("post-attack-recovery",),
                    2017,
                ),
            ),
        ),
    ]
    index = MatchIndex.build(cities, taxonomy)
    query = MatchQuery("a-xx", ("post-attack-recovery",))
    assert [c.city_key for c in index.rank(query)] == ["b-xx", "c-xx"]
    fresh = index.with_availability(
        {"b-xx": 1, "c-xx": 1},
        {"b-xx": PeerHistory(expired=4), "c-xx": PeerHistory(feedback=(5, 5))},
    )
    assert [c.city_key for c in fresh.rank(query)] == ["c-xx", "b-xx"]
    assert [c.city_key for c in index.rank(query)] == ["b-xx", "c-xx"]  # the original is intact
    gone = index.with_availability({"c-xx": 1}, {})
    assert [c.city_key for c in gone.rank(query)] == ["c-xx"]


def in_a_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


async def test_a_rebuild_started_inside_a_transaction_reads_outside_it(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue = await load_catalogue()
    cache = matching.index_cache()
    await keys()
    seen: list[bool] = []
    build = matching.build_index

    async def watched_build() -> MatchIndex:
        seen.append(in_a_transaction())
        return await build()

    monkeypatch.setattr(matching, "build_index", watched_build)
    await add_practice(
        catalogue.cities["toronto-ca"],
        "Support after the Danforth shooting",
        2018,
        "Support for victims and bereaved families after the attack.",
        ["post-attack-recovery"],
    )
    await catalogue_version.bump()
    cache.stale_wait = 0.0
    try:
        async with in_transaction():
            assert in_a_transaction()
            assert "toronto-ca" not in await keys()  # the previous index answers
            rebuild = cache.building
        assert rebuild is not None
        await rebuild
    finally:
        cache.stale_wait = matching.STALE_WAIT_SECONDS
    assert seen == [False]
    assert "toronto-ca" in await keys()


def snapshot_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.index"))


def spoil(path: Path) -> None:
    path.write_bytes(b"not an index")


async def test_a_starting_process_loads_the_snapshot_instead_of_building(
    clean_db: str, tmp_path: Path
) -> None:
    await load_catalogue()
    first = matching.IndexCache(snapshots=matching.Snapshots(tmp_path))
    built = [c.city_key for c in (await first.index()).rank(QUERY)]
    assert (first.builds, first.loads) == (1, 0)
    assert len(snapshot_files(tmp_path)) == 1
    # Another process (a new cache) on the same catalogue reads what the first one saved.
    second = matching.IndexCache(snapshots=matching.Snapshots(tmp_path))
    assert [c.city_key for c in (await second.index()).rank(QUERY)] == built
    assert second.loads == 1


async def test_a_snapshot_is_not_used_once_the_catalogue_changed(
    clean_db: str, tmp_path: Path
) -> None:
    catalogue = await load_catalogue()
    await matching.IndexCache(snapshots=matching.Snapshots(tmp_path)).index()
    [old] = snapshot_files(tmp_path)
    await add_practice(
        catalogue.cities["toronto-ca"],
        "Support after the Danforth shooting",
        2018,
        "Support for victims and bereaved families after the attack.",
        ["post-attack-recovery"],
    )
    await catalogue_version.bump()
    fresh = matching.IndexCache(snapshots=matching.Snapshots(tmp_path))
    ranked = [c.city_key for c in (await fresh.index()).rank(QUERY)]
    assert "toronto-ca" in ranked
    assert fresh.loads == 0
    [new] = snapshot_files(tmp_path)  # the old snapshot is gone, the new one saved
    assert new != old


async def test_an_unreadable_snapshot_is_rebuilt(clean_db: str, tmp_path: Path) -> None:
    await load_catalogue()
    snapshots = matching.Snapshots(tmp_path)
    await matching.IndexCache(snapshots=snapshots).index()
    [saved] = snapshot_files(tmp_path)
    spoil(saved)
    cache = matching.IndexCache(snapshots=snapshots)
    assert "manchester-gb" in [c.city_key for c in (await cache.index()).rank(QUERY)]
    assert (cache.loads, cache.builds) == (0, 1)


async def test_a_process_of_its_own_builds_what_no_snapshot_holds(
    clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_catalogue()
    expected = [c.city_key for c in (await matching.IndexCache().index()).rank(QUERY)]

    async def not_here() -> MatchIndex:
        raise AssertionError("built in the serving process")

    # The separate process is a fresh interpreter: this replacement does not reach it.
    monkeypatch.setattr(matching, "build_index", not_here)
    cache = matching.IndexCache(snapshots=matching.Snapshots(tmp_path), build_from=clean_db)
    assert [c.city_key for c in (await cache.index()).rank(QUERY)] == expected
    assert (cache.builds, cache.loads) == (1, 0)
    assert len(snapshot_files(tmp_path)) == 1


async def test_when_the_separate_build_fails_the_process_builds_its_own(
    clean_db: str, tmp_path: Path
) -> None:
    await load_catalogue()
    unreachable = "postgres://nobody@127.0.0.1:9/nowhere"
    cache = matching.IndexCache(snapshots=matching.Snapshots(tmp_path), build_from=unreachable)
    assert "manchester-gb" in [c.city_key for c in (await cache.index()).rank(QUERY)]
    assert (cache.builds, cache.loads) == (1, 0)
    assert len(snapshot_files(tmp_path)) == 1


def test_a_database_in_memory_is_never_handed_to_another_process(tmp_path: Path) -> None:
    try:
        matching.keep_snapshots(tmp_path, build_from="sqlite://:memory:")
        assert matching.index_cache().build_from is None
        matching.keep_snapshots(tmp_path, build_from="sqlite:///var/x.sqlite3")
        assert matching.index_cache().build_from == "sqlite:///var/x.sqlite3"
    finally:
        matching.keep_snapshots(None)
