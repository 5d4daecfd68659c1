"""How fast the library search answers on a large library, on SQLite or PostgreSQL.

Builds (or reuses) a library of 100,000 documents: 10,000 cities with 95,000 practices,
imported with `exchange import` as a user would, and 5,000 published briefs. The words
follow a Zipf law over a vocabulary of everyday words of the domain and a long tail of
made-up ones, so a query meets lists from a few dozen documents to half the library.
Then it serves the app (`exchange serve`, a separate process) and asks `/library?q=...`
one query at a time: 60 different queries of one to three words, each ROUNDS times after
a warm-up. Prints p50, p95 and max of the pages, and of the search itself (the two
service calls a page makes, timed in this process on the same database).

    .venv/bin/python benchmarks/search.py [--database postgres://...] [--keep DIR]

Without `--database` the library lives in a SQLite file under `--keep` (or a temporary
folder). With a PostgreSQL URL the database must exist; it is emptied and rebuilt unless
it already holds this library (pass `--rebuild` to force it). Target: p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from import_speed import write_entries  # noqa: E402
from load import wait_for_match_index  # noqa: E402

SEED = 16
TARGET_P95_MS = 50.0
COMMON = (  # noqa: SIM905 - easier to read as prose
    "community recovery attack memorial dialogue youth safety trust newcomers housing "
    "language volunteers police schools mosque church synagogue festival square park "
    "rumour online hate partnership training crisis message mayor neighbourhood support "
    "council residents programme local government partners services response public "
    "officials network families workshop campaign strategy plan project centre office "
    "team district funding evaluation outreach leaders groups events meetings data report "
    "women children elderly refugees shelter counselling trauma resilience prevention "
    "extremism radicalisation cohesion integration interfaith mediation protest march "
    "harassment threats wellbeing burnout helpline hotline social media moderation "
    "libraries sport music theatre museum archive victims survivors anniversary vigil"
).split()


def vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    """The domain's words first (the most frequent), then made-up words (the long tail)."""
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    words = list(COMMON)
    seen = set(words)
    while len(words) < size:
        word = "".join(
            rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4))
        )
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Words:
    """Words drawn with Zipf weights (rank r has weight 1/r)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary(rng)
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]
        self.cumulative: list[float] = []
        total = 0.0
        for weight in self.weights:
            total += weight
            self.cumulative.append(total)

    def sentence(self, count: int) -> str:
        picked = self.rng.choices(self.words, cum_weights=self.cumulative, k=count)
        return " ".join(picked).capitalize() + "."


def write_catalogue(path: Path, n_cities: int, n_practices: int, words: Words) -> None:
    """The import benchmark's catalogue, its text drawn from the Zipf vocabulary."""
    write_entries(
        path,
        n_cities,
        n_practices,
        words.rng,
        words.sentence,
        lambda n: f"{words.sentence(5)[:-1]} ({n})",
    )


def queries(words: Words, count: int) -> list[str]:
    """`count` different queries of one to three words, common and rare words mixed."""
    rng = random.Random(SEED + 1)
    found: list[str] = []
    while len(found) < count:
        size = rng.choice((1, 1, 2, 2, 3))
        picked = rng.choices(words.words[:2000], cum_weights=words.cumulative[:2000], k=size)
        query = " ".join(dict.fromkeys(picked))
        if query not in found:
            found.append(query)
    return found


# ------------------------------------------------------------------ the database


async def _connect(url: str) -> None:
    from exchange import db

    await db.init_db(url)


async def library_size(url: str) -> tuple[int, int]:
    from exchange import db

    await _connect(url)
    try:
        conn = db.connection()
        practices = await conn.execute_query_dict("SELECT count(*) AS n FROM practice")
        briefs = await conn.execute_query_dict(
            "SELECT count(*) AS n FROM brief WHERE latest_version > 0"
        )
        return int(practices[0]["n"]), int(briefs[0]["n"])
    except Exception:  # not migrated yet
        return 0, 0
    finally:
        await db.close_db()


async def empty_postgres(url: str) -> None:
    from exchange import db

    await _connect(url)
    try:
        await db.connection().execute_script(
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO public"
        )
    finally:
        await db.close_db()


async def add_briefs(url: str, count: int, words: Words) -> None:
    """Published briefs, written as the library reads them (their searchable words)."""
    from tortoise.transactions import in_transaction

    from exchange import db

    await _connect(url)
    try:
        sqlite = db.dialect() == "sqlite"
        marks = ", ".join("?" if sqlite else f"${n}" for n in range(1, 12))
        insert = (
            "INSERT INTO brief (title, summary, recommendations, disclaimer, visibility,"  # noqa: S608
            " status, latest_version, published_at, search_title, search_text,"
            f" created_at, updated_at) VALUES ({marks}, {'?' if sqlite else '$12'})"
        )
        now = datetime.now(UTC)
        rows = []
        for n in range(count):
            title = f"{words.sentence(6)[:-1]} (brief {n})"
            summary = " ".join(words.sentence(14) for _ in range(3))
            text = summary + "\n\n" + " ".join(words.sentence(14) for _ in range(6))
            visibility = "public" if n % 3 else "members"
            stamp = now.isoformat() if sqlite else now
            values = [title, summary, "", "", visibility, "published", 1, stamp, title, text]
            rows.append([*values, stamp, stamp])
        async with in_transaction() as tx:
            await tx.execute_many(insert, rows)
        # As autovacuum would, in time (the import does it for what it writes).
        await db.refresh_statistics(("brief", "brief_search"))
    finally:
        await db.close_db()


