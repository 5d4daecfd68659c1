"""`exchange slots`: the flags, the JSON contract, the table and one-line errors.

The command needs no database: these tests point EXCHANGE_DATABASE_URL at a file that
does not exist and check it is never created.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from exchange.cli import main

ROOT = Path(__file__).resolve().parent.parent

NY_KYIV = (
    "--zone",
    "America/New_York",
    "--zone",
    "Europe/Kyiv",
    "--from",
    "2027-03-15",
    "--to",
    "2027-03-19",
    "--duration",
    "60",
)


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A settings environment of our own; returns the database file that must not appear."""
    database = tmp_path / "never.sqlite3"
    monkeypatch.setenv("EXCHANGE_DATABASE_URL", f"sqlite://{database}")
    monkeypatch.setenv("EXCHANGE_VAR_DIR", str(tmp_path / "var"))
    return database


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["slots", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_lists_the_best_slots_first(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, *NY_KYIV, "--limit", "3", "--json")
    assert (status, err) == (0, "")
    slots = json.loads(out)
    # In the week after North America's change (14 March) and before Europe's (28 March),
    # New York 09:00 is 13:00 UTC and Kyiv's day (EET, UTC+2) runs to 16:00 UTC.
    assert slots == [
        {
            "start": "2027-03-15T13:00:00Z",
            "end": "2027-03-15T14:00:00Z",
            "inside": 2,
            "local": {"America/New_York": "2027-03-15T09:00", "Europe/Kyiv": "2027-03-15T15:00"},
        },
        {
            "start": "2027-03-15T13:15:00Z",
            "end": "2027-03-15T14:15:00Z",
            "inside": 2,
            "local": {"America/New_York": "2027-03-15T09:15", "Europe/Kyiv": "2027-03-15T15:15"},
        },
        {
            "start": "2027-03-15T13:30:00Z",
            "end": "2027-03-15T14:30:00Z",
            "inside": 2,
            "local": {"America/New_York": "2027-03-15T09:30", "Europe/Kyiv": "2027-03-15T15:30"},
        },
    ]
    assert not environment.exists()


def test_json_default_limit_and_shapes(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, *NY_KYIV, "--json")
    assert status == 0
    slots = json.loads(out)
    assert len(slots) == 10
    for slot in slots:
        assert set(slot) == {"start", "end", "inside", "local"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", slot["start"])
        assert isinstance(slot["inside"], int)
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", v) for v in slot["local"].values())


def test_hours_apply_to_everyone_and_a_zone_appears_once(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(
        capsys,
        "--zone",
        "Asia/Tokyo",
        "--zone",
        "Asia/Tokyo",
        "--zone",
        "Europe/London",
        "--from",
        "2027-01-11",
        "--to",
        "2027-01-11",
        "--duration",
        "30",
        "--hours",
        "08:00-20:00",
        "--limit",
        "1",
        "--json",
    )
    assert status == 0
    [best] = json.loads(out)
    # Tokyo 08:00-20:00 is 23:00-11:00 UTC, London 08:00-20:00 is 08:00-20:00 UTC.
    assert best["start"] == "2027-01-11T08:00:00Z"
    assert best["inside"] == 3
    assert best["local"] == {"Asia/Tokyo": "2027-01-11T17:00", "Europe/London": "2027-01-11T08:00"}


def test_table_is_readable(environment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, *NY_KYIV, "--limit", "2")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("60-minute meetings starting 2027-03-15 to 2027-03-19 (UTC)")
    assert lines[1].split() == [
        "#",
        "start",
        "(UTC)",
        "inside",
        "outside",
        "America/New_York",
        "Europe/Kyiv",
    ]
    assert lines[2].split() == [
        "1",
        "2027-03-15",
        "13:00",
        "2/2",
        "0",
        "min",
        "Mon",
        "03-15",
        "09:00",
        "Mon",
        "03-15",
        "15:00",
    ]
    assert len(lines) == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--zone", "Mars/Olympus"), "unknown time zone: 'Mars/Olympus'"),
        (("--from", "2027-3-15"), "--from must be a date written YYYY-MM-DD, not '2027-3-15'"),
        (("--to", "2027-02-30"), "--to must be a date written YYYY-MM-DD, not '2027-02-30'"),
        (("--to", "2027-W11-1"), "--to must be a date written YYYY-MM-DD"),
        (("--hours", "9-5"), "--hours: working hours must look like 09:00-18:00, not '9-5'"),
        (("--hours", "18:00-09:00"), "--hours: working hours must end after they start"),
        (("--duration", "an hour"), "--duration must be a whole number, not 'an hour'"),
        (("--duration", "0"), "the duration must be positive"),
        (("--limit", "0"), "the limit must be at least 1"),
        (("--to", "2027-03-01"), "the first day (2027-03-15) is after the last day (2027-03-01)"),
        (("--to", "2028-03-15"), "at most 92 are searched"),
    ],
)
def test_bad_values_are_one_error_line(
    change: tuple[str, str],
    message: str,
    environment: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = list(NY_KYIV)
    flag, value = change
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    status, out, err = run(capsys, *args)
    assert status == 1
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("exchange: error: ")
    assert message in lines[0]


def test_missing_zone_is_a_usage_error(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["slots", "--from", "2027-03-15", "--to", "2027-03-19", "--duration", "60"])
    assert exited.value.code == 2
    assert "--zone" in capsys.readouterr().err


def test_installed_command_prints_json(tmp_path: Path) -> None:
    """The console script as a user runs it, in a folder with no database at all."""
    command = Path(sys.executable).with_name("exchange")
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": f"sqlite://{tmp_path}/never.sqlite3",
        "EXCHANGE_VAR_DIR": str(tmp_path / "var"),
    }
    result = subprocess.run(
        [str(command), "slots", *NY_KYIV, "--limit", "1", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == [
        {
            "start": "2027-03-15T13:00:00Z",
            "end": "2027-03-15T14:00:00Z",
            "inside": 2,
            "local": {"America/New_York": "2027-03-15T09:00", "Europe/Kyiv": "2027-03-15T15:00"},
        }
    ]
    assert not (tmp_path / "never.sqlite3").exists()


def test_help_names_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["slots", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--zone", "--from", "--to", "--duration", "--hours", "--limit", "--json"):
        assert flag in out
