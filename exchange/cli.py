"""The `exchange` command: serve, migrate, demo, create-user, worker.

A user mistake (a bad flag, a bad URL, an unreachable database) prints one line to
stderr and exits non-zero; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn
from urllib.parse import urlsplit

from exchange import db, logs, metrics
from exchange.settings import Settings, SettingsError, load_settings


class CommandError(Exception):
    """A problem to report in one line; the command exits with status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        logs.configure(settings.log_format)
        handler: Callable[[argparse.Namespace, Settings], int] = args.handler
        return handler(args, settings)
    except (CommandError, SettingsError) as exc:
        print(f"exchange: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exchange", description="Exchange: city-to-city exchange and peer mentoring."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the web app with uvicorn")
    add_server_flags(serve)
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(handler=cmd_migrate)

    demo = commands.add_parser(
        "demo", help="migrate, load demo data and demo users, and serve (development only)"
    )
    add_server_flags(demo)
    demo.add_argument("--no-serve", action="store_true", help="load the demo data and stop")
    demo.set_defaults(handler=cmd_demo)

    create_user = commands.add_parser("create-user", help="create a user account")
    create_user.add_argument("--email", required=True)
    create_user.add_argument("--name", required=True)
    create_user.add_argument("--role", required=True, choices=["official", "staff", "admin"])
    create_user.add_argument("--city", default="", help="city key (required for officials)")
    create_user.add_argument("--timezone", default="UTC", help="IANA time zone")
    create_user.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of prompting",
    )
    create_user.set_defaults(handler=cmd_create_user)

    create_token = commands.add_parser(
        "create-token", help="print a new API token for a user (an administrator's tool)"
    )
    create_token.add_argument("--email", required=True, help="the user's email address")
    create_token.add_argument("--name", default="command line", help="what the token is for")
    create_token.add_argument(
        "--days", type=int, default=90, help="days until the token expires (1-365, default 90)"
    )
    create_token.set_defaults(handler=cmd_create_token)

    worker = commands.add_parser("worker", help="deliver queued email until stopped")
    worker.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    worker.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    worker.set_defaults(handler=cmd_worker)

    from exchange import cli_catalogue

    importer, exporter = cli_catalogue.add_parsers(commands)
    importer.set_defaults(handler=cmd_import)
    exporter.set_defaults(handler=cmd_export)

    from exchange import cli_backup

    backup, restore_check = cli_backup.add_parsers(commands)
    backup.set_defaults(handler=cmd_backup)
    restore_check.set_defaults(handler=cmd_restore_check)

    from exchange.cli_match import add_match_parser

    add_match_parser(commands).set_defaults(handler=cmd_match)

    from exchange.cli_slots import add_slots_parser

    add_slots_parser(commands).set_defaults(handler=cmd_slots)
    return parser


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (8000)")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (PostgreSQL only for more than 1)"
    )


async def connect(settings: Settings, statement_limit_ms: int | None = None) -> None:
    """Connect and make one round-trip, turning any failure into one clear line.

    Commands are background work: each statement may run the background limit (or
    `statement_limit_ms`; 0 for none).
    """
    background = settings.background_statement_timeout_ms
    try:
        await db.init_db(
            settings.database_url,
            statement_limit_ms=background if statement_limit_ms is None else statement_limit_ms,
            background_limit_ms=background,
        )
        await db.ping()
    except Exception as exc:
        await db.close_db()
        raise CommandError(f"cannot reach the database: {describe(exc)}") from None


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


async def migrate(settings: Settings) -> list[str]:
    # Migrations may rebuild indexes on large tables: no statement limit.
    await connect(settings, statement_limit_ms=0)
    try:
        return await db.apply_migrations()
    finally:
        await db.close_db()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    applied = asyncio.run(migrate(settings))
    print(f"Applied {len(applied)} migration(s)." if applied else "The database is up to date.")
    for name in applied:
        print(f"  {name}")
    return 0


def check_workers(args: argparse.Namespace, settings: Settings) -> None:
    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    if args.workers > 1 and settings.is_sqlite:
        raise CommandError(
            "SQLite serves one worker; set EXCHANGE_DATABASE_URL to PostgreSQL for several"
        )
    if not 0 < args.port < 65536:
        raise CommandError("--port must be between 1 and 65535")


def serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    check_workers(args, settings)
    asyncio.run(_check_ready(settings))
    warning = base_url_port_warning(settings.base_url, args.port)
    if warning:
        print(warning, file=sys.stderr)
    if args.workers > 1:
        share_metrics_between_workers()
    print(f"Serving Exchange on http://{args.host}:{args.port} (Ctrl+C to stop)")
    uvicorn.run(
        "exchange.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=settings.is_production,
        timeout_graceful_shutdown=10,
        log_level="info",
        log_config=logs.logging_config(settings.log_format),
        # Our own access log (web/traffic.py) names routes, never paths holding tokens.
        access_log=False,
    )
    return 0


