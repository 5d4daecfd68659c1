"""Catalogue import: how a network brings its cities and practices in (`catalogue_export`
takes them out).

The format is described in docs/catalogue-format.md. An import reads the file twice,
streaming: first it checks every entry and collects every problem with its location,
then, only if there were none, it writes everything in one transaction, in batches.
Cities are matched by key and practices by city and title, so importing the same file
again changes nothing. Nothing is ever deleted by an import.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import IO, Any

from tortoise.fields.data import JSON_DUMPS
from tortoise.transactions import in_transaction

from exchange import db
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.cities import (
    Challenge,
    City,
    CityLanguage,
    Practice,
    PracticeChallenge,
)
from exchange.resources import resource_path
from exchange.services import catalogue_terms, catalogue_version, permissions, visitor_stamp
from exchange.services.json_stream import Item, JSONStreamError, Section, read_sections
from exchange.services.library_rules import (
    CITY_FIELDS,
    PRACTICE_FIELDS,
    CityData,
    PracticeData,
    check_city,
    check_practice,
    unknown_fields,
)

FORMAT_GUIDE = resource_path("docs/catalogue-format.md")
SECTIONS = ("cities", "practices", "challenges")
BATCH_SIZE = 2000
QUERY_CHUNK = 500
# Entries read between two chances for the batch being written to go on.
YIELD_EVERY = 50
# What an import writes: their planner statistics are refreshed after a large one.
IMPORTED_TABLES = ("city", "city_language", "practice", "practice_challenge", "practice_search")

# Called with the phase ("check" or "write"), bytes read so far and the file's size.
Progress = Callable[[str, int], None]


class CatalogueError(Exception):
    """The file has problems; nothing was changed. `problems` lists each with its place."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(_("The catalogue has %(n)d problem(s).") % {"n": len(problems)})
        self.problems = problems


@dataclass
class ImportReport:
    cities_created: int = 0
    cities_updated: int = 0
    cities_unchanged: int = 0
    practices_created: int = 0
    practices_updated: int = 0
    practices_unchanged: int = 0
    challenges_updated: int = 0
    challenges_unchanged: int = 0

    def summary(self) -> str:
        terms = _("Challenge translations: %(tu)d updated, %(ts)d unchanged.") % {
            "tu": self.challenges_updated,
            "ts": self.challenges_unchanged,
        }
        return (
            f"{self._records()} {terms}"
            if self.challenges_updated + self.challenges_unchanged
            else self._records()
        )

    def _records(self) -> str:
        return _(
            "Cities: %(cc)d new, %(cu)d updated, %(cs)d unchanged. "
            "Practices: %(pc)d new, %(pu)d updated, %(ps)d unchanged."
        ) % {
            "cc": self.cities_created,
            "cu": self.cities_updated,
            "cs": self.cities_unchanged,
            "pc": self.practices_created,
            "pu": self.practices_updated,
            "ps": self.practices_unchanged,
        }


def format_guide(user: User) -> str:
    """The catalogue format guide (Markdown) for the import page, without its title."""
    permissions.require(permissions.can_import_catalogue(user))
    return _guide_body()


@cache
def _guide_body() -> str:
    lines = FORMAT_GUIDE.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join(lines).strip() + "\n"


async def import_upload(user: User, source: IO[bytes]) -> ImportReport:
    """A staff member's upload from the import page."""
    permissions.require(permissions.can_import_catalogue(user))
    return await import_catalogue(source)


async def import_catalogue(source: IO[bytes], progress: Progress | None = None) -> ImportReport:
    """Check the whole file, then write it all in one transaction (the command line's import).

    `source` must be seekable: it is read once to check and once to write.
    """
    challenges = await challenge_ids()
    check = _Check(set(challenges))
    await check.run(source, progress)
    if check.problems:
        raise CatalogueError(check.problems)
    writer = _Writer(challenges)
    async with in_transaction():
        if check.practices_before_cities:
            await writer.run(_rewound(source), ("cities", "challenges"), progress)
            await writer.run(_rewound(source), ("practices",), progress)
        else:
            await writer.run(_rewound(source), SECTIONS, progress)
        await catalogue_version.bump()
    visitor_stamp.expire()
    if writer.report.cities_created + writer.report.practices_created >= BATCH_SIZE:
        await db.refresh_statistics(IMPORTED_TABLES)
    return writer.report


