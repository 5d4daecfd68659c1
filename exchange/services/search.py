"""Full-text search over published practices and briefs, on the database's own engine.

This module is the one place that knows SQLite (FTS5 indexes with the porter stemmer,
see migrations/0002_library_search.py and 0010_briefs.py) from PostgreSQL (English
`tsvector`s in tables of their own with GIN indexes, migration 0013). Both stem words,
so "attacks" finds "attack". A query finds what matches any of its words, those
matching the most words first, then by the engine's rank (bm25, `ts_rank`).

A search stays fast on a large library (docs/performance.md): documents are ranked in
tiers (all the words, then fewer), each tier ranking its RANK_POOL newest matches inside
the database with a LIMIT and asked only while the page is not full; matches are counted
up to COUNT_LIMIT ("more than 1,000"); titles and snippets are made for the rows shown
only. What a reader may see comes from services/visibility.py, inside every statement.
Matched words come back wrapped in private-use marker characters, and `highlight` turns
them into `<mark>` tags around escaped text, so nothing a document says can reach the
page as HTML.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Any, TypeVar

from markupsafe import Markup, escape
from tortoise.transactions import in_transaction

from exchange import db
from exchange.domain.text import stop_words
from exchange.models.accounts import User
from exchange.services import visibility
from exchange.services.pagination import Page, clamp, empty_page

T = TypeVar("T")
Mark = Callable[[], str]
Groups = list[tuple[int, ...]]
_Query = tuple[str, list[Any]]

START = "\ue000"
STOP = "\ue001"
MAX_TERMS = 20
SNIPPET_WORDS = 30
# Relevance is ranked among this many of a tier's newest matches (a page deeper than
# that ranks more): ranking every match of a word half the library holds costs a
# second, and past a few hundred matches the first page hardly changes.
RANK_POOL = 200
# Matches are counted up to this many; past it the page says "more than".
COUNT_LIMIT = 1000
# At most this many groups of words in the condition of one tier.
MAX_GROUPS = 20
WORD_RE = re.compile(r"\w+")
MARKDOWN_NOISE = re.compile(r"\]\([^)\s]*\)?|[*`\[\]]+")


@dataclass(frozen=True)
class SearchHit:
    practice_id: int
    city_key: str
    city_name: str
    title: Markup
    snippet: Markup


@dataclass(frozen=True)
class BriefHit:
    brief_id: int
    title: Markup
    snippet: Markup


async def search_practices(
    query: str, *, challenge: str = "", region: str = "", page: int = 1, per_page: int = 20
) -> Page[SearchHit]:
    """Published practices whose title or summary match any word of `query`, best first
    (the most words matched, then rank).

    A blank query lists every published practice that passes the filters, by title.
    """
    if not query.strip():
        return await _browse(challenge, region, page, per_page)
    terms = search_terms(query)
    if not terms:
        return empty_page(page, per_page)
    source = _Source(
        kind=PRACTICES,
        sqlite=db.dialect() == "sqlite",
        visible=lambda mark: visibility.public_practice_sql("p", mark),
        filters=lambda mark: _filters(challenge, region, mark),
        joined=bool(region),
    )
    rows, total, page, requested = await _search_page(source, terms, page, per_page)
    hits = [
        SearchHit(
            practice_id=row["id"],
            city_key=row["city_key"],
            city_name=row["city_name"],
            title=highlight(row["title"]),
            snippet=highlight(row["snippet"]),
        )
        for row in rows
    ]
    return _page(hits, page, per_page, total, requested)


async def search_briefs(
    user: User | None, query: str, *, page: int = 1, per_page: int = 10
) -> Page[BriefHit]:
    """Published briefs (their findings included) the user may read, best match first.

    What the user may read is decided inside the query, so a page is never short of hits
    that were filtered out after the limit.
    """
    terms = search_terms(query)
    if not terms:
        return empty_page(page, per_page)
    source = _Source(
        kind=BRIEFS,
        sqlite=db.dialect() == "sqlite",
        visible=lambda mark: visibility.visible_brief_sql(user, "b", mark),
        filters=lambda mark: ("", []),
    )
    rows, total, page, requested = await _search_page(source, terms, page, per_page)
    hits = [
        BriefHit(
            brief_id=row["id"], title=highlight(row["title"]), snippet=highlight(row["snippet"])
        )
        for row in rows
    ]
    return _page(hits, page, per_page, total, requested)


async def _search_page(
    source: _Source, terms: list[str], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int, int, int]:
    """Rows of page `page`, the count, and the page shown with the one asked for: past the
    end (an old link, fewer matches now), the last page is searched again and shown."""
    async with _planned_for_these_words(source.sqlite):
        rows, total = await _search(source, terms, page, per_page)
        shown, requested = clamp(page, min(total, COUNT_LIMIT), per_page)
        if requested:
            rows, total = await _search(source, terms, shown, per_page)
    return rows, total, shown, requested


@asynccontextmanager
async def _planned_for_these_words(sqlite: bool) -> AsyncIterator[None]:
    """On PostgreSQL, one transaction whose statements are planned for their own words.

    A prepared statement is soon run from a generic plan, made without its parameters:
    for a search, the planner then knows neither how many documents the words match nor
    the query itself, which it parses again for every row it tests (a common word and a
    rare one want different plans; a generic one costs several times either). Planning
    each statement takes well under a millisecond. The search tables are read from
    memory, where a page read out of order costs about what one read in order does, not
    the four times PostgreSQL assumes by default (made for spinning disks): with that
    default it scans thousands of rows rather than use the full-text index. The
    transaction also has the count and the rows read from one snapshot.
    """
    if sqlite:
        yield
        return
    async with in_transaction() as connection:
        await connection.execute_script(
            "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL random_page_cost = 1.1"
        )
        yield


def _page(items: list[T], number: int, per_page: int, total: int, requested: int) -> Page[T]:
    capped = total > COUNT_LIMIT
    return Page(
        items=items,
        number=number,
        per_page=per_page,
        total=min(total, COUNT_LIMIT),
        capped=capped,
        requested=requested,
    )


def search_terms(query: str) -> list[str]:
    """The words of a query that count: lower-cased, common words dropped, at most 20."""
    ignored = stop_words("en")
    words = [word for word in WORD_RE.findall(query.lower()) if word not in ignored]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def tiers(count: int) -> list[list[tuple[int, ...]]]:
    """For "at least k of `count` words", k from all of them down to one: the groups of
    word positions a row must match all of (it matches the tier if any group matches).

    A tier that would take more than MAX_GROUPS groups is left out; its rows fall to the
    next tier down (which only happens past six words).
    """
    found: list[list[tuple[int, ...]]] = []
    for k in range(count, 0, -1):
        if k in (count, 1) or comb(count, k) <= MAX_GROUPS:
            found.append(list(combinations(range(count), k)))
    return found


def _filters(challenge: str, region: str, mark: Mark) -> tuple[str, list[Any]]:
    """SQL conditions (on `p` and `c`) for the filters, with their parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if region:
        clauses.append(f"c.region = {mark()}")
        params.append(region)
    if challenge:
        clauses.append(
            "EXISTS (SELECT 1 FROM practice_challenge pc JOIN challenge ch "  # noqa: S608
            f"ON ch.id = pc.challenge_id WHERE pc.practice_id = p.id AND ch.slug = {mark()})"
        )
        params.append(challenge)
    return "".join(f" AND {clause}" for clause in clauses), params