def exchange(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "exchange", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"exchange {' '.join(args)} failed:\n{result.stderr}")
    return time.perf_counter() - started


def build_library(args: argparse.Namespace, url: str, work: Path, env: dict[str, str]) -> None:
    words = Words(random.Random(SEED))
    practices, briefs = asyncio.run(library_size(url))
    if not args.rebuild and practices == args.practices and briefs == args.briefs:
        exchange("migrate", env=env)
        print(f"reusing the library: {practices:,} practices and {briefs:,} briefs")
        return
    if url.startswith("sqlite"):
        for stale in work.glob("search.sqlite3*"):
            stale.unlink()
    else:
        asyncio.run(empty_postgres(url))
    catalogue = work / "search-catalogue.json"
    write_catalogue(catalogue, args.cities, args.practices, words)
    exchange("migrate", env=env)
    took = exchange("import", str(catalogue), env=env)
    catalogue.unlink()
    asyncio.run(add_briefs(url, args.briefs, words))
    print(
        f"built the library: {args.practices:,} practices (imported in {took:.1f} s) and "
        f"{args.briefs:,} briefs"
    )


# ------------------------------------------------------------------ timing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str) -> tuple[int, float, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    return response.status, elapsed, body


def time_pages(port: int, texts: list[str], rounds: int) -> list[float]:
    for text in texts[:10]:  # warm-up
        get(port, f"/library?q={quote_plus(text)}")
    times: list[float] = []
    for round_number in range(rounds):
        for text in texts:
            # A visitor's search page is kept once rendered (docs/performance.md): the
            # round number makes each address new, so every page runs its search.
            path = f"/library?q={quote_plus(text)}&round={round_number}"
            status, elapsed, body = get(port, path)
            if status != 200:
                sys.exit(f"/library?q={text} answered {status}:\n{body[:500]!r}")
            times.append(elapsed)
    return times


async def time_searches(url: str, texts: list[str], rounds: int) -> tuple[list[float], int]:
    """The search the page runs (practices with their challenges, and briefs)."""
    from exchange import db
    from exchange.services import library_views, search

    await _connect(url)
    times: list[float] = []
    empty = 0
    try:
        for text in texts[:10]:
            await library_views.library_results(text)
        for _ in range(rounds):
            for text in texts:
                started = time.perf_counter()
                results = await library_views.library_results(text)
                await search.search_briefs(None, text, per_page=5)
                times.append(time.perf_counter() - started)
                empty += not results.items
    finally:
        await db.close_db()
    return times, empty


def summary(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    return (
        f"{name:<8} p50 {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   "
        f"max {ms[-1]:6.1f} ms   ({len(ms)} requests)"
    )


def p95_of(times: list[float]) -> float:
    ms = sorted(t * 1000 for t in times)
    return ms[max(0, round(0.95 * len(ms)) - 1)]


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "exchange", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            error = server.stderr.read().decode() if server.stderr else ""
            sys.exit(f"exchange serve stopped:\n{error}")
        try:
            if get(port, "/healthz")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        server.terminate()
        sys.exit("exchange serve did not answer within 60 s")
    # Time the pages once the worker's matching index is ready (built or loaded from a
    # snapshot): preparing it takes the process's CPU meanwhile.
    waited = wait_for_match_index(port)
    print(f"the worker's matching index was ready {waited:.1f} s after start")
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", default="", help="postgres://... (SQLite if not given)")
    parser.add_argument("--keep", type=Path, help="keep the SQLite library in this folder")
    parser.add_argument("--cities", type=int, default=10_000)
    parser.add_argument("--practices", type=int, default=95_000)
    parser.add_argument("--briefs", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="rebuild even a matching library")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="exchange-search-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.database or f"sqlite://{work / 'search.sqlite3'}"
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": url,
        "EXCHANGE_VAR_DIR": str(work / "var"),
        "EXCHANGE_LOG_FORMAT": "text",
    }
    build_library(args, url, work, env)
    texts = queries(Words(random.Random(SEED)), args.queries)
    name = "sqlite" if url.startswith("sqlite") else "postgres"

    service, empty = asyncio.run(time_searches(url, texts, args.rounds))
    port = free_port()
    server = serve(env, port)
    try:
        pages = time_pages(port, texts, args.rounds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{name}: {len(texts)} queries of 1-3 words, {args.rounds} rounds, one at a time")
    print(summary("search", service) + f"   ({empty // args.rounds} queries found nothing)")
    print(summary("page", pages))
    met = p95_of(pages) < TARGET_P95_MS
    print(f"target: page p95 under {TARGET_P95_MS:.0f} ms -> {'met' if met else 'NOT met'}")
    if not args.keep and not args.database:
        for path in sorted(work.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
