"""`exchange import FILE` and `exchange export [FILE]`: the catalogue on the command line."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PHASES = {"check": "Checking", "write": "Importing"}


def add_parsers(commands: Any) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Register both subcommands; the caller sets their handlers."""
    importer = commands.add_parser(
        "import", help="import a catalogue file (JSON): checked first, then all or nothing"
    )
    importer.add_argument("file", help="the catalogue file to import")
    exporter = commands.add_parser(
        "export", help="write every city and practice as a catalogue (JSON)"
    )
    exporter.add_argument("file", nargs="?", default="", help="the file to write (stdout if none)")
    return importer, exporter


def readable_file(name: str) -> Path:
    """The path of an existing file, or ValueError with a one-line reason."""
    path = Path(name)
    if not path.is_file():
        raise ValueError(f"no such file: {name}")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise ValueError(f"cannot read {name}: {exc.strerror}") from None
    return path


@contextlib.contextmanager
def progress_bar(total: int) -> Iterator[Callable[[str, int], None]]:
    """A progress bar on the terminal (stderr), one line per phase; silent when piped."""
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(PHASES.get(phase, phase), total=total)
            progress.update(tasks[phase], completed=min(done, total))

        yield update


def print_problems(problems: list[str]) -> None:
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
