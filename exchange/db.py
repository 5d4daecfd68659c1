"""Database wiring: the Tortoise config, start-up and shut-down, and dialect helpers.

Everything that differs between SQLite and PostgreSQL is decided here (the drivers' side
of statement limits is in `db_guard.py` and `db_sqlite.py`, full-text search in
`services/search.py`), so the rest of the code never asks which database it runs on.

Every statement has a time limit: the process's (`init_db`), or a request's
(`statement_limit`), or background work's (`background_work`). Past it the statement is
stopped in the database and `StatementTimeout` is raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import connections
from tortoise.migrations.executor import MigrationExecutor

from exchange import db_guard
from exchange.db_guard import DatabaseClock, StatementTimeout
from exchange.models import MODEL_MODULES
from exchange.settings import DEFAULT_DATABASE_URL

__all__ = ["DatabaseClock", "StatementTimeout"]

APP_LABEL = "exchange"
MIGRATIONS_MODULE = "exchange.migrations"  # the top-level migrations/ folder, see setup.py
SQLITE_BUSY_TIMEOUT_MS = 5000
# Placeholders in one statement of `insert_rows` (SQLite allows 32,766, PostgreSQL 32,767).
INSERT_PARAMETERS = 10_000


def tortoise_config(database_url: str, statement_limit_ms: int = 0) -> dict[str, Any]:
    """The Tortoise config for a database URL, with our SQLite pragmas applied and every
    connection starting with `statement_limit_ms` (0: no limit)."""
    return {
        "connections": {"default": connection_config(database_url, statement_limit_ms)},
        "apps": apps_config(),
        "use_tz": True,
        "timezone": "UTC",
    }


def apps_config() -> dict[str, Any]:
    return {
        APP_LABEL: {
            "models": list(MODEL_MODULES),
            "default_connection": "default",
            "migrations": MIGRATIONS_MODULE,
        }
    }


def connection_config(database_url: str, statement_limit_ms: int = 0) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return sqlite_connection(database_url)
    config: dict[str, Any] = expand_db_url(database_url)
    credentials = config["credentials"]
    credentials.setdefault("minsize", 1)
    credentials.setdefault("maxsize", 10)
    # A short connect timeout makes an unreachable server a quick, clear error.
    credentials.setdefault("timeout", 5)
    credentials.update(db_guard.postgres_settings(statement_limit_ms))
    return config


def sqlite_connection(database_url: str) -> dict[str, Any]:
    """WAL lets readers run beside the writer; the busy timeout waits out short locks."""
    parts = urlsplit(database_url)
    path = (parts.netloc + parts.path) or ":memory:"
    credentials: dict[str, Any] = {
        "file_path": path,
        "journal_mode": "WAL",
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
        "foreign_keys": "ON",
        "synchronous": "NORMAL",
    }
    credentials.update(dict(parse_qsl(parts.query)))
    # Tortoise's SQLite client on a connection that enforces statement limits.
    return {"engine": "exchange.db_sqlite", "credentials": credentials}


# For tortoise's own command line (`tortoise makemigrations`), see [tool.tortoise].
TORTOISE_ORM = tortoise_config(os.environ.get("EXCHANGE_DATABASE_URL", DEFAULT_DATABASE_URL))
# Tortoise's command line writes a dotted migrations module beside its parent package
# (exchange/migrations/), not where it is imported from; from a checkout it must see the
# folder itself, as the top-level package `migrations` (`make migrations` puts the
# checkout on the path). Migrations are recorded by app label and name, so both agree.
TORTOISE_ORM["apps"][APP_LABEL]["migrations"] = "migrations"


# Each connect starts an epoch of `committed_state`.
_connects = itertools.count(1)
_epoch = [0]


async def init_db(
    database_url: str, *, statement_limit_ms: int = 0, background_limit_ms: int = 0
) -> None:
    """Connect Tortoise; shared by every task in the process (the app, the CLI, tests).

    `statement_limit_ms` limits each statement the process runs outside a narrower or
    wider scope; `background_limit_ms` is what `background_work` allows (0: no limit).
    """
    db_guard.set_defaults(statement_limit_ms, background_limit_ms)
    config = tortoise_config(database_url, statement_limit_ms)
    sqlite_path = config["connections"]["default"]["credentials"].get("file_path")
    if sqlite_path and sqlite_path != ":memory:":
        Path(sqlite_path).parent.mkdir(parents=True, exist_ok=True)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    _epoch[0] = next(_connects)
    _snapshots[0] = SharedReads(_read_snapshot)


async def committed_state() -> str | None:
    """A name for the data as committed right now, or None when it cannot be named.

    It moves whenever any row is written, by this process or another, so what is read
    after it and kept under it stays true for as long as it does not move
    (`services/committed_state.py`). PostgreSQL: the current snapshot, whose transaction
    ids move with every transaction that writes, committed or not. SQLite: see
    `GuardedConnection.committed_state`. Prefixed with the connection's epoch: a file
    opened again counts its changes from zero.
    """
    client = connection()
    if isinstance(client, TransactionalDBClient):
        # Inside a transaction, what is read may yet be rolled back.
        return None
    if dialect() == "sqlite":
        sqlite = getattr(client, "_connection", None)
        state = sqlite.committed_state() if sqlite is not None else None
    else:
        state = await _snapshots[0].read()
    return None if state is None else f"{_epoch[0]}/{state}"


async def _read_snapshot() -> str:
    _, rows = await connection().execute_query("SELECT pg_current_snapshot()::text")
    return str(rows[0][0])


class SharedReads:
    """One read at a time, each shared by every caller that asked before it began.

    A caller arriving while a read is under way waits for the next one, which begins as
    soon as that read ends: what it gets was read after it asked, so it is never older
    than the caller's request, yet under load one statement answers dozens of requests.
    """

    def __init__(self, read: Callable[[], Awaitable[str]]) -> None:
        self._read = read
        self._next: asyncio.Future[str] | None = None  # the read callers now will share
        self._reader: asyncio.Task[None] | None = None

    async def read(self) -> str:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if self._reader is None:
                # A fresh context: the caller's may hold a transaction's connection.
                self._reader = asyncio.create_task(self._run(), context=contextvars.Context())
        # Shielded: a caller going away does not cancel the read the others wait for.
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                answer, self._next = self._next, None
                try:
                    answer.set_result(await self._read())
                except Exception as exc:  # every waiter hears of it
                    answer.set_exception(exc)
        finally:
            self._reader = None


_snapshots = [SharedReads(_read_snapshot)]


async def close_db() -> None:
    await Tortoise.close_connections()


def connection() -> BaseDBAsyncClient:
    client: BaseDBAsyncClient = connections.get("default")
    return client


def dialect() -> str:
    """'sqlite' or 'postgres'."""
    return "sqlite" if connection().capabilities.dialect == "sqlite" else "postgres"


async def insert_rows(
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returning: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Many rows in few multi-row INSERT statements, on the current connection (the
    caller's transaction). A statement-level trigger, such as PostgreSQL's search vectors
    (migration 0013), then runs once per statement instead of once per row. Values go in
    as the driver takes them: JSON already encoded, enums as their values. Gives the
    `returning` columns of the new rows (their ids, say), in no particular order."""
    conn = connection()
    added: list[dict[str, Any]] = []
    tail = f" RETURNING {', '.join(returning)}" if returning else ""
    sqlite = dialect() == "sqlite"
    per_statement = max(1, INSERT_PARAMETERS // len(columns))
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        count = itertools.count(1)
        groups = (
            "(" + ", ".join("?" if sqlite else f"${next(count)}" for _ in columns) + ")"
            for _ in chunk
        )
        names = ", ".join(columns)
        sql = f"INSERT INTO {table} ({names}) VALUES {', '.join(groups)}{tail}"  # noqa: S608
        values = [value for row in chunk for value in row]
        if returning:
            added.extend(await conn.execute_query_dict(sql, values))
        else:
            await conn.execute_query(sql, values)
    return added


async def refresh_statistics(tables: Sequence[str]) -> None:
    """Have PostgreSQL count the rows of `tables` again, after a write of thousands of rows.

    Its planner chooses by these counts: a library imported into empty tables would be
    searched by plans made for empty tables (a search ten times slower) until autovacuum,
    which may be late or off, gets to them. SQLite plans without such counts.
    """
    if dialect() != "postgres":
        return
    with background_work():
        await connection().execute_script(f"ANALYZE {', '.join(tables)}")


def statement_limit(limit_ms: int) -> contextlib.AbstractContextManager[None]:
    """Inside the block, each statement may run `limit_ms` milliseconds (0: no limit)."""
    return db_guard.statement_limit(limit_ms)


def background_work() -> contextlib.AbstractContextManager[None]:
    """Inside the block, statements have the background limit (a longer one)."""
    return db_guard.statement_limit(db_guard.background_limit_ms())


def clock() -> contextlib.AbstractContextManager[DatabaseClock]:
    """Add up the time the block (and the tasks it starts) waits for statements."""
    return db_guard.clock()


async def ping() -> None:
    """One round-trip to the database; raises when it cannot be reached."""
    await connection().execute_query("SELECT 1")


async def apply_migrations() -> list[str]:
    """Apply every migration not yet applied; return their names, in order.

    Expects `init_db` to have run. Each migration runs in its own transaction, so a
    failing one leaves the schema as the previous one left it.
    """
    applied: list[str] = []

    def record(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)

    await MigrationExecutor(connection(), apps_config()).migrate(progress=record)
    return applied


async def pending_migrations() -> list[str]:
    """Names of the migrations not yet applied (expects `init_db` to have run)."""
    plan = await MigrationExecutor(connection(), apps_config()).plan()
    return [step.migration.name for step in plan if not step.backward]
