"""A time limit, cancellation and a clock for every database statement, on both drivers.

Each statement runs under the limit of the code that issued it: the request's limit for
a web request (`statement_limit`, set by `web/traffic.py`), otherwise the process's own
(`set_defaults`, from `db.init_db`). A statement past its limit is stopped in the
database and raises `StatementTimeout`; a task cancelled while its statement runs (the
client went away) stops the statement too, so nothing is left running for nobody.

- PostgreSQL: every connection starts with the process's `statement_timeout` (a start-up
  parameter, which survives the pool's `RESET ALL`); a statement issued under another
  limit first sets it on its connection (`LimitedConnection`). asyncpg sends the server
  a cancel request when the awaiting task is cancelled.
- SQLite: one connection, one thread. Every operation carries its caller's limit to the
  thread, where a progress handler aborts it past its deadline or once its caller is
  cancelled (`db_sqlite.GuardedConnection`); cancelling the awaiting task alone would
  leave the statement running and the connection busy.

`db.py` is the interface; this module and `db_sqlite.py` are the drivers' side of it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from exchange import metrics

T = TypeVar("T")


class StatementTimeout(Exception):
    """A statement ran past its time limit and was stopped; its transaction rolled back."""

    def __init__(self, limit_ms: int) -> None:
        super().__init__(f"a database statement was stopped after {limit_ms} ms")
        self.limit_ms = limit_ms


@dataclass
class Defaults:
    process_ms: int = 0
    background_ms: int = 0


@dataclass
class DatabaseClock:
    """Time spent waiting for database statements, and how many ran."""

    seconds: float = 0.0
    statements: int = 0


_defaults = Defaults()
_limit: ContextVar[int | None] = ContextVar("exchange_statement_limit", default=None)
_clock: ContextVar[DatabaseClock | None] = ContextVar("exchange_database_clock", default=None)


def set_defaults(process_ms: int, background_ms: int) -> None:
    _defaults.process_ms, _defaults.background_ms = max(process_ms, 0), max(background_ms, 0)


def process_limit_ms() -> int:
    return _defaults.process_ms


def background_limit_ms() -> int:
    return _defaults.background_ms


def current_limit_ms() -> int:
    """The limit of a statement issued here, in milliseconds (0: none)."""
    value = _limit.get()
    return _defaults.process_ms if value is None else value


@contextlib.contextmanager
def statement_limit(limit_ms: int) -> Iterator[None]:
    token = _limit.set(max(limit_ms, 0))
    try:
        yield
    finally:
        _limit.reset(token)


@contextlib.contextmanager
def clock() -> Iterator[DatabaseClock]:
    """Add up the database time of the statements issued inside (and in its tasks)."""
    measured = DatabaseClock()
    token = _clock.set(measured)
    try:
        yield measured
    finally:
        _clock.reset(token)


def spent(seconds: float) -> None:
    measured = _clock.get()
    if measured is not None:
        measured.seconds += seconds
        measured.statements += 1


def timed_out(limit_ms: int) -> StatementTimeout:
    metrics.STATEMENT_TIMEOUTS.inc()
    return StatementTimeout(limit_ms)


# ------------------------------------------------------------------ PostgreSQL


class LimitedConnection(asyncpg.Connection):  # type: ignore[misc]
    """asyncpg's connection, running each statement under its caller's limit.

    The connection starts with the process's limit (`server_settings` at connect, which
    the pool's `RESET ALL` on release restores). A statement issued under another limit
    first sends `SET statement_timeout`; the value is remembered, and forgotten after a
    transaction in which it was set (a rollback undoes a SET).
    """

    # The start-up value of every connection of the pool (see `postgres_settings`).
    startup_limit_ms = 0
    _limit_ms: int | None = None
    _limit_known = False
    _limit_set_in_transaction = False
    _resetting = False

    async def _apply_limit(self) -> int:
        want = current_limit_ms()
        if self._resetting:
            return want
        if not self._limit_known:
            self._limit_ms, self._limit_known = self.startup_limit_ms, True
        if self._limit_set_in_transaction and not self.is_in_transaction():
            self._limit_ms, self._limit_set_in_transaction = None, False
        if want != self._limit_ms:
            await super().execute(f"SET statement_timeout = {int(want)}")
            self._limit_ms = want
            self._limit_set_in_transaction = bool(self.is_in_transaction())
        return want

    async def _limited(self, call: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        limit = await self._apply_limit()
        started = time.perf_counter()
        try:
            return await call(*args, **kwargs)
        except asyncpg.QueryCanceledError as exc:
            if "statement timeout" in str(exc):
                raise timed_out(limit) from exc
            raise
        finally:
            # The pool's reset on release is its housekeeping, not a statement of the caller.
            if not self._resetting:
                spent(time.perf_counter() - started)

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._limited(super().execute, *args, **kwargs)

    async def executemany(self, *args: Any, **kwargs: Any) -> Any:
        return await self._limited(super().executemany, *args, **kwargs)

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        return await self._limited(super().fetch, *args, **kwargs)

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        return await self._limited(super().fetchrow, *args, **kwargs)

    async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
        return await self._limited(super().fetchval, *args, **kwargs)

    async def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
        return await self._limited(super().fetchmany, *args, **kwargs)

    async def reset(self, **kwargs: Any) -> None:
        self._resetting = True
        try:
            await super().reset(**kwargs)
        finally:
            self._resetting = False
        # RESET ALL brought back the start-up value.
        self._limit_ms, self._limit_known = self.startup_limit_ms, True
        self._limit_set_in_transaction = False


def postgres_settings(limit_ms: int) -> dict[str, Any]:
    """Connection credentials: every connection a `LimitedConnection` starting at `limit_ms`."""
    limit_ms = max(limit_ms, 0)
    connection_class = type(
        "LimitedConnection", (LimitedConnection,), {"startup_limit_ms": limit_ms}
    )
    return {
        "connection_class": connection_class,
        "server_settings": {"statement_timeout": str(limit_ms)},
    }