def _rewound(source: IO[bytes]) -> IO[bytes]:
    source.seek(0)
    return source


async def challenge_ids() -> dict[str, int]:
    return dict(await Challenge.all().values_list("slug", "id"))


def _entries(source: IO[bytes], progress: Progress | None, phase: str) -> Iterator[Section | Item]:
    for count, event in enumerate(read_sections(source)):
        if progress is not None and count % 500 == 0:
            progress(phase, source.tell())
        yield event
    if progress is not None:
        progress(phase, source.tell())


@dataclass
class _Check:
    """The first pass: every problem in the file, each with its location."""

    challenges: set[str]
    problems: list[str] = field(default_factory=list)
    city_keys: set[str] = field(default_factory=set)
    practice_keys: set[tuple[str, str]] = field(default_factory=set)
    # Cities that practices name but the file has not defined (yet): key -> entry indexes.
    pending: dict[str, list[int]] = field(default_factory=dict)
    practices_before_cities: bool = False
    seen_practices: bool = False
    term_slugs: set[str] = field(default_factory=set)

    async def run(self, source: IO[bytes], progress: Progress | None) -> None:
        try:
            for event in _entries(source, progress, "check"):
                if isinstance(event, Section):
                    self.section(event)
                elif event.key == "cities":
                    self.city(event.index, event.value)
                elif event.key == "practices":
                    self.practice(event.index, event.value)
                elif event.key == "challenges":
                    catalogue_terms.check_term_item(
                        event.index, event.value, self.challenges, self.term_slugs, self.problems
                    )
        except JSONStreamError as exc:
            self.problems.append(_("not valid JSON: %(error)s") % {"error": str(exc)})
            return
        await self.resolve_cities()

    def section(self, section: Section) -> None:
        if section.key not in SECTIONS:
            self.problems.append(_("%(key)s: unknown top-level key") % {"key": section.key})
        elif not section.is_array:
            self.problems.append(_("%(key)s: must be a list") % {"key": section.key})
        elif section.key == "practices":
            self.seen_practices = True
        elif self.seen_practices:
            self.practices_before_cities = True

    def reporter(self, where: str) -> Callable[[str, str], None]:
        def fail(name: str, message: str) -> None:
            self.problems.append(f"{where}.{name}: {message}")

        return fail

    def city(self, index: int, entry: Any) -> None:
        where = f"cities[{index}]"
        if not isinstance(entry, dict):
            self.problems.append(_("%(where)s: must be an object") % {"where": where})
            return
        fail = self.reporter(where)
        unknown_fields(entry, CITY_FIELDS, fail)
        data = check_city(entry, fail)
        if data.key:
            if data.key in self.city_keys:
                fail("key", _("'%(key)s' appears twice in the file") % {"key": data.key})
            self.city_keys.add(data.key)
            self.pending.pop(data.key, None)

    def practice(self, index: int, entry: Any) -> None:
        where = f"practices[{index}]"
        if not isinstance(entry, dict):
            self.problems.append(_("%(where)s: must be an object") % {"where": where})
            return
        fail = self.reporter(where)
        unknown_fields(entry, PRACTICE_FIELDS, fail)
        data = check_practice(entry, self.challenges, fail)
        # The city is checked even when other fields fail, so one run reports every problem.
        if data.city and data.city not in self.city_keys:
            self.pending.setdefault(data.city, []).append(index)
        if not (data.city and data.title):
            return
        if (data.city, data.title) in self.practice_keys:
            fail(
                "title",
                _("'%(title)s' appears twice for city '%(city)s'")
                % {"title": data.title, "city": data.city},
            )
        self.practice_keys.add((data.city, data.title))

    async def resolve_cities(self) -> None:
        """Practices may name cities already in the database; report the others."""
        keys = sorted(self.pending)
        stored: set[str] = set()
        for chunk in _chunks(keys, QUERY_CHUNK):
            rows = await City.filter(key__in=chunk).values_list("key", flat=True)
            stored.update(str(key) for key in rows)
        for key in keys:
            if key in stored:
                continue
            for index in self.pending[key]:
                self.problems.append(
                    _("practices[%(index)d].city: unknown city '%(key)s'")
                    % {"index": index, "key": key}
                )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Writer:
    """The second pass: upserts in batches, inside the caller's transaction."""

    def __init__(self, challenges: dict[str, int]) -> None:
        self.challenges = challenges
        self.slugs = {ident: slug for slug, ident in challenges.items()}
        self.report = ImportReport()
        self.city_ids: dict[str, int] = {}
        # Cities this import created: they have no stored practices to look up.
        self.new_cities: set[int] = set()
        self.now = datetime.now(UTC)

    async def run(
        self, source: IO[bytes], sections: Sequence[str], progress: Progress | None
    ) -> None:
        """Write the sections' entries, a batch at a time.

        A batch is written while the next one is read: the database works on its
        statements (stemming the text of a thousand practices, say) while this process
        parses and checks JSON, instead of each waiting for the other. One batch at a
        time is in flight, so batches land in the file's order.
        """
        cities: list[CityData] = []
        practices: list[PracticeData] = []
        terms: list[catalogue_terms.TermData] = []
        writing: asyncio.Future[None] | None = None

        async def write(batch: Awaitable[None]) -> None:
            nonlocal writing
            if writing is not None:
                await writing
            writing = asyncio.ensure_future(batch)

        try:
            for count, event in enumerate(_entries(source, progress, "write")):
                if count % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # lets the batch in flight take its answers
                if not isinstance(event, Item) or event.key not in sections:
                    continue
                if event.key == "challenges":
                    terms.append(
                        catalogue_terms.check_term(event.value, set(self.challenges), _ignore)
                    )
                elif event.key == "cities":
                    cities.append(check_city(event.value, _ignore))
                    if len(cities) >= BATCH_SIZE:
                        await write(self.write_cities(cities))
                        cities = []
                else:
                    if cities:
                        await write(self.write_cities(cities))
                        cities = []
                    practices.append(check_practice(event.value, self.challenges, _ignore))
                    if len(practices) >= BATCH_SIZE:
                        await write(self.write_practices(practices))
                        practices = []
            if cities:
                await write(self.write_cities(cities))
            if practices:
                await write(self.write_practices(practices))
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing
        if terms:  # at most one entry per term: a few dozen
            updated, unchanged = await catalogue_terms.write_terms(terms)
            self.report.challenges_updated += updated
            self.report.challenges_unchanged += unchanged

    async def write_cities(self, batch: list[CityData]) -> None:
        existing = {city.key: city for city in await City.filter(key__in=[c.key for c in batch])}
        languages = await languages_of([city.id for city in existing.values()])
        created: list[CityData] = []
        updated: list[City] = []
        new_languages: dict[str, tuple[str, ...]] = {}
        stale: list[int] = []
        for data in batch:
            city = existing.get(data.key)
            if city is None:
                created.append(data)
                new_languages[data.key] = data.languages
                continue
            self.city_ids[data.key] = city.id
            changed = _apply_city(city, data)
            if languages.get(city.id, ()) != data.languages:
                new_languages[data.key] = data.languages
                stale.append(city.id)
                changed = True
            if changed:
                city.updated_at = self.now
                updated.append(city)
            else:
                self.report.cities_unchanged += 1
        if created:
            await City.bulk_create([_new_city(data, self.now) for data in created])
            keys = [data.key for data in created]
            ids = dict(await City.filter(key__in=keys).values_list("key", "id"))
            self.city_ids.update(ids)
            self.new_cities.update(ids.values())
        if updated:
            await City.bulk_update(updated, fields=[*_CITY_COLUMNS, "updated_at"])
        if stale:
            await CityLanguage.filter(city_id__in=stale).delete()
        await CityLanguage.bulk_create(
            [
                CityLanguage(city_id=self.city_ids[key], code=code, position=position)
                for key, codes in new_languages.items()
                for position, code in enumerate(codes)
            ]
        )
        self.report.cities_created += len(created)
        self.report.cities_updated += len(updated)

    async def write_practices(self, batch: list[PracticeData]) -> None:
        await self._load_city_ids({data.city for data in batch})
        existing = await _practices_for(
            [
                (self.city_ids[d.city], d.title)
                for d in batch
                if self.city_ids[d.city] not in self.new_cities
            ]
        )
        links = await challenges_of([row["id"] for row in existing.values()])
        created: list[PracticeData] = []
        updated: list[Practice] = []
        relink: dict[tuple[int, str], tuple[str, ...]] = {}
        stale: list[int] = []
        for data in batch:
            ident = (self.city_ids[data.city], data.title)
            stored = existing.get(ident)
            if stored is None:
                created.append(data)
                relink[ident] = data.challenges
                continue
            values = _practice_values(data)
            changed = any(stored[name] != value for name, value in values.items())
            if tuple(self.slugs[c] for c in links.get(stored["id"], ())) != data.challenges:
                relink[ident] = data.challenges
                stale.append(stored["id"])
                changed = True
            if changed:
                # Only a changed practice becomes a model object (for bulk_update).
                updated.append(Practice(**{**stored, **values, "updated_at": self.now}))
            else:
                self.report.practices_unchanged += 1
        ids = {ident: row["id"] for ident, row in existing.items()}
        if created:
            added = await db.insert_rows(
                "practice",
                _NEW_PRACTICE,
                [_new_practice(self.city_ids[data.city], data, self.now) for data in created],
                returning=("id", "city_id", "title"),
            )
            ids.update({(row["city_id"], row["title"]): row["id"] for row in added})
        if updated:
            await Practice.bulk_update(updated, fields=[*_PRACTICE_COLUMNS, "updated_at"])
        if stale:
            await PracticeChallenge.filter(practice_id__in=stale).delete()
        if relink:
            await db.insert_rows(
                "practice_challenge",
                ("practice_id", "challenge_id"),
                [
                    (ids[key], self.challenges[slug])
                    for key, slugs in relink.items()
                    for slug in slugs
                ],
            )
        self.report.practices_created += len(created)
        self.report.practices_updated += len(updated)

    async def _load_city_ids(self, keys: set[str]) -> None:
        missing = sorted(keys - self.city_ids.keys())
        for chunk in _chunks(missing, QUERY_CHUNK):
            self.city_ids.update(await City.filter(key__in=chunk).values_list("key", "id"))


