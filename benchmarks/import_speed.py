"""How fast `exchange import` loads a large catalogue into a fresh database.

Generates 10,000 cities and 100,000 practices with a fixed seed, migrates a new SQLite
database (or empties and migrates the PostgreSQL database given with `--database`), and
times `exchange import FILE` as a user runs it (a separate process), then the same
import again (everything unchanged). Prints the times and the importer's peak memory.
Targets: the first import in under 20 seconds, the second in under 10.

    .venv/bin/python benchmarks/import_speed.py [--database postgres://...]
        [--cities N] [--practices N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROSE = (
    "community recovery attack memorial dialogue youth safety trust newcomers housing "
    "language volunteers police schools mosque church synagogue festival square park "
    "rumour online hate partnership training crisis message mayor neighbourhood support"
)
WORDS = PROSE.split()
REGIONS = {
    "europe": ("FR", "Europe/Paris", ["fr", "en"]),
    "north-america": ("US", "America/New_York", ["en", "es"]),
    "latin-america": ("BR", "America/Sao_Paulo", ["pt"]),
    "africa": ("KE", "Africa/Nairobi", ["sw", "en"]),
    "middle-east": ("JO", "Asia/Amman", ["ar"]),
    "asia": ("JP", "Asia/Tokyo", ["ja"]),
    "oceania": ("NZ", "Pacific/Auckland", ["en", "mi"]),
}


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def write_catalogue(path: Path, n_cities: int, n_practices: int, seed: int) -> None:
    """The import benchmark's catalogue: words drawn evenly from a small domain list."""
    rng = random.Random(seed)
    write_entries(
        path,
        n_cities,
        n_practices,
        rng,
        lambda count: sentence(rng, count),
        lambda n: f"Practice {n}: {sentence(rng, 4)}",
    )


def write_entries(
    path: Path,
    n_cities: int,
    n_practices: int,
    rng: random.Random,
    sentence_of: Callable[[int], str],
    title_of: Callable[[int], str],
) -> None:
    """Cities and practices in the catalogue format, with text from `sentence_of` (a
    sentence of so many words) and titles from `title_of` (the practice's number).
    Written entry by entry, so even generating it keeps memory flat."""
    slugs = [
        term["slug"]
        for term in json.loads((ROOT / "exchange/data/taxonomy.json").read_text(encoding="utf-8"))
    ]
    with path.open("w", encoding="utf-8") as out:
        out.write('{"cities": [\n')
        for n in range(n_cities):
            region = rng.choice(sorted(REGIONS))
            country, zone, languages = REGIONS[region]
            city = {
                "key": f"city-{n:05d}",
                "name": f"City {n}",
                "country": country,
                "region": region,
                "population": rng.randint(5_000, 5_000_000),
                "languages": languages,
                "timezone": zone,
                "mentoring_capacity": rng.randint(0, 4),
                "profile": sentence_of(25),
            }
            out.write(("," if n else "") + json.dumps(city) + "\n")
        out.write('], "practices": [\n')
        for n in range(n_practices):
            practice = {
                "city": f"city-{n % n_cities:05d}",
                "title": title_of(n),
                "summary": " ".join(sentence_of(12) for _ in range(4)),
                "challenges": rng.sample(slugs, rng.randint(1, 3)),
                "since": rng.randint(1990, 2025),
                "outcomes": sentence_of(10),
                "links": [f"https://example.org/practice/{n}"],
            }
            out.write(("," if n else "") + json.dumps(practice) + "\n")
        out.write("]}\n")


def exchange(*args: str, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "exchange", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"exchange {' '.join(args)} failed:\n{result.stderr}")
    return elapsed, result.stdout.strip()


async def empty_postgres(url: str) -> None:
    """Drop everything in the database's public schema (it is migrated afresh)."""
    sys.path.insert(0, str(ROOT))
    from exchange import db

    await db.init_db(url)
    try:
        await db.connection().execute_script(
            "DROP SCHEMA public CASCADE; CREATE SCHEMA public; GRANT ALL ON SCHEMA public TO public"
        )
    finally:
        await db.close_db()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=10_000)
    parser.add_argument("--practices", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--database", default="", help="postgres://... (emptied first)")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="exchange-import-"))
    work.mkdir(parents=True, exist_ok=True)
    catalogue = work / "catalogue.json"
    database = work / "import.sqlite3"
    for stale in work.glob("import.sqlite3*"):
        stale.unlink()
    url = args.database or f"sqlite://{database}"
    if args.database:
        asyncio.run(empty_postgres(url))
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": url,
        "EXCHANGE_VAR_DIR": str(work / "var"),
    }

    started = time.perf_counter()
    write_catalogue(catalogue, args.cities, args.practices, args.seed)
    size_mb = catalogue.stat().st_size / 1e6
    print(
        f"catalogue: {args.cities:,} cities, {args.practices:,} practices, "
        f"{size_mb:.1f} MB, written in {time.perf_counter() - started:.1f} s"
    )
    exchange("migrate", env=env)

    first, summary = exchange("import", str(catalogue), env=env)
    print(f"first import:  {first:6.1f} s  ({summary})")
    again, summary = exchange("import", str(catalogue), env=env)
    print(f"second import: {again:6.1f} s  ({summary})")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of an import process: {peak_mb:.0f} MB")
    print(f"database: {'postgres' if args.database else 'sqlite'}")
    print(f"target: first import under 20 s -> {'met' if first < 20 else 'NOT met'}")
    print(f"target: second import under 10 s -> {'met' if again < 10 else 'NOT met'}")
    if not args.keep:
        for path in sorted(work.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
