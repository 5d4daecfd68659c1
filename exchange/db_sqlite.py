"""Tortoise's SQLite client on a connection that keeps each statement's time limit.

SQLite has one connection and one thread. Every operation carries its caller's limit
to the thread, where a progress handler aborts it past its deadline, or as soon as the
caller is cancelled (the client went away): cancelling the awaiting task alone would
leave the statement running and the connection busy for everyone else.

This module is the engine named in the SQLite connection config (`db.sqlite_connection`).
Its name must contain "sqlite": tortoise's migration executor picks the SQLite schema
editor by the client class's module name.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite
from tortoise.backends.sqlite.client import SqliteClient

from exchange.db_guard import current_limit_ms, spent, timed_out

T = TypeVar("T")

# SQLite virtual-machine steps between two looks at the clock: a fraction of a
# millisecond of work, so a stop is prompt and the check costs nothing measurable.
PROGRESS_STEPS = 10_000


class _Operation:
    """One call on the SQLite thread: its deadline, and whether its caller gave up."""

    __slots__ = ("cancelled", "deadline", "limit_ms", "timed_out")

    def __init__(self, limit_ms: int) -> None:
        self.limit_ms = limit_ms
        self.deadline = math.inf
        self.cancelled = False
        self.timed_out = False

    def begin(self) -> None:
        if self.limit_ms:
            self.deadline = time.monotonic() + self.limit_ms / 1000


class GuardedConnection(aiosqlite.Connection):
    """aiosqlite's connection, each of whose operations keeps its caller's limit.

    Every call (statement, commit, rollback, cursor step) goes through `_execute`, in the
    caller's task: there the limit is read and handed, with the call, to the thread.
    """

    _operation: _Operation | None = None

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        operation = _Operation(current_limit_ms())

        def run() -> T:
            if operation.cancelled:
                raise sqlite3.OperationalError("interrupted")
            operation.begin()
            self._operation = operation
            try:
                return fn(*args, **kwargs)
            finally:
                self._operation = None

        started = time.perf_counter()
        try:
            result: T = await super()._execute(run)  # type: ignore[no-untyped-call]
            return result
        except asyncio.CancelledError:
            operation.cancelled = True  # the progress handler stops the statement
            raise
        except sqlite3.OperationalError as exc:
            if operation.timed_out:
                raise timed_out(operation.limit_ms) from exc
            raise
        finally:
            spent(time.perf_counter() - started)

    # A second connection to the same file, used only to read `data_version` from the
    # event loop's thread: naming the committed state then costs microseconds, not a
    # hand-off to the connection's thread and back on every signed-in request.
    _watcher: sqlite3.Connection | None = None

    def watch(self, path: str) -> None:
        """Open the connection that reads the file's `data_version` (none in memory: a
        database in memory has no other connection to commit to it)."""
        if path != ":memory:" and self._watcher is None:
            # No busy timeout: the event loop must never wait on a lock.
            self._watcher = sqlite3.connect(path, isolation_level=None, timeout=0)

    def committed_state(self) -> str | None:
        """The file's `data_version`, as the watcher reads it (it moves with every
        commit by any connection, this one included), and this connection's count of
        changed rows (it moves with each of its own writes, committed or not); None
        inside a transaction, whose reads may yet be rolled back, or when the file is
        locked for a moment."""
        connection = self._conn
        if connection.in_transaction:
            return None
        version = 0
        if self._watcher is not None:
            try:
                (version,) = self._watcher.execute("PRAGMA data_version").fetchone()
            except sqlite3.OperationalError:
                return None
        return f"{version}.{connection.total_changes}"

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        await super().close()

    def _progress(self) -> int:
        """Called by SQLite on its thread every PROGRESS_STEPS steps; non-zero aborts."""
        operation = self._operation
        if operation is None:
            return 0
        if operation.cancelled:
            return 1
        if time.monotonic() > operation.deadline:
            operation.timed_out = True
            return 1
        return 0


async def connect_sqlite(path: str) -> GuardedConnection:
    """Open `path` the way tortoise does (autocommit mode), with the progress handler."""

    def connector() -> sqlite3.Connection:
        # Used from its own thread, except `committed_state`, which reads two counters
        # (SQLite serialises access to a connection; these reads take no lock).
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    connection = GuardedConnection(connector, 64)
    await connection
    await connection._execute(
        connection._conn.set_progress_handler, connection._progress, PROGRESS_STEPS
    )
    return connection


class GuardedSqliteClient(SqliteClient):
    """Tortoise's SQLite client on a `GuardedConnection` (engine `exchange.db_sqlite`)."""

    async def create_connection(self, with_db: bool) -> None:
        if self._connection:
            return
        self._connection = await connect_sqlite(self.filename)
        self._connection._conn.row_factory = sqlite3.Row
        for pragma, value in self.pragmas.items():
            cursor = await self._connection.execute(f"PRAGMA {pragma}={value}")
            await cursor.close()
        await self._post_connect()
        self._connection.watch(self.filename)


# Tortoise finds the client of an engine module under this name.
client_class = GuardedSqliteClient