def base_url_port_warning(base_url: str, port: int) -> str:
    """A warning when EXCHANGE_BASE_URL names a local host on another port than the one
    served: links in emails are built from the base URL and would lead nowhere. A base
    URL on another host is a proxy in front, and says nothing of the port behind it."""
    parts = urlsplit(base_url)
    if parts.hostname not in ("localhost", "127.0.0.1", "::1", "0.0.0.0"):  # noqa: S104
        return ""
    try:
        named = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return ""
    if named == port:
        return ""
    return (
        f"Warning: EXCHANGE_BASE_URL is {base_url} (port {named}), but Exchange serves port "
        f"{port}: links in emails use the base URL. Set EXCHANGE_BASE_URL=http://"
        f"{parts.hostname}:{port} to match."
    )


def share_metrics_between_workers() -> None:
    """Give the workers a fresh folder for their metrics, so that whichever answers
    `/metrics` reports them all (an operator's own PROMETHEUS_MULTIPROC_DIR is kept)."""
    if not metrics.multiprocess_dir():
        os.environ[metrics.MULTIPROC_ENV] = tempfile.mkdtemp(prefix="exchange-metrics-")


async def ensure_migrated() -> None:
    """Refuse to work on a database that misses migrations (run after `connect`)."""
    if await db.pending_migrations():
        raise CommandError("the database needs migrating first: run `exchange migrate`")


async def _check_ready(settings: Settings) -> None:
    await connect(settings)
    try:
        await ensure_migrated()
    finally:
        await db.close_db()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    return serve(args, settings)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    if settings.is_production:
        raise CommandError("`exchange demo` is for development; EXCHANGE_ENV is production")
    check_workers(args, settings)
    from exchange import demo

    applied = asyncio.run(migrate(settings))
    if applied:
        print(f"Applied {len(applied)} migration(s).")
    lines = asyncio.run(_with_db(settings, demo.load_demo))
    print("\n".join(lines))
    if args.no_serve:
        return 0
    return serve(args, settings)


async def _with_db(
    settings: Settings, func: Callable[[Settings], Awaitable[list[str]]]
) -> list[str]:
    await connect(settings)
    try:
        await ensure_migrated()
        return await func(settings)
    finally:
        await db.close_db()


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    second = getpass.getpass("Repeat the password: ")
    if first != second:
        raise CommandError("the two passwords do not match")
    return first


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    from exchange.services import user_admin
    from exchange.services.errors import ValidationError

    password = read_password(args.password_stdin)

    async def create(settings: Settings) -> list[str]:
        try:
            user = await user_admin.create_user(
                email=args.email,
                name=args.name,
                role=args.role,
                password=password,
                city_key=args.city,
                timezone=args.timezone,
            )
        except ValidationError as exc:
            problems = "; ".join(f"{name}: {message}" for name, message in exc.fields.items())
            raise CommandError(problems) from None
        return [f"Created {user.role.value} {user.email} (id {user.id})."]

    print("\n".join(asyncio.run(_with_db(settings, create))))
    return 0