async def _browse(challenge: str, region: str, page: int, per_page: int) -> Page[SearchHit]:
    practices = visibility.public_practices().select_related("city")
    if region:
        practices = practices.filter(city__region=region)
    if challenge:
        practices = practices.filter(challenge_links__challenge__slug=challenge)
    total = await practices.count()
    page, requested = clamp(page, total, per_page)
    rows = await practices.order_by("title", "id").offset((page - 1) * per_page).limit(per_page)
    hits = [
        SearchHit(
            practice_id=p.id,
            city_key=p.city.key,
            city_name=p.city.name,
            title=escape(p.title),
            snippet=highlight(_opening(p.summary)),
        )
        for p in rows
    ]
    return Page(items=hits, number=page, per_page=per_page, total=total, requested=requested)


def _opening(text: str) -> str:
    words = text.split()
    return " ".join(words[:SNIPPET_WORDS]) + (" …" if len(words) > SNIPPET_WORDS else "")


def highlight(marked: str | None) -> Markup:
    """Text with marker characters as HTML: escaped text, matched words in <mark>."""
    parts: list[Markup] = []
    inside = False
    for piece in re.split(f"([{START}{STOP}])", marked or ""):
        if piece == START:
            inside = True
        elif piece == STOP:
            inside = False
        elif piece:
            text = MARKDOWN_NOISE.sub("", piece)
            parts.append(Markup("<mark>%s</mark>") % text if inside else escape(text))
    return Markup("").join(parts)


# ------------------------------------------------------------------ the engines


