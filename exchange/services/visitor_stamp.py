"""The stamp of what library pages show a visitor: the catalogue and availability
versions, and the state of the briefs (the library search lists the public ones).

Pages kept for visitors (`web/visitor_pages.py`) are filed under this stamp. Reading it is
one statement; a worker re-reads it at most once every `REFRESH_SECONDS`, so a change made
through another worker reaches visitors within that time, and a change made through this
worker at once (its unit of work expires the stamp after every commit).

Briefs have no version of their own: their count, the sum of their published versions
and their latest edit move with every creation, publication, edit (a visibility change
included) and deletion, and reading them once a second costs one scan of a table of
briefs, which a network writes by the hundred, not the million.
"""

from __future__ import annotations

import asyncio
import time

from exchange import db

REFRESH_SECONDS = 1.0

_STAMP_SQL = (
    "SELECT (SELECT version FROM catalogue_version WHERE id = 1),"
    " (SELECT version FROM availability_version WHERE id = 1),"
    " (SELECT count(*) FROM brief), (SELECT sum(latest_version) FROM brief),"
    " (SELECT max(updated_at) FROM brief)"
)

# Catalogue version, availability version, and the briefs' count, published versions
# and latest edit.
Stamp = tuple[int, int, int, int, str]

_stamp: list[Stamp | None] = [None]
_read_at: list[float] = [0.0]
# The read in flight: under load, hundreds of requests find the stamp old in the same
# moment, and each reading it again would queue hundreds of statements.
_reading: list[asyncio.Task[Stamp] | None] = [None]


async def current() -> Stamp:
    """The state of what visitors see, at most `REFRESH_SECONDS` old."""
    stamp = _stamp[0]
    if stamp is not None and time.monotonic() - _read_at[0] < REFRESH_SECONDS:
        return stamp
    task = _reading[0]
    if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
        task = asyncio.ensure_future(_read())
        _reading[0] = task
    # Shielded: one reader going away does not cancel the read the others wait for.
    return await asyncio.shield(task)


async def _read() -> Stamp:
    started = time.monotonic()
    _, rows = await db.connection().execute_query(_STAMP_SQL)
    values = tuple(rows[0]) if rows else (None,) * 5
    catalogue, availability, briefs, published, edited = values
    stamp = (
        int(catalogue or 0),
        int(availability or 0),
        int(briefs or 0),
        int(published or 0),
        str(edited),
    )
    if _reading[0] is asyncio.current_task():  # not expired meanwhile
        _stamp[0], _read_at[0] = stamp, started
    return stamp


def expire() -> None:
    """Read the stamp again on next use (after this worker committed a change): a read
    already in flight may predate the change, so it is not waited for."""
    _stamp[0] = None
    _reading[0] = None
