"""Pages under load at network scale, against a bare-stack ceiling measured in the same run.

Builds (or, with `--reuse`, reuses) a database holding 10,000 cities and 100,000
practices (the generator of `benchmarks/import_speed.py`, fixed seed) and a few seeded
rows the signed-in pages need: public dialogues, one published public brief, and a circle
with a member. Starts the app (`exchange serve`) and the ceiling (`benchmarks/ceiling.py`:
bare Starlette on the same uvicorn and driver, one indexed query, a small Jinja2 page) as
real server processes, then drives every URL with wrk (the Debian package; installed with
apt-get when absent), interleaving an app run and a ceiling run for each URL so both see
the same machine. Prints, per page: requests/s answered 200, the ceiling's requests/s in
the neighbouring run, the share of the ceiling, p50 and p99 latency, and anything but 200
(wrk's non-2xx count and socket errors). Ends with each server worker's resident memory.

    .venv/bin/python benchmarks/load.py [--reuse] [--seconds 8] [--connections 32]
    .venv/bin/python benchmarks/load.py --database postgres://postgres@127.0.0.1:5432/DB

SQLite runs one worker (the only supported setup); PostgreSQL two (`--workers`). The
SQLite file and the catalogue live under `--work` (default /tmp/exchange-load); a
PostgreSQL database is reused when it already holds the catalogue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from import_speed import write_catalogue  # noqa: E402

STAFF = "load-staff@bench.example"
OFFICIAL = "load-official@bench.example"
PEER = "load-peer@bench.example"
DIALOGUES = 60
THREADS = 40
CHALLENGE = "post-attack-recovery"
TARGET_SHARE = 0.60
TARGET_P99_MS = 200.0


@dataclass
class Page:
    label: str
    path: str
    cookie: str = ""  # "official": signed in as the seeded official


@dataclass
class Run:
    ok_per_s: float
    p50_ms: float
    p99_ms: float
    errors: str


# ---------------------------------------------------------------- the database


def exchange(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "exchange", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"exchange {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


def prepare(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Migrate, and import the catalogue unless the database already holds it."""
    catalogue = args.work / f"catalogue-{args.cities}-{args.practices}-{args.seed}.json"
    if not catalogue.exists():
        print(f"writing the catalogue to {catalogue} ...", flush=True)
        write_catalogue(catalogue, args.cities, args.practices, args.seed)
    exchange(env, "migrate")
    held = asyncio.run(count_cities(env["EXCHANGE_DATABASE_URL"]))
    if held >= args.cities:
        print(f"reusing the database ({held:,} cities)", flush=True)
        return
    print("importing the catalogue (a minute or so) ...", flush=True)
    started = time.perf_counter()
    exchange(env, "import", str(catalogue))
    print(f"imported in {time.perf_counter() - started:.0f} s", flush=True)


async def count_cities(url: str) -> int:
    from exchange import db
    from exchange.models.cities import City

    await db.init_db(url)
    try:
        return await City.all().count()
    finally:
        await db.close_db()