@dataclass(frozen=True)
class _Kind:
    """Where one kind of document lives: its table, its FTS5 table (SQLite), its table
    of `tsvector`s (PostgreSQL, migration 0013) and what a hit shows besides its title
    and snippet."""

    fts: str
    table: str
    alias: str
    joins: str
    vectors: str
    title: str
    text: str
    columns: str


PRACTICES = _Kind(
    fts="practice_search",
    table="practice",
    alias="p",
    joins=" JOIN city c ON c.id = p.city_id",
    vectors="practice_search",
    title="p.title",
    text="p.summary",
    columns="c.key AS city_key, c.name AS city_name, ",
)
BRIEFS = _Kind(
    fts="brief_search",
    table="brief",
    alias="b",
    joins="",
    vectors="brief_search",
    title="b.search_title",
    text="b.search_text",
    columns="",
)


class _Statement:
    """Placeholders in the dialect's style, with their values in order."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self.params: list[Any] = []
        self.count = 0

    def mark(self) -> str:
        self.count += 1
        return "?" if self.sqlite else f"${self.count}"

    def bind(self, value: Any) -> str:
        placeholder = self.mark()
        self.params.append(value)
        return placeholder


@dataclass(frozen=True)
class _Source:
    """One search: which documents, on which engine, under which rules."""

    kind: _Kind
    sqlite: bool
    visible: Callable[[Mark], tuple[str, list[Any]]]
    filters: Callable[[Mark], tuple[str, list[Any]]]
    joined: bool = False  # the filters need the kind's joins

    def conditions(self, statement: _Statement) -> str:
        visible, params = self.visible(statement.mark)
        statement.params.extend(params)
        where, params = self.filters(statement.mark)
        statement.params.extend(params)
        return f" AND {visible}{where}"

    def matches(self, statement: _Statement, terms: list[str], groups: Groups) -> str:
        """The full-text condition: a row matches every word of at least one group."""
        k = self.kind
        if self.sqlite:
            expression = " OR ".join(
                "(" + " AND ".join(f'"{terms[i]}"' for i in group) + ")" for group in groups
            )
            return f"{k.fts} MATCH {statement.bind(expression)}"
        return f"v.vector @@ {self.tsquery(statement, terms, groups)}"

    def tsquery(self, statement: _Statement, terms: list[str], groups: Groups) -> str:
        words = [f"plainto_tsquery('english'::regconfig, {statement.bind(t)})" for t in terms]
        return (
            "("
            + " || ".join("(" + " && ".join(words[i] for i in group) + ")" for group in groups)
            + ")"
        )

    def rows(self, joined: bool = False) -> str:
        """The FROM clause; the kind's joins only when shown or filtered on."""
        k = self.kind
        joins = k.joins if joined or self.joined else ""
        if self.sqlite:
            # CROSS JOIN keeps the full-text index in the lead: SQLite would otherwise
            # start from an index on a visibility column and test MATCH row by row.
            return (
                f" FROM {k.fts} CROSS JOIN {k.table} {k.alias}"
                f" ON {k.alias}.id = {k.fts}.rowid{joins}"
            )
        return f" FROM {k.vectors} v JOIN {k.table} {k.alias} ON {k.alias}.id = v.id{joins}"

    def count(self, terms: list[str]) -> _Query:
        """How many documents match any word, counted up to one past COUNT_LIMIT."""
        statement = _Statement(self.sqlite)
        matches = self.matches(statement, terms, tiers(len(terms))[-1])
        where = self.conditions(statement)
        limit = statement.bind(COUNT_LIMIT + 1)
        sql = (
            f"SELECT count(*) AS total FROM (SELECT 1{self.rows()}"  # noqa: S608
            f" WHERE {matches}{where} LIMIT {limit}) found"
        )
        return sql, statement.params

    def ranked(self, terms: list[str], groups: Groups, wanted: int) -> _Query:
        """The best `wanted` ids of one tier, ranked among its RANK_POOL newest matches."""
        k, a = self.kind, self.kind.alias
        statement = _Statement(self.sqlite)
        if self.sqlite:
            matches = self.matches(statement, terms, groups)
            where = self.conditions(statement)
            pool_mark, wanted_mark = statement.bind(RANK_POOL), statement.bind(wanted)
            sql = (
                f"SELECT id FROM (SELECT {k.fts}.rowid AS id,"  # noqa: S608
                f" bm25({k.fts}, 4.0, 1.0) AS score{self.rows()} WHERE {matches}{where}"
                f" ORDER BY {k.fts}.rowid DESC LIMIT {pool_mark}) newest"
                f" ORDER BY score, id LIMIT {wanted_mark}"
            )
            return sql, statement.params
        tsquery = self.tsquery(statement, terms, groups)
        where = self.conditions(statement)
        pool_mark, wanted_mark = statement.bind(RANK_POOL), statement.bind(wanted)
        sql = (
            f"SELECT r.id AS id FROM {k.vectors} r WHERE r.id IN ("  # noqa: S608
            f"SELECT {a}.id{self.rows()} WHERE v.vector @@ {tsquery}{where}"
            f" ORDER BY {a}.id DESC LIMIT {pool_mark})"
            f" ORDER BY ts_rank(r.vector, {tsquery}) DESC, r.id LIMIT {wanted_mark}"
        )
        return sql, statement.params

    def older(self, terms: list[str], groups: Groups, wanted: int) -> _Query:
        """Up to `wanted` ids of one tier past its RANK_POOL newest, newest first."""
        statement = _Statement(self.sqlite)
        matches = self.matches(statement, terms, groups)
        where = self.conditions(statement)
        wanted_mark, pool_mark = statement.bind(wanted), statement.bind(RANK_POOL)
        sql = (
            f"SELECT {self.kind.alias}.id AS id{self.rows()} WHERE {matches}{where}"
            f" ORDER BY {self.kind.alias}.id DESC LIMIT {wanted_mark} OFFSET {pool_mark}"
        )
        return sql, statement.params

    def shown(self, terms: list[str], ids: list[int]) -> _Query:
        """Titles and snippets, with the matched words marked, of the rows shown only."""
        k, a = self.kind, self.kind.alias
        statement = _Statement(self.sqlite)
        if self.sqlite:
            matches = self.matches(statement, terms, tiers(len(terms))[-1])
            wanted = ", ".join(statement.bind(ident) for ident in ids)
            sql = (
                f"SELECT {a}.id AS id, {k.columns}"
                f"highlight({k.fts}, 0, '{START}', '{STOP}') AS title,"
                f" snippet({k.fts}, 1, '{START}', '{STOP}', '…', {SNIPPET_WORDS}) AS snippet"
                f"{self.rows(joined=True)} WHERE {matches} AND {k.fts}.rowid IN ({wanted})"
            )
            return sql, statement.params
        tsquery = self.tsquery(statement, terms, tiers(len(terms))[-1])
        title_options = statement.bind(f"StartSel={START}, StopSel={STOP}, HighlightAll=true")
        options = statement.bind(
            f"StartSel={START}, StopSel={STOP}, MaxWords={SNIPPET_WORDS}, MinWords=12, "
            'MaxFragments=2, FragmentDelimiter=" … "'
        )
        wanted = statement.bind(ids)
        sql = (
            f"SELECT {a}.id AS id, {k.columns}"
            f"ts_headline('english'::regconfig, {k.title}, {tsquery}, {title_options}) AS title,"
            f" ts_headline('english'::regconfig, {k.text}, {tsquery}, {options}) AS snippet"
            f"{self.rows(joined=True)} WHERE {a}.id = ANY({wanted}::int[])"
        )
        return sql, statement.params