def _ignore(name: str, message: str) -> None:
    """Problems were all reported by the first pass."""


_CITY_COLUMNS = (
    "name",
    "country",
    "region",
    "population",
    "timezone",
    "mentoring_capacity",
    "profile",
)
_PRACTICE_COLUMNS = ("summary", "since", "outcomes", "links", "status", "last_reviewed")


def _apply_city(city: City, data: CityData) -> bool:
    """Copy `data` onto `city`; True when anything changed."""
    values = {
        "name": data.name,
        "country": data.country,
        "region": data.region,
        "population": data.population,
        "timezone": data.timezone,
        "mentoring_capacity": data.mentoring_capacity,
        "profile": data.profile,
    }
    return _assign(city, values)


def _practice_values(data: PracticeData) -> dict[str, Any]:
    return {
        "summary": data.summary,
        "since": data.since,
        "outcomes": data.outcomes,
        "links": list(data.links),
        "status": data.status,
        "last_reviewed": data.last_reviewed,
    }


def _assign(obj: City | Practice, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _new_city(data: CityData, now: datetime) -> City:
    return City(
        key=data.key,
        name=data.name,
        country=data.country,
        region=data.region,
        population=data.population,
        timezone=data.timezone,
        mentoring_capacity=data.mentoring_capacity,
        profile=data.profile,
        created_at=now,
        updated_at=now,
    )


_NEW_PRACTICE = ("city_id", "title", *_PRACTICE_COLUMNS, "created_at", "updated_at")


def _new_practice(city_id: int, data: PracticeData, now: datetime) -> tuple[Any, ...]:
    """A new practice's row, in the order of _NEW_PRACTICE, as the database stores it."""
    links = JSON_DUMPS(list(data.links))
    summary, status = data.summary, data.status.value
    title, since, outcomes, reviewed = data.title, data.since, data.outcomes, data.last_reviewed
    return (city_id, title, summary, since, outcomes, links, status, reviewed, now, now)


async def languages_of(city_ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    rows = (
        await CityLanguage.filter(city_id__in=city_ids)
        .order_by("city_id", "position", "id")
        .values_list("city_id", "code")
    )
    for city_id, code in rows:
        found.setdefault(city_id, []).append(code)
    return {city_id: tuple(codes) for city_id, codes in found.items()}


async def challenges_of(practice_ids: list[int]) -> dict[int, list[int]]:
    """Each practice's challenge ids, in the order they were linked."""
    sqlite = db.dialect() == "sqlite"
    found: dict[int, list[int]] = {}
    for chunk in _chunks(practice_ids, BATCH_SIZE):
        # Raw SQL: building an IN list of thousands of ids through the query builder
        # costs more than running it.
        ids = ", ".join("?" for _ in chunk) if sqlite else "SELECT unnest($1::integer[])"
        sql = (
            "SELECT practice_id, challenge_id FROM practice_challenge"  # noqa: S608
            f" WHERE practice_id IN ({ids}) ORDER BY practice_id, id"
        )
        _, rows = await db.connection().execute_query(sql, list(chunk) if sqlite else [chunk])
        for row in rows:
            found.setdefault(int(row["practice_id"]), []).append(int(row["challenge_id"]))
    return found


async def _practices_for(keys: list[tuple[int, str]]) -> dict[tuple[int, str], dict[str, Any]]:
    """The stored practices among (city id, title) pairs, as the values an import
    compares (plain values: no model objects for the many that are unchanged).

    Asked as pairs: cities IN (...) AND titles IN (...) would have the database probe
    every city of a batch with every title, thousands of lookups per statement.
    """
    sqlite = db.dialect() == "sqlite"
    fields = Practice._meta.fields_map
    selected = "".join(f", p.{name} AS {name}" for name in _PRACTICE_COLUMNS)
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(keys)), QUERY_CHUNK):
        numbers = iter(range(1, 2 * len(chunk) + 1))
        pairs = ", ".join(
            "(?, ?)" if sqlite else f"(${next(numbers)}::integer, ${next(numbers)})" for _ in chunk
        )
        # The pairs lead (CROSS JOIN keeps SQLite from scanning every practice instead).
        sql = (
            f"WITH wanted (city_id, title) AS (VALUES {pairs})"  # noqa: S608 - placeholders
            f" SELECT p.id AS id, p.city_id AS city_id, p.title AS title{selected} FROM wanted"
            " CROSS JOIN practice p WHERE p.city_id = wanted.city_id AND p.title = wanted.title"
        )
        _, rows = await db.connection().execute_query(
            sql, [value for pair in chunk for value in pair]
        )
        for row in rows:
            ident = (int(row["city_id"]), str(row["title"]))
            found[ident] = {
                "id": int(row["id"]),
                "city_id": ident[0],
                "title": ident[1],
                **{name: fields[name].to_python_value(row[name]) for name in _PRACTICE_COLUMNS},
            }
    return found
