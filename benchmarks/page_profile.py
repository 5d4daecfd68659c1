"""What one page costs: its SQL statements (each timed) and a cProfile of the request.

Runs the app in this process on a database `benchmarks/load.py` built (no server, no
network), requests PATH a few times to warm up, then REPEAT more under cProfile, and
prints each statement of the last request with its time and the functions that took
the most time overall.

    .venv/bin/python benchmarks/page_profile.py /cities [/practices/5 ...] \
        [--database sqlite:///tmp/exchange-load/load-10000-100000.sqlite3] \
        [--cookie exchange_session=...] [--repeat 20] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import time
from collections.abc import Callable
from typing import Any

import httpx

from exchange import db
from exchange.app import create_app
from exchange.settings import load_settings

DEFAULT_DATABASE = "sqlite:///tmp/exchange-load/load-10000-100000.sqlite3"
Statement = tuple[float, str]


def watch_statements(log: list[Statement]) -> None:
    """Time every statement the default connection runs, with its SQL."""
    client = db.connection()
    for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
        original: Callable[..., Any] = getattr(client, name)

        def timed(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            async def run() -> Any:
                started = time.perf_counter()
                try:
                    return await _original(*args, **kwargs)
                finally:
                    log.append((time.perf_counter() - started, str(args[0])))

            return run()

        setattr(client, name, timed)


async def profile(paths: list[str], database: str, cookie: str, repeat: int, top: int) -> None:
    settings = load_settings({"EXCHANGE_DATABASE_URL": database})
    await db.init_db(database, statement_limit_ms=0)
    log: list[Statement] = []
    watch_statements(log)
    app = create_app(settings, manage_db=False)
    headers = {"Cookie": cookie, "Accept-Language": "en"} if cookie else {"Accept-Language": "en"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1:8000", headers=headers
    ) as http:
        for path in paths:
            for _ in range(3):
                response = await http.get(path)
                assert response.status_code == 200, (path, response.status_code)
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            for _ in range(repeat):
                log.clear()
                await http.get(path)
            profiler.disable()
            each = (time.perf_counter() - started) / repeat * 1000
            print(f"\n=== {path}: {each:.1f} ms a request in-process, {len(log)} statements")
            for seconds, sql in log:
                print(f"  {seconds * 1000:7.2f} ms  {' '.join(sql.split())[:220]}")
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
            print(out.getvalue())
    await db.close_db()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--cookie", default="")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    asyncio.run(profile(args.paths, args.database, args.cookie, args.repeat, args.top))


if __name__ == "__main__":
    main()