async def _search(
    source: _Source, terms: list[str], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """The rows of one page (best first) and how many documents match, capped."""
    conn = db.connection()
    sql, params = source.count(terms)
    total = int((await conn.execute_query_dict(sql, params))[0]["total"])
    offset = (page - 1) * per_page
    if offset >= total:
        return [], total
    ids = (await _ranked_ids(source, terms, offset + per_page))[offset:]
    if not ids:
        return [], total
    sql, params = source.shown(terms, ids)
    rows = {row["id"]: row for row in await conn.execute_query_dict(sql, params)}
    return [rows[ident] for ident in ids if ident in rows], total


async def _ranked_ids(source: _Source, terms: list[str], wanted: int) -> list[int]:
    """The best `wanted` ids: rows matching the most words first, then by rank.

    Each tier (at least k words) ranks its RANK_POOL newest matches inside the database;
    its older matches follow, newest first, so every page of a search agrees with the
    others. A lower tier is only asked while the page is not full, and then every row of
    the higher tiers is in hand: one it finds again was placed already.
    """
    conn = db.connection()
    found: list[int] = []
    seen: set[int] = set()

    async def take(query: _Query) -> int:
        rows = await conn.execute_query_dict(*query)
        for row in rows:
            ident = int(row["id"])
            if ident not in seen:
                seen.add(ident)
                found.append(ident)
        return len(rows)

    for groups in tiers(len(terms)):
        limit = wanted + len(found)
        if await take(source.ranked(terms, groups, limit)) == RANK_POOL:
            await take(source.older(terms, groups, limit))
        if len(found) >= wanted:
            break
    return found[:wanted]
