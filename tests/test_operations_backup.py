"""`exchange backup` and `exchange restore-check` as an operator runs them, on the suite's
database: a backup taken while the app holds the database restores and reads back."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.models.accounts import Role
from exchange.models.cities import City, Region
from exchange.models.mail import OutboxMessage

from support import make_user

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("clean_db")


async def run_cli(
    database_url: str, tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": database_url,
        "EXCHANGE_VAR_DIR": str(tmp_path / "var"),
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "exchange", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
    )


async def test_a_backup_restores_into_a_scratch_database_and_reads_back(
    database_url: str, tmp_path: Path
) -> None:
    await make_user("ada@example.org", Role.ADMIN)
    await make_user("sam@example.org", Role.STAFF)
    await City.create(key="lviv-ua", name="Lviv", country="UA", region=Region.EUROPE)
    target = tmp_path / "backups" / "exchange.backup"

    made = await run_cli(database_url, tmp_path, "backup", str(target))
    assert made.returncode == 0, made.stderr
    assert target.is_file() and f"Wrote {target}" in made.stdout

    checked = await run_cli(database_url, tmp_path, "restore-check", str(target))
    assert checked.returncode == 0, checked.stderr
    counts = dict(line.split() for line in checked.stdout.splitlines() if line.startswith("  "))
    assert counts["user"] == "2" and counts["city"] == "1"
    assert counts["outbox_message"] == str(await OutboxMessage.all().count())
    assert f"the last {latest_migration()}." in checked.stdout
    assert "The backup restores and reads back." in checked.stdout


async def test_a_damaged_backup_fails_the_check_in_one_line(
    database_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "exchange.backup"
    assert (await run_cli(database_url, tmp_path, "backup", str(target))).returncode == 0
    target.write_bytes(target.read_bytes()[: target.stat().st_size // 3])
    checked = await run_cli(database_url, tmp_path, "restore-check", str(target))
    assert checked.returncode == 1
    lines = checked.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("exchange: error:"), checked.stderr


def latest_migration() -> str:
    """The migration no other depends on (numbers follow when each was written, not order)."""
    folder = Path(__file__).resolve().parent.parent / "migrations"
    names = {path.stem for path in folder.glob("0*.py")}
    needed = {
        name
        for path in folder.glob("0*.py")
        for name in re.findall(r"['\"]exchange['\"],\s*['\"](\w+)['\"]", path.read_text())
    }
    (leaf,) = names - needed
    return leaf