async def seed(url: str, env: dict[str, str]) -> dict[str, str]:
    """The rows signed-in pages need (made once), and a fresh session for the official."""
    from exchange import db
    from exchange.models.accounts import Role, User
    from exchange.models.briefs import Brief
    from exchange.models.circles import Circle
    from exchange.models.cities import City
    from exchange.models.dialogues import Dialogue
    from exchange.services import (
        briefs,
        circle_members,
        circle_posts,
        circles,
        dialogues,
        findings,
        rsvp,
        sessions,
    )
    from exchange.services.briefs import BriefInput
    from exchange.services.circles import CircleInput
    from exchange.services.dialogues import DialogueInput
    from exchange.services.secrets import hash_password
    from exchange.settings import load_settings

    settings = load_settings(env)
    await db.init_db(url)
    try:
        staff = await User.get_or_none(email=STAFF)
        if staff is None:
            print("seeding dialogues, a brief and a circle ...", flush=True)
            password = hash_password("a long benchmark password")
            staff = await User.create(
                email=STAFF, name="Sam Staff", role=Role.STAFF, password_hash=password
            )
            home = await City.get(key="city-00001")
            official = await User.create(
                email=OFFICIAL, name="Olena", role=Role.OFFICIAL, city=home, password_hash=password
            )
            peer = await User.create(
                email=PEER, name="Pat", role=Role.OFFICIAL, password_hash=password
            )
            first = None
            for n in range(DIALOGUES):
                made = await dialogues.check_create_dialogue(
                    settings,
                    staff,
                    DialogueInput(
                        title=f"Dialogue {n}: recovery after an attack",
                        description="How cities rebuilt trust in the first weeks.",
                        challenges=[CHALLENGE],
                        host_city=f"city-{n * 97 % 10_000:05d}",
                        start=f"2031-{1 + n % 12:02d}-{1 + n % 27:02d}T14:00:00+00:00",
                        end=f"2031-{1 + n % 12:02d}-{1 + n % 27:02d}T15:30:00+00:00",
                        visibility="public",
                    ),
                )
                first = first or made
            assert first is not None
            invited = await rsvp.check_invite_people(
                settings, staff, first.id, [official.email, peer.email]
            )
            for invitee in invited:
                await rsvp.answer_as(settings, invitee.id, "yes")
            saved = await findings.check_record_finding(
                staff,
                first.id,
                findings.FindingInput(
                    title="Vigils rebuild trust",
                    body="In the first week, the city team held vigils every evening.",
                ),
            )
            brief = await briefs.check_create_brief(
                staff,
                BriefInput(
                    title="Ten key findings on recovery",
                    summary="What cities learned after attacks.",
                    visibility="public",
                    findings=[saved.finding.id],
                    challenges=[CHALLENGE],
                ),
            )
            await briefs.check_publish(settings, staff, brief.id)
            made_circle = await circles.check_create_circle(
                settings,
                staff,
                CircleInput(
                    name="Harbour circle",
                    purpose="Mayors who lived through an attack on their city",
                    kind="listed",
                    facilitator=official.email,
                    cap=12,
                    timezone="UTC",
                ),
            )
            await circle_members.check_join(settings, official, made_circle.id, 1)
            await circle_members.check_invite(settings, official, made_circle.id, peer.email)
            await circle_members.check_join(settings, peer, made_circle.id, 1)
            for n in range(THREADS):
                await circle_posts.check_start_thread(
                    settings,
                    peer if n % 2 else official,
                    made_circle.id,
                    f"Week {n}",
                    "How was this week for you?",
                )
        official = await User.get(email=OFFICIAL)
        dialogue = await Dialogue.filter(title__startswith="Dialogue 0:").first()
        brief_row = await Brief.all().order_by("id").first()
        circle = await Circle.get(name="Harbour circle")
        assert dialogue and brief_row
        return {
            "session": await sessions.start_session(official, user_agent="wrk"),
            "dialogue": str(dialogue.id),
            "brief": str(brief_row.id),
            "circle": str(circle.id),
        }
    finally:
        await db.close_db()


# ---------------------------------------------------------------- servers and wrk


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own servers
        command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{' '.join(command)} stopped; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    sys.exit(f"{' '.join(command)} did not answer in 120 s; see {log}")


def wait_for_match_index(port: int, limit_s: float = 600) -> float:
    """Seconds until the app's worker has its matching index (built, or loaded from a
    snapshot; read from /metrics). Preparing it takes the worker's CPU, so pages timed
    before it is ready are timed against the build."""
    started = time.monotonic()
    ready = b"exchange_matching_index_catalogue_version{"
    while time.monotonic() - started < limit_s:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
            if ready in answer.read():
                break
        time.sleep(0.5)
    return time.monotonic() - started


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def worker_memory_mb(root_pid: int, workers: int) -> list[float]:
    """Resident memory of the processes that serve requests: the server itself with one
    worker; with several, uvicorn's worker processes (its children, past a small helper)."""
    if workers == 1:
        return [rss_mb(root_pid)]
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == root_pid:
            children.append(rss_mb(int(stat.parent.name)))
    return [size for size in children if size > 40]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is not installed; installing the Debian package ...", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "wrk"], check=True)  # noqa: S603
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk could not be installed")
    return found


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    assert match, text
    return float(match.group(1)) * UNITS[match.group(2)]


