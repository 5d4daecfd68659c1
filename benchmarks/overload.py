"""Does a flood of slow searches take the site down? Measured against a running server.

Starts CLIENTS searchers that each ask `/library?q=...` over and over and give up after
ABANDON seconds (as an impatient visitor, or a proxy's timeout, does), and meanwhile
times a one-query page (`/healthz`) every PROBE seconds. With `--database-url`, samples
how many statements PostgreSQL is running. Prints the probe's latency, what the
searchers got, and the database's load.

    .venv/bin/exchange serve --workers 2 ...   # on a catalogue where a search is slow
    .venv/bin/python benchmarks/overload.py --base-url http://127.0.0.1:8000 \
        --database-url postgres://... [--clients 32] [--seconds 30] [--abandon 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import Counter

import asyncpg
import httpx

WORDS = [
    "community",
    "recovery",
    "attack",
    "memorial",
    "youth",
    "safety",
    "trust",
    "newcomers",
    "housing",
    "mayor",
]


async def searcher(
    http: httpx.AsyncClient, until: float, abandon: float, seen: Counter[str]
) -> None:
    rng = random.Random()
    while time.monotonic() < until:
        query = "+".join(rng.sample(WORDS, 2))
        try:
            response = await http.get(f"/library?q={query}", timeout=abandon)
            seen[str(response.status_code)] += 1
            if response.status_code == 503:  # a person reads the page and tries later
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        except httpx.TimeoutException:
            seen["abandoned"] += 1
        except httpx.TransportError:
            seen["refused"] += 1
            await asyncio.sleep(0.1)


async def probe(http: httpx.AsyncClient, until: float, every: float, times: list[float]) -> None:
    """Time /healthz; one that takes over 30 s counts as 30 s (the page is down)."""
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            response = await http.get("/healthz", timeout=30)
            assert response.status_code == 200, response.status_code
        except httpx.TimeoutException:
            pass
        times.append(min(time.perf_counter() - started, 30.0))
        await asyncio.sleep(every)


async def sample_database(url: str, until: float, counts: list[int]) -> None:
    conn = await asyncpg.connect(url)
    try:
        while time.monotonic() < until + 3:
            value = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                " AND pid <> pg_backend_pid() AND query ILIKE '%practice%'"
            )
            counts.append(int(value))
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--abandon", type=float, default=1.0)
    parser.add_argument("--probe", type=float, default=0.2)
    args = parser.parse_args()

    limits = httpx.Limits(max_connections=args.clients + 8)
    async with httpx.AsyncClient(base_url=args.base_url, limits=limits) as http:
        quiet: list[float] = []
        await probe(http, time.monotonic() + 3, args.probe, quiet)
        until = time.monotonic() + args.seconds
        seen: Counter[str] = Counter()
        times: list[float] = []
        active: list[int] = []
        jobs = [searcher(http, until, args.abandon, seen) for _ in range(args.clients)]
        jobs.append(probe(http, until, args.probe, times))
        if args.database_url:
            jobs.append(sample_database(args.database_url, until, active))
        await asyncio.gather(*jobs)
        after: list[int] = active[-6:]

    ms = 1000
    print(f"quiet /healthz: median {statistics.median(quiet) * ms:.1f} ms")
    print(
        f"/healthz under load ({len(times)} probes): median {statistics.median(times) * ms:.1f} ms,"
        f" p95 {percentile(times, 0.95) * ms:.1f} ms, max {max(times) * ms:.1f} ms"
    )
    print("searches: " + ", ".join(f"{k} {v}" for k, v in sorted(seen.items())))
    if active:
        print(
            f"search statements running in PostgreSQL: mean {statistics.mean(active):.1f},"
            f" max {max(active)}; in the 3 s after the flood stopped: {after}"
        )


if __name__ == "__main__":
    asyncio.run(main())
