"""Background chores that repeat until the process stops (expiry, reminders, cleaning)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


async def repeat(
    job: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    interval: float,
    log: logging.Logger,
    what: str,
) -> None:
    """Run `job` every `interval` seconds until `stop` is set.

    A failure is logged and the loop goes on: a database hiccup must not end a chore for
    the life of the process. Every chore is safe with several runners, so nothing here
    coordinates between processes.
    """
    while not stop.is_set():
        try:
            await job()
        except Exception:
            log.exception("%s failed; retrying", what)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