def wrk(binary: str, url: str, seconds: float, connections: int, cookie: str) -> Run:
    command = [binary, "-t2", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    command += ["--latency", "-H", "Accept-Language: en"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(  # noqa: S603
        [*command, url], capture_output=True, text=True, check=True
    ).stdout
    total = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))  # type: ignore[union-attr]
    duration = re.search(r"requests in ([\d.]+\w+)", out).group(1)  # type: ignore[union-attr]
    elapsed_s = to_ms(duration) / 1000
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non_ok = int(bad.group(1)) if bad else 0
    errors = []
    if non_ok:
        errors.append(f"{non_ok} non-2xx")
    socket = re.search(r"Socket errors: (.*)", out)
    if socket:
        errors.append(socket.group(1).strip())
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    return Run(
        ok_per_s=(total - non_ok) / elapsed_s if elapsed_s else 0.0,
        p50_ms=to_ms(p50.group(1)) if p50 else float("nan"),
        p99_ms=to_ms(p99.group(1)) if p99 else float("nan"),
        errors="; ".join(errors),
    )


def check_page(url: str, cookie: str) -> None:
    """Each URL is asked before it is measured (the first request warms it); one that
    does not answer 200 is named here, and measured all the same (the table counts
    every answer but 200)."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
    for _ in range(3):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                if response.url != url:
                    sys.exit(f"{url} was redirected to {response.url}")
        except urllib.error.HTTPError as exc:
            print(f"  note: {url} answered {exc.code} before the load", flush=True)


# ---------------------------------------------------------------- the run


def pages(seeded: dict[str, str], only: str) -> list[Page]:
    found = [
        Page("/", "/"),
        Page("/practices/5", "/practices/5"),
        Page("/cities/<key>", "/cities/city-00042"),
        Page("/cities (directory)", "/cities"),
        Page("/challenges/<slug>", f"/challenges/{CHALLENGE}"),
        Page("/library?q=recovery", "/library?q=recovery"),
        Page("/dialogues (signed in)", "/dialogues", "official"),
        Page("/dialogues/<id> (invitee)", f"/dialogues/{seeded['dialogue']}", "official"),
        Page("/briefs/<id> (public)", f"/briefs/{seeded['brief']}"),
        Page("/circles/<id> (member)", f"/circles/{seeded['circle']}", "official"),
    ]
    return [page for page in found if not only or re.search(only, page.label)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="", help="postgres://... (default: SQLite)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/exchange-load"))  # noqa: S108
    parser.add_argument("--reuse", action="store_true", help="keep and reuse the SQLite file")
    parser.add_argument("--cities", type=int, default=10_000)
    parser.add_argument("--practices", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--workers", type=int, default=0, help="default: 1 SQLite, 2 PostgreSQL")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="app/ceiling pairs per URL")
    parser.add_argument("--only", default="", help="a regular expression on the page labels")
    args = parser.parse_args()
    binary = ensure_wrk()

    args.work.mkdir(parents=True, exist_ok=True)
    if args.database:
        url, workers = args.database, args.workers or 2
    else:
        database = args.work / f"load-{args.cities}-{args.practices}.sqlite3"
        if not args.reuse:
            for stale in args.work.glob(f"{database.name}*"):
                stale.unlink()
        url, workers = f"sqlite://{database}", args.workers or 1
    app_port, ceiling_port = free_port(), free_port()
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": url,
        "EXCHANGE_VAR_DIR": str(args.work / "var"),
        "EXCHANGE_BASE_URL": f"http://127.0.0.1:{app_port}",
        "PYTHONPATH": str(ROOT),
    }
    prepare(args, env)
    seeded = asyncio.run(seed(url, env))
    cookies = {"official": f"exchange_session={seeded['session']}"}
    chosen = pages(seeded, args.only)

    app = start(
        [
            sys.executable,
            "-m",
            "exchange",
            "serve",
            "--port",
            str(app_port),
            "--workers",
            str(workers),
        ],
        env,
        app_port,
        args.work / "app.log",
    )
    ceiling = start(
        [
            *(sys.executable, "-m", "uvicorn", "benchmarks.ceiling:app"),
            *("--port", str(ceiling_port), "--workers", str(workers)),
            *("--no-access-log", "--log-level", "warning"),
        ],
        env,
        ceiling_port,
        args.work / "ceiling.log",
    )
    waited = wait_for_match_index(app_port)
    print(f"the app's matching index was ready {waited:.1f} s after it began serving", flush=True)
    results: dict[str, list[tuple[Run, Run]]] = {page.label: [] for page in chosen}
    try:
        ceiling_url = f"http://127.0.0.1:{ceiling_port}/"
        for page in chosen:
            check_page(f"http://127.0.0.1:{app_port}{page.path}", cookies.get(page.cookie, ""))
        print(
            f"{len(chosen)} pages, {args.rounds} round(s) of {args.seconds:g} s app + "
            f"{args.seconds:g} s ceiling each, {args.connections} connections, "
            f"{workers} worker(s), {'PostgreSQL' if args.database else 'SQLite'}",
            flush=True,
        )
        for round_number in range(args.rounds):
            for page in chosen:
                app_url = f"http://127.0.0.1:{app_port}{page.path}"
                cookie = cookies.get(page.cookie, "")
                # Alternate which goes first, so neither always meets the same neighbour.
                if round_number % 2:
                    mine = wrk(binary, app_url, args.seconds, args.connections, cookie)
                    ceil = wrk(binary, ceiling_url, args.seconds, args.connections, "")
                else:
                    ceil = wrk(binary, ceiling_url, args.seconds, args.connections, "")
                    mine = wrk(binary, app_url, args.seconds, args.connections, cookie)
                results[page.label].append((mine, ceil))
                print(
                    f"  {page.label}: {mine.ok_per_s:.0f}/s vs ceiling {ceil.ok_per_s:.0f}/s,"
                    f" p50 {mine.p50_ms:.0f} ms, p99 {mine.p99_ms:.0f} ms {mine.errors}",
                    flush=True,
                )
        memory = worker_memory_mb(app.pid, workers)
    finally:
        stop(app)
        stop(ceiling)
    report(results, memory, args, workers)


def report(
    results: dict[str, list[tuple[Run, Run]]],
    memory: list[float],
    args: argparse.Namespace,
    workers: int,
) -> None:
    backend = "PostgreSQL" if args.database else "SQLite"
    print()
    print(
        f"{backend}, {workers} worker(s), {args.cities:,} cities / {args.practices:,} practices,"
        f" {args.connections} connections, wrk {args.seconds:g} s per URL, {args.rounds} round(s)"
    )
    print()
    print("| page | requests/s | ceiling requests/s | share of the ceiling | p50 | p99 | not 200 |")
    print("|---|---|---|---|---|---|---|")
    for label, runs in results.items():
        ok = statistics.median(mine.ok_per_s for mine, _ in runs)
        ceiling = statistics.median(ceil.ok_per_s for _, ceil in runs)
        share = statistics.median(
            mine.ok_per_s / ceil.ok_per_s if ceil.ok_per_s else 0.0 for mine, ceil in runs
        )
        p50 = statistics.median(mine.p50_ms for mine, _ in runs)
        p99 = max(mine.p99_ms for mine, _ in runs)
        errors = "; ".join(sorted({mine.errors for mine, _ in runs if mine.errors})) or "none"
        met = share >= TARGET_SHARE and p99 < TARGET_P99_MS
        print(
            f"| `{label}` | {ok:,.0f} | {ceiling:,.0f} | {share:.0%}{'' if met else ' (short)'}"
            f" | {p50:.0f} ms | {p99:.0f} ms | {errors} |"
        )
    print()
    print(
        "resident memory per worker after the run: "
        + ", ".join(f"{size:.0f} MB" for size in memory)
        + " (target: under 300 MB)"
    )
    print(json.dumps({"targets": {"share": TARGET_SHARE, "p99_ms": TARGET_P99_MS}}))


if __name__ == "__main__":
    main()
