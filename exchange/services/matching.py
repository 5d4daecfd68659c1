"""Peer matching over the database: loading the index, keeping it fresh, ranking.

The text and taxonomy index (`MatchIndex`) is costly to build (about 12 s for 100,000
practices), so each process keeps one in memory and rebuilds it, in a thread, when the
catalogue version stamp in the database moves. Web processes prepare it as they start
(`warm_up`) and keep snapshots of what they built (`Snapshots`, keyed by the catalogue's
token), so a worker that starts, or restarts, loads the index instead of building it;
what no snapshot holds yet a process of its own builds and saves, for the worker to load
(`build_snapshot`), so the build's garbage never stays in a serving process.
Capacity and peer history change far more often (every acceptance, answer and
conclusion); they carry their own version stamp (`AvailabilityVersion`) and are laid
over the cached index in milliseconds when it moves. Each ranking reads both stamps
first, so every worker process ranks on what the database holds now. docs/matching.md
explains the trade-offs.
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import ctypes.util
import gc
import hashlib
import logging
import multiprocessing
import os
import pickle
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from tortoise.expressions import F
from tortoise.functions import Count

import exchange
from exchange import db, metrics
from exchange.domain import matching as matching_domain
from exchange.domain import text as text_domain
from exchange.domain.matching import (
    Candidate,
    ChallengeTerm,
    MatchIndex,
    MatchQuery,
    PeerCity,
    PeerHistory,
    PracticeDoc,
)
from exchange.models.cities import (
    CatalogueVersion,
    Challenge,
    City,
    CityLanguage,
    PracticeChallenge,
)
from exchange.models.matching import (
    AvailabilityVersion,
    DeclineReason,
    InvitationStatus,
    PeerExchange,
    PeerInvitation,
)
from exchange.services import catalogue_version

# Reasons become text in services/reasons.py; callers of this module read them from here too.
from exchange.services.reasons import reason_text as reason_text
from exchange.services.reasons import reason_texts as reason_texts
from exchange.services.reasons import stored_reason_texts as stored_reason_texts
from exchange.services.reasons import stored_reasons as stored_reasons
from exchange.services.visibility import public_practice_filter, public_practices

log = logging.getLogger("exchange.matching")

AVAILABILITY_ROW_ID = 1
# How long a ranking waits for a rebuild after the catalogue changed before it answers
# from the previous index. Small catalogues rebuild within it and are never stale.
STALE_WAIT_SECONDS = 2.0
# An index of at least this many practices is left out of garbage collections.
FREEZE_FROM_PRACTICES = 10_000
# A "no capacity" decline lowers the city's rank for this many days after the answer.
BUSY_DAYS = 30


# ------------------------------------------------------------------ version stamps


async def bump_availability() -> None:
    """Call inside the transaction of any change to capacity use or peer history."""
    updated = await AvailabilityVersion.filter(id=AVAILABILITY_ROW_ID).update(
        version=F("version") + 1
    )
    if not updated:
        await AvailabilityVersion.create(id=AVAILABILITY_ROW_ID, version=1)


async def availability_version() -> int:
    row = await AvailabilityVersion.get_or_none(id=AVAILABILITY_ROW_ID)
    return row.version if row else 0


async def versions() -> tuple[int, int]:
    """(catalogue version, availability version), read before any data they describe."""
    catalogue = await CatalogueVersion.get_or_none(id=catalogue_version.ROW_ID)
    return (catalogue.version if catalogue else 0), await availability_version()


# ------------------------------------------------------------------ loading


async def load_taxonomy() -> list[ChallengeTerm]:
    rows = await Challenge.all().order_by("position", "slug").values_list("slug", "name", "related")
    return [ChallengeTerm(slug, name, tuple(related or ())) for slug, name, related in rows]


async def load_practices() -> dict[int, list[PracticeDoc]]:
    """Published practices by city id, each with its challenge slugs."""
    slugs: dict[int, list[str]] = defaultdict(list)
    links = (
        await PracticeChallenge.filter(**public_practice_filter("practice__"))
        .order_by("practice_id", "challenge__position", "challenge__slug")
        .values_list("practice_id", "challenge__slug")
    )
    for practice_id, slug in links:
        slugs[practice_id].append(slug)
    rows = (
        await public_practices()
        .order_by("id")
        .values_list("id", "city_id", "title", "summary", "since", "outcomes")
    )
    by_city: dict[int, list[PracticeDoc]] = defaultdict(list)
    for practice_id, city_id, title, summary, since, outcomes in rows:
        by_city[city_id].append(
            PracticeDoc(
                id=practice_id,
                title=title,
                summary=summary or "",
                challenges=tuple(slugs.get(practice_id, ())),
                since=since,
                outcomes=outcomes or "",
            )
        )
    return by_city


async def load_free_capacity() -> dict[str, int]:
    """Free mentoring places per city key: capacity minus what active exchanges use."""
    rows = await City.all().values_list("key", "mentoring_capacity", "capacity_used")
    return {key: max(capacity - used, 0) for key, capacity, used in rows}


async def load_history() -> dict[str, PeerHistory]:
    """Per city key: how it answered invitations, and the ratings its mentees gave."""
    keys = dict(await City.all().values_list("id", "key"))
    answers: dict[int, dict[str, int]] = defaultdict(dict)
    counted = (InvitationStatus.ACCEPTED, InvitationStatus.DECLINED, InvitationStatus.EXPIRED)
    rows = (
        await PeerInvitation.filter(status__in=counted)
        .annotate(n=Count("id"))
        .group_by("city_id", "status")
        .values_list("city_id", "status", "n")
    )
    for city_id, status, n in rows:
        answers[city_id][str(status)] = int(n)
    ratings: dict[int, list[int]] = defaultdict(list)
    for mentor_id, rating in (
        await PeerExchange.filter(mentee_rating__isnull=False)
        .order_by("id")
        .values_list("mentor_id", "mentee_rating")
    ):
        ratings[mentor_id].append(int(rating))
    declined, busy = await _load_decline_reasons()
    history: dict[str, PeerHistory] = {}
    for city_id in set(answers) | set(ratings):
        if city_id not in keys:
            continue
        counts = answers.get(city_id, {})
        history[keys[city_id]] = PeerHistory(
            accepted=counts.get(InvitationStatus.ACCEPTED.value, 0),
            declined=counts.get(InvitationStatus.DECLINED.value, 0),
            expired=counts.get(InvitationStatus.EXPIRED.value, 0),
            feedback=tuple(ratings.get(city_id, ())),
            declined_challenges=tuple(sorted(declined.get(city_id, ()))),
            busy_until=busy.get(city_id),
        )
    return history


async def _load_decline_reasons() -> tuple[dict[int, set[str]], dict[int, date]]:
    """Per city id: challenges it declined as not its experience, and until when a
    "no capacity" decline counts (`BUSY_DAYS` after the latest one)."""
    declined: dict[int, set[str]] = defaultdict(set)
    busy: dict[int, date] = {}
    rows = await PeerInvitation.filter(
        status=InvitationStatus.DECLINED,
        decline_reason__in=(DeclineReason.NOT_OUR_EXPERIENCE, DeclineReason.NO_CAPACITY),
    ).values_list("city_id", "decline_reason", "answered_at", "request__challenges")
    for city_id, code, answered_at, challenges in rows:
        if str(code) == DeclineReason.NOT_OUR_EXPERIENCE.value:
            declined[city_id].update(challenges or ())
        elif answered_at is not None:
            until = answered_at.date() + timedelta(days=BUSY_DAYS)
            busy[city_id] = max(busy.get(city_id, until), until)
    return declined, busy


async def load_cities() -> list[PeerCity]:
    """Every city with its published practices, free capacity and history."""
    practices = await load_practices()
    languages: dict[int, list[str]] = defaultdict(list)
    for city_id, code in (
        await CityLanguage.all()
        .order_by("city_id", "position", "code")
        .values_list("city_id", "code")
    ):
        languages[city_id].append(code)
    free = await load_free_capacity()
    history = await load_history()
    rows = (
        await City.all()
        .order_by("key")
        .values_list("id", "key", "name", "country", "region", "population")
    )
    return [
        PeerCity(
            key=key,
            name=name,
            country=country,
            region=str(region),
            population=population,
            languages=tuple(languages.get(city_id, ())),
            free_capacity=free.get(key, 0),
            practices=tuple(practices.get(city_id, ())),
            history=history.get(key, PeerHistory()),
        )
        for city_id, key, name, country, region, population in rows
    ]


async def build_index() -> MatchIndex:
    """Read the catalogue and build a fresh index; the analysis runs in a thread."""
    cities = await load_cities()
    taxonomy = await load_taxonomy()
    return await asyncio.to_thread(MatchIndex.build, cities, taxonomy)


# ------------------------------------------------------------------ snapshots


@cache
def code_fingerprint() -> str:
    """Changes with the code that lays out an index: a snapshot from other code is unused."""
    digest = hashlib.sha256(exchange.__version__.encode())
    package = Path(matching_domain.__file__).parent
    for path in [*sorted(package.glob("*.py")), Path(text_domain.__file__)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Snapshots:
    """Built indexes saved in a folder of the process's own (the var folder), one per
    catalogue token, so a process that starts loads in a second or two what takes many
    seconds to build. Only this process's code writes there: the files are pickles.
    """

    folder: Path

    def path(self, token: str) -> Path:
        return self.folder / f"{code_fingerprint()}-{token}.index"

    def load(self, token: str) -> MatchIndex | None:
        """The snapshot of this catalogue state, or None (missing, or unreadable)."""
        try:
            with self.path(token).open("rb") as source:
                index = pickle.load(source)  # noqa: S301 - our own file in our own folder
        except FileNotFoundError:
            return None
        except Exception:
            log.warning("Ignoring an unreadable matching index snapshot", exc_info=True)
            return None
        return index if isinstance(index, MatchIndex) else None

    def save(self, token: str, index: MatchIndex) -> None:
        """Write the snapshot whole (a reader never sees half of one); drop older ones."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(token)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".partial")
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump(index, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        for old in self.folder.glob("*.index"):
            if old != target:
                old.unlink(missing_ok=True)


# ------------------------------------------------------------------ the cache


@dataclass
class IndexCache:
    """This process's index, rebuilt when the catalogue version moves.

    While a rebuild runs, rankings wait up to `stale_wait` seconds for it and then answer
    from the previous index, so a large catalogue never stalls requests for long.
    Availability (capacity and history) is laid over whichever index is served.
    """

    stale_wait: float = STALE_WAIT_SECONDS
    base: MatchIndex | None = None
    base_version: int = -1
    ready: MatchIndex | None = None
    ready_key: tuple[int, int] = (-1, -1)
    building: asyncio.Task[None] | None = None
    builds: int = 0
    snapshots: Snapshots | None = None
    # The database a process of its own builds snapshots from (None: build here).
    build_from: str | None = None
    loads: int = 0  # indexes read from a snapshot instead of built

    async def index(self) -> MatchIndex:
        catalogue, availability = await versions()
        base = await self._base_for(catalogue)
        key = (self.base_version, availability)
        if self.ready is None or self.ready_key != key:
            free, history = await load_free_capacity(), await load_history()
            self.ready = base.with_availability(free, history)
            self.ready_key = key
        return self.ready

    async def _base_for(self, catalogue: int) -> MatchIndex:
        if self.base is not None and self.base_version == catalogue:
            return self.base
        if self.building is None or self.building.done():
            self.building = asyncio.create_task(
                self._rebuild(catalogue), context=_outside_transaction()
            )
        task = self.building
        if self.base is None:
            await asyncio.shield(task)
        else:
            await asyncio.wait({task}, timeout=self.stale_wait)
        if task.done() and task.exception() is not None and self.base is None:
            raise RuntimeError("the matching index could not be built") from task.exception()
        assert self.base is not None
        return self.base

    async def _rebuild(self, catalogue: int) -> None:
        try:
            # Reading the whole catalogue is background work, with its longer limit.
            loads = self.loads
            with db.background_work():
                index = await self._load_or_build()
        except Exception:
            metrics.INDEX_BUILDS.labels(outcome="failed").inc()
            log.exception("Building the matching index failed")
            raise
        if self.loads == loads:  # built, not loaded from a snapshot
            metrics.INDEX_BUILDS.labels(outcome="ok").inc()
        if catalogue >= self.base_version:
            self.base, self.base_version = index, catalogue
            self.builds += 1
            metrics.index_built(catalogue)
            _keep_out_of_collections(index)

    async def _load_or_build(self) -> MatchIndex:
        if self.snapshots is None:
            return await build_index()
        # The token is read before the data it names, so a snapshot is never older
        # than its name says.
        _version, token = await catalogue_version.stamp()
        if token:
            index = await asyncio.to_thread(self.snapshots.load, token)
            if index is not None:
                self.loads += 1
                return index
            if self.build_from is not None:
                index = await self._built_elsewhere(self.snapshots, self.build_from, token)
                if index is not None:
                    return index
        index = await build_index()
        if token:
            try:
                await asyncio.to_thread(self.snapshots.save, token, index)
            except OSError:
                log.warning("Could not save the matching index snapshot", exc_info=True)
        return index

    async def _built_elsewhere(
        self, snapshots: Snapshots, database_url: str, token: str
    ) -> MatchIndex | None:
        """Have a process of its own build and save the snapshot, then load it; None if
        that failed (the caller builds here).

        A build leaves this process's memory scattered with what it freed: a worker that
        built the index held about 330 MB, one that loaded it about 250 MB.
        """
        # Daemonic: a worker that stops takes its builder with it.
        builder = multiprocessing.get_context("spawn").Process(
            target=build_snapshot, args=(database_url, snapshots.folder, token), daemon=True
        )
        try:
            builder.start()
        except Exception:  # no processes left, or this one may not have children
            log.warning("Could not start a process to build the matching index", exc_info=True)
            return None
        try:
            await asyncio.to_thread(builder.join)
        except asyncio.CancelledError:
            builder.terminate()
            raise
        if builder.exitcode != 0:
            log.warning("Building the matching index in a process of its own failed")
            return None
        return await asyncio.to_thread(snapshots.load, token)

    def clear(self) -> None:
        """Forget the index (tests empty the database under a running process)."""
        self.base, self.base_version, self.ready, self.ready_key = None, -1, None, (-1, -1)


def _keep_out_of_collections(index: MatchIndex) -> None:
    """Spare the garbage collector a large index it would walk for nothing.

    An index of 100,000 practices holds references that never change until it is
    replaced, and a full collection walks them all: about 150 ms during which the worker
    answers nothing, several times a minute under load (its p99). Once a large index is
    in place, one full collection drops the previous index and the build's garbage, and
    everything still alive is frozen: left out of later collections, still freed by
    reference counting when no longer used. A small index is not worth the collection.
    """
    if sum(len(city.practices) for city in index.cities) < FREEZE_FROM_PRACTICES:
        return
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _return_freed_memory()


def _return_freed_memory() -> None:
    """Give the system back the memory a build freed.

    glibc keeps freed memory for the process's next allocations: after building an index
    of 100,000 practices a worker kept about 450 MB resident, 290 MB once returned
    (8 ms). Elsewhere than glibc there is no `malloc_trim`, and nothing to do.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, looked up once (finding libc runs `ldconfig`)."""
    try:
        trim: Callable[[int], int] = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def _outside_transaction() -> contextvars.Context:
    """A fresh context for the rebuild task, so it reads through the connection pool.

    Tortoise binds a transaction's connection in a context variable, and a task copies
    its creator's context: a rebuild started by a ranking inside a transaction would run
    its reads on that transaction's connection, before and after it ends. In a fresh
    context the connections are the process's own (`db.init_db` enables tortoise's
    process-wide fallback context).
    """
    return contextvars.Context()


_cache = IndexCache()


def index_cache() -> IndexCache:
    return _cache


def keep_snapshots(folder: Path | None, build_from: str | None = None) -> None:
    """Save built indexes in `folder` and load them from there (None: never).

    `build_from`: a database URL a separate process can open, to build there what no
    snapshot holds yet (not a database in memory, which only this process sees).
    """
    _cache.snapshots = Snapshots(folder) if folder is not None else None
    _cache.build_from = build_from if build_from and ":memory:" not in build_from else None


def build_snapshot(database_url: str, folder: Path, token: str) -> None:
    """In a process of its own: build the index from the database, save it under `token`.

    The token was read, by the process asking, before this reads the data it names, so
    the snapshot is never older than its name (as in `IndexCache._load_or_build`).
    """

    async def build() -> MatchIndex:
        await db.init_db(database_url)
        try:
            return await build_index()
        finally:
            await db.close_db()

    Snapshots(folder).save(token, asyncio.run(build()))


async def warm_up() -> None:
    """Have the index ready before the first ranking asks (a worker starting up)."""
    try:
        await _cache.index()
    except Exception:
        log.exception("Preparing the matching index at start-up failed")


async def current_index() -> MatchIndex:
    return await _cache.index()


# ------------------------------------------------------------------ ranking


async def rank(query: MatchQuery, index: MatchIndex | None = None) -> list[Candidate]:
    """Rank peers for a query on the cached index (or on `index`, for batches).

    Raises `MatchError` (`UnknownCity`, `UnknownChallenge`) for bad input.
    """
    index = index or await current_index()
    ranked = index.rank(query)
    metrics.MATCHES_SERVED.inc()
    return ranked
