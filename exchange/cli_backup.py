"""`exchange backup FILE` and `exchange restore-check FILE`: backups, and proof they restore.

- SQLite: SQLite's online backup API, a consistent copy while the app keeps writing.
- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot; the app keeps running).

`restore-check` restores a backup into a scratch database (a temporary file, or a new
PostgreSQL database it drops afterwards), checks it (integrity on SQLite, every table
readable, which migrations it holds) and prints each table's rows. A backup that does
not pass is an error. docs/operations.md shows both in a nightly job.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise

from exchange import db


class BackupError(Exception):
    """A backup or a restore failed; the message is one line for the operator."""


def add_parsers(commands: Any) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Register both subcommands; the caller sets their handlers."""
    backup = commands.add_parser(
        "backup", help="write an online backup of the database (SQLite backup or pg_dump)"
    )
    backup.add_argument("file", help="the backup file to write (replaced only once complete)")
    check = commands.add_parser(
        "restore-check", help="restore a backup into a scratch database and check it"
    )
    check.add_argument("file", help="a file written by `exchange backup`")
    return backup, check


# ------------------------------------------------------------------ backup


def backup(database_url: str, target: Path) -> str:
    """Write the backup to `target` (through a temporary file beside it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(handle)
    started = time.monotonic()
    try:
        if database_url.startswith("sqlite"):
            _sqlite_backup(sqlite_path(database_url), Path(partial))
        else:
            _run(["pg_dump", "--format=custom", f"--file={partial}", _libpq_url(database_url)])
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    size = target.stat().st_size
    return f"Wrote {target} ({size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s."


def _sqlite_backup(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no SQLite database at {source}")
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)
    copy.close()
    live.close()


def sqlite_path(database_url: str) -> Path:
    return Path(db.sqlite_connection(database_url)["credentials"]["file_path"])


# ------------------------------------------------------------------ restore check


@dataclass(frozen=True)
class RestoreReport:
    tables: dict[str, int]
    applied: list[str]
    pending: list[str]

    def lines(self) -> list[str]:
        width = max(len(name) for name in self.tables) if self.tables else 0
        lines = [f"  {name:<{width}}  {count:>10,}" for name, count in self.tables.items()]
        lines.append(f"Migrations in the backup: {len(self.applied)}, the last {self.applied[-1]}.")
        if self.pending:
            lines.append(
                "Older than this version: `exchange migrate` would apply "
                + ", ".join(self.pending)
                + "."
            )
        lines.append("The backup restores and reads back.")
        return lines


def restore_check(database_url: str, source: Path) -> RestoreReport:
    if not source.is_file():
        raise BackupError(f"no such file: {source}")
    return asyncio.run(_restore_check(database_url, source))


async def _restore_check(database_url: str, source: Path) -> RestoreReport:
    if database_url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="exchange-restore-") as scratch:
            copy = Path(scratch) / "restored.sqlite3"
            shutil.copyfile(source, copy)
            _sqlite_integrity(copy)
            return await _read_back(f"sqlite://{copy}")
    scratch_db = f"exchange_restore_check_{os.getpid()}_{int(time.time())}"
    admin = await asyncpg.connect(_libpq_url(database_url))
    try:
        await admin.execute(f'CREATE DATABASE "{scratch_db}"')
        scratch_url = _with_database(database_url, scratch_db)
        try:
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    f"--dbname={_libpq_url(scratch_url)}",
                    str(source),
                ]
            )
            return await _read_back(scratch_url)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{scratch_db}" WITH (FORCE)')
    finally:
        await admin.close()


def _sqlite_integrity(path: Path) -> None:
    try:
        with sqlite3.connect(path) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()
        conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"not a usable SQLite backup: {exc}") from None
    if not result or result[0] != "ok":
        raise BackupError(f"the SQLite backup is damaged: {result[0] if result else '?'}")


async def _read_back(database_url: str) -> RestoreReport:
    """Every model's table counted, and the migrations the copy holds."""
    await db.init_db(database_url)
    try:
        pending = await db.pending_migrations()
        applied = [
            str(row["name"])
            for row in await db.connection().execute_query_dict(
                "SELECT name FROM tortoise_migrations ORDER BY id"
            )
        ]
        if not applied:
            raise BackupError("the backup holds no migrated Exchange database")
        tables: dict[str, int] = {}
        for model in Tortoise.apps[db.APP_LABEL].values():
            table = model._meta.db_table
            try:
                tables[table] = await model.all().count()
            except Exception as exc:
                if pending:  # an older backup may lack the newest tables
                    continue
                raise BackupError(f"cannot read {table} in the restored copy: {exc}") from None
        return RestoreReport(dict(sorted(tables.items())), applied, pending)
    finally:
        await db.close_db()


# ------------------------------------------------------------------ helpers


def _libpq_url(database_url: str) -> str:
    """The URL as libpq tools take it (postgresql://), from ours (postgres://, asyncpg://)."""
    parts = urlsplit(database_url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


def _with_database(database_url: str, name: str) -> str:
    parts = urlsplit(database_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _run(command: Sequence[str]) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (it comes with PostgreSQL)") from None
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{command[0]} failed: {message[-1] if message else result.returncode}")
