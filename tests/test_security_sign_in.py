"""Sign-in throttling holds however the attempts arrive: in parallel, or from several
processes at once. Every password check (argon2 verification) is counted."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from exchange.models.accounts import UserSession
from exchange.services import secrets

from support import PASSWORD, csrf_token, make_user, wait_for


class CountingHasher(PasswordHasher):
    """argon2 as configured, counting every verification (real or the dummy one)."""

    checks = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        type(self).checks += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    CountingHasher.checks = 0
    counting = CountingHasher()
    monkeypatch.setattr(secrets, "_hasher", counting)
    return counting


async def attempt(client: httpx.AsyncClient, password: str) -> int:
    data = {"csrf_token": csrf_token(client), "email": "o@example.org", "password": password}
    return (await client.post("/login", data=data)).status_code


async def test_thirty_parallel_wrong_passwords_get_five_checks(
    client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    await make_user("o@example.org")
    await client.get("/login")
    answers = await asyncio.gather(*(attempt(client, f"wrong password {i}") for i in range(30)))
    assert hasher.checks == 5
    assert Counter(answers) == {400: 5, 429: 25}
    assert await attempt(client, PASSWORD) == 429
    assert hasher.checks == 5


async def test_a_right_password_inside_a_burst_is_not_checked(
    client: httpx.AsyncClient, hasher: CountingHasher
) -> None:
    await make_user("o@example.org")
    await client.get("/login")
    wrong = [asyncio.create_task(attempt(client, f"wrong password {i}")) for i in range(19)]
    # The right one arrives while the wrong ones are still being verified: once five
    # verifications have started, and before any of them has answered.
    await wait_for(lambda: hasher.checks >= 5, seconds=30)
    right = await attempt(client, PASSWORD)
    answers = await asyncio.gather(*wrong)
    assert hasher.checks == 5
    assert right == 429
    assert Counter(answers) == {400: 5, 429: 14}
    assert not await UserSession.exists()


WORKER = """
import asyncio, sys
from exchange import db
from exchange.services import accounts, secrets
from exchange.settings import Settings

class Counting(type(secrets._hasher)):
    checks = 0
    def verify(self, hash, password):
        type(self).checks += 1
        return super().verify(hash, password)

async def main(url):
    await db.init_db(url)
    secrets._hasher = Counting()
    settings = Settings(secret_key="k" * 40, database_url=url)
    print("ready", flush=True)
    sys.stdin.readline()

    async def one(i):
        try:
            await accounts.check_sign_in(settings, "o@example.org", f"wrong {i}", ip=f"ip{i}")
        except (accounts.SignInFailed, accounts.SignInThrottled) as exc:
            return type(exc).__name__
    answers = await asyncio.gather(*(one(i) for i in range(15)))
    await db.close_db()
    print(Counting.checks, answers.count("SignInThrottled"), flush=True)

asyncio.run(main(sys.argv[1]))
"""


async def test_several_processes_share_one_budget(clean_db: str) -> None:
    """Two processes, 15 parallel attempts each, from 30 addresses: five checks in all."""
    await make_user("o@example.org")
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            clean_db,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert (await asyncio.wait_for(worker.stdout.readline(), 60)).strip() == b"ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    results: list[Any] = []
    for worker in workers:
        out, _ = await asyncio.wait_for(worker.communicate(), 120)
        assert worker.returncode == 0
        checks, throttled = out.decode().split()
        results.append((int(checks), int(throttled)))
    assert sum(checks for checks, _ in results) == 5
    assert sum(throttled for _, throttled in results) == 25
