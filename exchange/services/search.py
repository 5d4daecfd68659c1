"""Full-text search over published practices, on the database's own engine.

`search_practices` is the one place that knows SQLite (an FTS5 index with the porter
stemmer, see migrations/0002_library_search.py) from PostgreSQL (an English `tsvector`
with a GIN index). Both stem words, so "attacks" finds "attack". A query finds what
matches any of its words, those matching the most words first, then by the engine's
rank: FTS5 gets the words joined by OR, PostgreSQL one `plainto_tsquery` per word
joined by `||`, and both count the words matched. Matched words come back
wrapped in private-use marker characters, and `highlight` turns them into `<mark>` tags
around escaped text, so nothing a practice says can reach the page as HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from exchange import db
from exchange.domain.text import stop_words
from exchange.models.accounts import User
from exchange.services import visibility
from exchange.services.pagination import Page, clamp, empty_page

START = "\ue000"
STOP = "\ue001"
MAX_TERMS = 20
SNIPPET_WORDS = 30
WORD_RE = re.compile(r"\w+")
MARKDOWN_NOISE = re.compile(r"\]\([^)\s]*\)?|[*`\[\]]+")

# Must stay identical to the expression of the GIN index in the migration.
PG_VECTOR = (
    "(setweight(to_tsvector('english'::regconfig, coalesce(p.title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(p.summary, '')), 'B'))"
)


@dataclass(frozen=True)
class SearchHit:
    practice_id: int
    city_key: str
    city_name: str
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
    build = _sqlite_sql if db.dialect() == "sqlite" else _postgres_sql
    sql = build(query, challenge, region)
    if sql is None:
        return empty_page(page, per_page)
    count_sql, count_params, select_sql, select_params = sql
    conn = db.connection()
    total_rows = await conn.execute_query_dict(count_sql, count_params)
    total = int(total_rows[0]["total"])
    page, requested = clamp(page, total, per_page)
    offset = (page - 1) * per_page
    rows = await conn.execute_query_dict(select_sql, [*select_params, per_page, offset])
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
    return Page(items=hits, number=page, per_page=per_page, total=total, requested=requested)


def search_terms(query: str) -> list[str]:
    """The words of a query that count: lower-cased, common words dropped, at most 20."""
    ignored = stop_words("en")
    words = [word for word in WORD_RE.findall(query.lower()) if word not in ignored]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def _fts_any(terms: list[str]) -> str:
    """An FTS5 query matching any of the terms (each quoted, so it is a plain word)."""
    return " OR ".join(f'"{term}"' for term in terms)


def _fts_matched(table: str, row_id: str, terms: list[str]) -> tuple[str, list[Any]]:
    """SQL counting how many of the terms a row of an FTS5 table matches."""
    one = f"({row_id} IN (SELECT rowid FROM {table} WHERE {table} MATCH ?))"  # noqa: S608
    return "(" + " + ".join([one] * len(terms)) + ")", [f'"{term}"' for term in terms]


def _pg_any(terms: list[str], mark: Any) -> tuple[str, str, list[str]]:
    """A PostgreSQL tsquery matching any term, an expression counting the terms a
    vector matches (use with `.format(vector=...)`), and their parameters."""
    marks = [mark() for _ in terms]
    queries = [f"plainto_tsquery('english'::regconfig, {m})" for m in marks]
    anyone = "(" + " || ".join(queries) + ")"
    matched = "(" + " + ".join(f"({{vector}} @@ {q})::int" for q in queries) + ")"
    return anyone, matched, list(terms)


def _filters(challenge: str, region: str, mark: Any) -> tuple[str, list[Any]]:
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


# (count SQL, its parameters, select SQL, its parameters before LIMIT and OFFSET)
Statements = tuple[str, list[Any], str, list[Any]]


def _sqlite_sql(query: str, challenge: str, region: str) -> Statements | None:
    terms = search_terms(query)
    if not terms:
        return None
    match = _fts_any(terms)
    matched, matched_params = _fts_matched("practice_search", "p.id", terms)

    def mark() -> str:
        return "?"

    visible, visible_params = visibility.public_practice_sql("p", mark)
    where, params = _filters(challenge, region, mark)
    base = (
        " FROM practice_search JOIN practice p ON p.id = practice_search.rowid"
        " JOIN city c ON c.id = p.city_id"
        f" WHERE practice_search MATCH ? AND {visible}{where}"
    )
    params = [match, *visible_params, *params]
    select = (
        "SELECT p.id AS id, c.key AS city_key, c.name AS city_name,"
        f" highlight(practice_search, 0, '{START}', '{STOP}') AS title,"
        f" snippet(practice_search, 1, '{START}', '{STOP}', '…', {SNIPPET_WORDS}) AS snippet"
        f"{base} ORDER BY {matched} DESC, bm25(practice_search, 4.0, 1.0), p.id"
        " LIMIT ? OFFSET ?"
    )
    return f"SELECT count(*) AS total{base}", params, select, [*params, *matched_params]


def _postgres_sql(query: str, challenge: str, region: str) -> Statements | None:
    terms = search_terms(query)
    if not terms:
        return None
    counter = iter(range(1, 1000))

    def mark() -> str:
        return f"${next(counter)}"

    tsquery, matched, term_params = _pg_any(terms, mark)
    visible, visible_params = visibility.public_practice_sql("p", mark)
    where, params = _filters(challenge, region, mark)
    options = (
        f"StartSel={START}, StopSel={STOP}, MaxWords={SNIPPET_WORDS}, MinWords=12, "
        'MaxFragments=2, FragmentDelimiter=" … "'
    )
    base = (
        " FROM practice p JOIN city c ON c.id = p.city_id"
        f" WHERE {PG_VECTOR} @@ {tsquery} AND {visible}{where}"
    )
    params = [*term_params, *visible_params, *params]
    title_mark, options_mark, limit_mark, offset_mark = mark(), mark(), mark(), mark()
    select = (
        "SELECT p.id AS id, c.key AS city_key, c.name AS city_name,"
        f" ts_headline('english'::regconfig, p.title, {tsquery}, {title_mark}) AS title,"
        f" ts_headline('english'::regconfig, p.summary, {tsquery}, {options_mark}) AS snippet"
        f"{base} ORDER BY {matched.format(vector=PG_VECTOR)} DESC,"
        f" ts_rank({PG_VECTOR}, {tsquery}) DESC, p.id"
        f" LIMIT {limit_mark} OFFSET {offset_mark}"
    )
    title_options = f"StartSel={START}, StopSel={STOP}, HighlightAll=true"
    return f"SELECT count(*) AS total{base}", params, select, [*params, title_options, options]


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


# ------------------------------------------------------------------ briefs

# Must stay identical to the expression of the GIN index in migration 0010.
BRIEF_VECTOR = (
    "(setweight(to_tsvector('english'::regconfig, coalesce(b.search_title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(b.search_text, '')), 'B'))"
)


@dataclass(frozen=True)
class BriefHit:
    brief_id: int
    title: Markup
    snippet: Markup


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
    conn = db.connection()
    if db.dialect() == "sqlite":

        def mark() -> str:
            return "?"

        visible, params = visibility.visible_brief_sql(user, "b", mark)
        base = (
            " FROM brief_search JOIN brief b ON b.id = brief_search.rowid"
            f" WHERE brief_search MATCH ? AND {visible}"
        )
        params = [_fts_any(terms), *params]
        matched, matched_params = _fts_matched("brief_search", "b.id", terms)
        select = (
            "SELECT b.id AS id,"
            f" highlight(brief_search, 0, '{START}', '{STOP}') AS title,"
            f" snippet(brief_search, 1, '{START}', '{STOP}', '…', {SNIPPET_WORDS}) AS snippet"
            f"{base} ORDER BY {matched} DESC, bm25(brief_search, 4.0, 1.0), b.id"
            " LIMIT ? OFFSET ?"
        )
        select_params = [*params, *matched_params]
    else:
        counter = iter(range(1, 1000))

        def mark() -> str:
            return f"${next(counter)}"

        tsquery, matched, term_params = _pg_any(terms, mark)
        visible, visible_params = visibility.visible_brief_sql(user, "b", mark)
        base = f" FROM brief b WHERE {BRIEF_VECTOR} @@ {tsquery} AND {visible}"
        params = [*term_params, *visible_params]
        title_mark, options_mark, limit_mark, offset_mark = mark(), mark(), mark(), mark()
        select = (
            "SELECT b.id AS id,"
            f" ts_headline('english'::regconfig, b.search_title, {tsquery}, {title_mark}) AS title,"
            f" ts_headline('english'::regconfig, b.search_text, {tsquery}, {options_mark})"
            f" AS snippet{base} ORDER BY {matched.format(vector=BRIEF_VECTOR)} DESC,"
            f" ts_rank({BRIEF_VECTOR}, {tsquery}) DESC, b.id"
            f" LIMIT {limit_mark} OFFSET {offset_mark}"
        )
        options = (
            f"StartSel={START}, StopSel={STOP}, MaxWords={SNIPPET_WORDS}, MinWords=12, "
            'MaxFragments=2, FragmentDelimiter=" … "'
        )
        select_params = [*params, f"StartSel={START}, StopSel={STOP}, HighlightAll=true", options]
    total_rows = await conn.execute_query_dict(f"SELECT count(*) AS total{base}", params)
    total = int(total_rows[0]["total"])
    page, requested = clamp(page, total, per_page)
    rows = await conn.execute_query_dict(select, [*select_params, per_page, (page - 1) * per_page])
    hits = [
        BriefHit(
            brief_id=row["id"], title=highlight(row["title"]), snippet=highlight(row["snippet"])
        )
        for row in rows
    ]
    return Page(items=hits, number=page, per_page=per_page, total=total, requested=requested)
