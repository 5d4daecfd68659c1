"""A real `exchange serve` worker on a large catalogue: how soon it answers a match
request after it starts, how fast, and how much memory it holds.

On an existing database (`benchmarks/import_speed.py --keep DIR` leaves one), creates a
staff account and an API token, starts `exchange serve` (twice: without a matching index
snapshot, then with the one the first run saved in the var folder), files match
requests through the API and asks for their candidates. Prints, for each start, the
seconds from starting the process to the first candidates, then p50/p95 of the
candidates calls and the worker's resident memory (VmRSS) after them.

    .venv/bin/python benchmarks/worker_memory.py --database sqlite:///tmp/x/import.sqlite3
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "bench-staff@example.org"
TARGET_READY_S = 5.0
TARGET_RSS_MB = 300.0


def exchange(env: dict[str, str], *args: str, stdin: str = "") -> str:
    result = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "exchange", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "already" not in result.stderr:
        sys.exit(f"exchange {args[0]} failed:\n{result.stderr}")
    return result.stdout.strip()


def call(port: int, token: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
        return json.loads(response.read())


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_start(env: dict[str, str], token: str, label: str, requests: int) -> None:
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "exchange", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 120:
                    sys.exit("exchange serve did not start")
                time.sleep(0.1)
        serving = time.perf_counter() - started
        filed = [
            call(
                port,
                token,
                "POST",
                "/requests",
                {
                    "city": f"city-{n * 97 % 10_000:05d}",
                    "challenges": ["post-attack-recovery"],
                    "description": "Support for victims and families after an attack.",
                },
            )["id"]
            for n in range(1, 6)
        ]
        call(port, token, "GET", f"/requests/{filed[0]}/candidates")
        ready = time.perf_counter() - started
        times: list[float] = []
        for n in range(requests):
            begun = time.perf_counter()
            call(port, token, "GET", f"/requests/{filed[n % len(filed)]}/candidates")
            times.append((time.perf_counter() - begun) * 1000)
        times.sort()
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        rss = resident_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"{label}: serving {serving:4.1f} s, first candidates {ready:5.1f} s after start; "
        "candidates p50 "
        f"{statistics.median(times):.0f} ms, p95 {p95:.0f} ms ({len(times)} calls); "
        f"worker resident memory {rss:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", required=True, help="sqlite://... or postgres://...")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--var", type=Path, help="keep the var folder (and its snapshot) here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exchange-worker-") as temporary:
        var = str(args.var or temporary)
        env = {**os.environ, "EXCHANGE_DATABASE_URL": args.database, "EXCHANGE_VAR_DIR": var}
        exchange(env, "migrate")
        exchange(
            env,
            "create-user",
            "--email",
            EMAIL,
            "--name",
            "Benchmark staff",
            "--role",
            "staff",
            "--password-stdin",
            stdin="a long benchmark password 1\n",
        )
        token = exchange(env, "create-token", "--email", EMAIL, "--name", "benchmark")
        one_start(env, token, "no snapshot  ", args.requests)
        one_start(env, token, "with snapshot", args.requests)
    print(f"targets: first candidates under {TARGET_READY_S:.0f} s with a snapshot; ", end="")
    print(f"resident memory under {TARGET_RSS_MB:.0f} MB")


if __name__ == "__main__":
    main()