def cmd_create_token(args: argparse.Namespace, settings: Settings) -> int:
    """The token alone on standard output, so scripts can capture it."""
    from exchange.services import tokens
    from exchange.services.errors import NotFound, ValidationError

    async def create(settings: Settings) -> list[str]:
        try:
            created = await tokens.issue_token(settings, args.email, args.name, args.days)
        except NotFound:
            raise CommandError(f"no active user with the email {args.email!r}") from None
        except ValidationError as exc:
            problems = "; ".join(f"{name}: {message}" for name, message in exc.fields.items())
            raise CommandError(problems) from None
        return [created.raw]

    print("\n".join(asyncio.run(_with_db(settings, create))))
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from exchange.services import housekeeping, outbox, peer_invitations, rsvp

    async def work(settings: Settings) -> list[str]:
        if args.once:
            expired = await peer_invitations.expire_invitations(settings)
            reminded = await rsvp.send_reminders(settings)
            sent = await outbox.send_due(settings, outbox.sender_id())
            purged = await housekeeping.purge_stale(settings)
            return [
                f"Expired {expired} peer invitation(s).",
                f"Queued {reminded} dialogue reminder(s).",
                f"Sent {sent} message(s).",
                f"Removed {purged} stale row(s).",
            ]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print("Delivering mail, reminders and expiring peer invitations (Ctrl+C to stop)")
        await asyncio.gather(
            outbox.run_sender(settings, stop, poll_seconds=args.interval),
            peer_invitations.run_expiry(settings, stop),
            rsvp.run_reminders(settings, stop),
            housekeeping.run_housekeeping(settings, stop),
        )
        return ["Stopped."]

    print("\n".join(asyncio.run(_with_db(settings, work))))
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Check the whole file, print every problem, and import only a file without any."""
    from exchange import cli_catalogue
    from exchange.services import catalogue
    from exchange.services.json_stream import stream_size

    try:
        path = cli_catalogue.readable_file(args.file)
    except ValueError as exc:
        raise CommandError(str(exc)) from None

    async def run(settings: Settings) -> list[str]:
        with path.open("rb") as source, cli_catalogue.progress_bar(stream_size(source)) as bar:
            try:
                report = await catalogue.import_catalogue(source, bar)
            except catalogue.CatalogueError as exc:
                cli_catalogue.print_problems(exc.problems)
                raise CommandError(
                    f"{args.file} has {len(exc.problems)} problem(s); nothing was imported"
                ) from None
        return [report.summary()]

    print("\n".join(asyncio.run(_with_db(settings, run))))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the catalogue to FILE (replaced only once complete) or to stdout."""
    import os
    import tempfile
    from pathlib import Path

    from exchange.services import catalogue_export

    async def run(settings: Settings) -> list[str]:
        if not args.file:
            await catalogue_export.export_catalogue(sys.stdout)
            return []
        target = Path(args.file)
        handle, partial = tempfile.mkstemp(dir=target.parent or None, suffix=".part")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                cities, practices = await catalogue_export.export_catalogue(out)
            os.replace(partial, target)
        except BaseException:
            os.unlink(partial)
            raise
        return [f"Exported {cities} cities and {practices} practices to {args.file}."]

    try:
        lines = asyncio.run(_with_db(settings, run))
    except OSError as exc:
        raise CommandError(f"cannot write {args.file}: {exc.strerror}") from None
    if lines:
        print("\n".join(lines))
    return 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """An online backup of the database in FILE: the app may keep running."""
    from pathlib import Path

    from exchange import cli_backup

    try:
        print(cli_backup.backup(settings.database_url, Path(args.file)))
    except (cli_backup.BackupError, OSError) as exc:
        raise CommandError(str(exc)) from None
    return 0


def cmd_restore_check(args: argparse.Namespace, settings: Settings) -> int:
    """Restore FILE into a scratch database, check it and say what it holds."""
    from pathlib import Path

    from exchange import cli_backup

    try:
        report = cli_backup.restore_check(settings.database_url, Path(args.file))
    except (cli_backup.BackupError, OSError) as exc:
        raise CommandError(str(exc)) from None
    except Exception as exc:  # the driver's own words: a broken dump, no permission
        raise CommandError(f"the restore failed: {describe(exc)}") from None
    print("\n".join(report.lines()))
    return 0


def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    """Rank peers for one request, or for every line of a JSON Lines batch."""
    import json

    from exchange import cli_match
    from exchange.domain.matching import MatchError
    from exchange.services import matching

    if args.batch is None:
        try:
            query = cli_match.check_single_args(args)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    elif args.batch != "-":
        try:
            open(args.batch, encoding="utf-8").close()
        except OSError as exc:
            raise CommandError(f"cannot read {args.batch}: {exc.strerror}") from None

    async def run(settings: Settings) -> int:
        await connect(settings)
        try:
            await ensure_migrated()
            index = await matching.build_index()
            if args.batch is not None:
                failed = cli_match.run_batch(
                    index, cli_match.read_lines(args.batch), sys.stdout, sys.stderr
                )
                return 1 if failed else 0
            try:
                candidates = index.rank(query)
            except MatchError as exc:
                raise CommandError(str(exc)) from None
            if args.json:
                results = [cli_match.result_json(c) for c in candidates]
                print(json.dumps({"results": results}, ensure_ascii=False, indent=2))
            else:
                names = {c.key: c.name for c in index.cities}
                print(cli_match.render_table(candidates, names))
            return 0
        finally:
            await db.close_db()

    return asyncio.run(run(settings))


def cmd_slots(args: argparse.Namespace, settings: Settings) -> int:
    """Rank meeting times across time zones; no database involved."""
    from exchange import cli_slots

    try:
        print(cli_slots.run(args))
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return 0


def entry() -> NoReturn:
    sys.exit(main())


if __name__ == "__main__":
    entry()
