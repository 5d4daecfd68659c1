"""The stamp of what library pages show a visitor: the catalogue and availability versions.

Pages kept for visitors (`web/visitor_pages.py`) are filed under this stamp. Reading it is
one statement; a worker re-reads it at most once every `REFRESH_SECONDS`, so a change made
through another worker reaches visitors within that time, and a change made through this
worker at once (its unit of work expires the stamp after commit).
"""

from __future__ import annotations

import asyncio
import time

from exchange import db

REFRESH_SECONDS = 1.0

_STAMP_SQL = (
    "SELECT (SELECT version FROM catalogue_version WHERE id = 1),"
    " (SELECT version FROM availability_version WHERE id = 1)"
)

_stamp: list[tuple[int, int] | None] = [None]
_read_at: list[float] = [0.0]
# The read in flight: under load, hundreds of requests find the stamp old in the same
# moment, and each reading it again would queue hundreds of statements.
_reading: list[asyncio.Task[tuple[int, int]] | None] = [None]


async def current() -> tuple[int, int]:
    """(catalogue version, availability version), at most `REFRESH_SECONDS` old."""
    stamp = _stamp[0]
    if stamp is not None and time.monotonic() - _read_at[0] < REFRESH_SECONDS:
        return stamp
    task = _reading[0]
    if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
        task = asyncio.ensure_future(_read())
        _reading[0] = task
    # Shielded: one reader going away does not cancel the read the others wait for.
    return await asyncio.shield(task)


async def _read() -> tuple[int, int]:
    started = time.monotonic()
    _, rows = await db.connection().execute_query(_STAMP_SQL)
    values = tuple(rows[0]) if rows else (None, None)
    stamp = (int(values[0] or 0), int(values[1] or 0))
    if _reading[0] is asyncio.current_task():  # not expired meanwhile
        _stamp[0], _read_at[0] = stamp, started
    return stamp


def expire() -> None:
    """Read the stamp again on next use (after this worker committed a change): a read
    already in flight may predate the change, so it is not waited for."""
    _stamp[0] = None
    _reading[0] = None
