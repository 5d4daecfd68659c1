"""How soon a starting process can rank peers: building the matching index, or loading it.

On an existing database (a large catalogue: `benchmarks/import_speed.py --keep DIR`
leaves one), times what a web process does at start-up with snapshots on: first with no
snapshot (it builds the index and saves one), then, in a second process, loading the
snapshot. That process then ranks random requests and prints p50/p95 and its resident
memory.

    .venv/bin/python benchmarks/index_start.py --database sqlite:///tmp/x/import.sqlite3
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exchange import db  # noqa: E402
from exchange.domain.matching import MatchQuery  # noqa: E402
from exchange.services import matching  # noqa: E402

TARGET_READY_S = 5.0
TARGET_P95_MS = 20.0
TEXTS = (
    "Support for victims and families after an attack",
    "Welcoming newcomers and refugees in schools",
    "Online hate against the mayor and council officials",
    "Managing large protests in the city centre",
    "Youth programmes against violent extremism",
)


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def snapshot_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.glob("*.index")) / 1e6


async def build(url: str, folder: Path) -> None:
    """A start without a snapshot: build the index and save one."""
    await db.init_db(url)
    try:
        started = time.perf_counter()
        await matching.IndexCache(snapshots=matching.Snapshots(folder)).index()
        built = time.perf_counter() - started
    finally:
        await db.close_db()
    print(
        f"start without a snapshot: {built:5.1f} s (built, and saved {snapshot_mb(folder):.0f} MB)"
    )


async def load(url: str, folder: Path, requests: int) -> None:
    """A start with the snapshot (a process of its own, so its memory is its own)."""
    await db.init_db(url)
    try:
        cache = matching.IndexCache(snapshots=matching.Snapshots(folder))
        started = time.perf_counter()
        index = await cache.index()
        loaded = time.perf_counter() - started
        assert cache.loads == 1, "the snapshot was not used"
    finally:
        await db.close_db()
    rng = random.Random(7)
    cities = [c.key for c in index.cities]
    slugs = list(index.taxonomy)
    times: list[float] = []
    for n in range(requests + 20):
        query = MatchQuery(
            city_key=rng.choice(cities),
            challenges=tuple(rng.sample(slugs, rng.randint(1, 2))),
            text=rng.choice(TEXTS),
            limit=10,
        )
        started = time.perf_counter()
        index.rank(query)
        if n >= 20:  # after a warm-up
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    practices = sum(len(c.practices) for c in index.cities)
    print(f"start with the snapshot:  {loaded:5.1f} s")
    print(f"catalogue: {len(cities):,} cities, {practices:,} published practices")
    print(
        f"rank: p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
        f"max {times[-1]:.1f} ms ({len(times)} requests)"
    )
    print(f"resident memory after loading and ranking: {resident_mb():.0f} MB")
    print(
        f"targets: ready under {TARGET_READY_S:.0f} s -> "
        f"{'met' if loaded < TARGET_READY_S else 'NOT met'}; "
        f"p95 under {TARGET_P95_MS:.0f} ms -> {'met' if p95 < TARGET_P95_MS else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", required=True, help="sqlite://... or postgres://...")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--load-from", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_from:
        asyncio.run(load(args.database, args.load_from, args.requests))
        return
    with tempfile.TemporaryDirectory(prefix="exchange-index-") as folder:
        asyncio.run(build(args.database, Path(folder)))
        command = [sys.executable, __file__, "--database", args.database]
        command += ["--requests", str(args.requests), "--load-from", folder]
        subprocess.run(command, check=True)  # noqa: S603 - this script


if __name__ == "__main__":
    main()
