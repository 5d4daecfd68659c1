"""Mail survives a dead sender: real sender processes killed with SIGKILL, stopped with
SIGTERM, and a slow mail server, on the suite's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from exchange.models.mail import MailStatus, OutboxMessage
from exchange.services import outbox
from exchange.settings import Settings

from support import MailBox, SMTPServer

ROOT = Path(__file__).resolve().parent.parent
LEASE_SECONDS = 2


class HangingBox(MailBox):
    """A mail server that stalls on its first transaction, at RCPT (before the message
    is sent) or after DATA (the message received, the answer not given), until released."""

    def __init__(self, hang_at: str = "", delay: float = 0.0) -> None:
        super().__init__()
        self.hang_at = hang_at
        self.delay = delay
        self.reached = threading.Event()
        self.released = threading.Event()
        self.transactions = 0

    async def _stall(self) -> None:
        self.reached.set()
        await asyncio.to_thread(self.released.wait, 60)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.transactions += 1
        envelope.rcpt_tos.append(address)
        if self.hang_at == "rcpt" and self.transactions == 1:
            await self._stall()
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.hang_at == "data" and len(self.messages) == 1:
            await self._stall()
        elif self.delay:
            self.reached.set()
            await asyncio.sleep(self.delay)
        return answer

    def message_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)


def server_with(box: HangingBox) -> SMTPServer:
    server = SMTPServer()
    server.box = box
    server.start()
    return server


def start_worker(
    database_url: str, smtp: SMTPServer, tmp_path: Path, name: str, *extra: str, **env: str
) -> subprocess.Popen[str]:
    environment = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": database_url,
        "EXCHANGE_VAR_DIR": str(tmp_path / "var"),
        "EXCHANGE_SMTP_HOST": "127.0.0.1",
        "EXCHANGE_SMTP_PORT": str(smtp.port),
        "EXCHANGE_MAIL_LEASE_SECONDS": str(LEASE_SECONDS),
        **env,
    }
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "exchange", "worker", "--interval", "0.2", *extra],
        env=environment,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def wait_until(
    predicate: Callable[[], bool | Awaitable[bool]], seconds: float, what: str
) -> None:
    deadline = time.monotonic() + seconds
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def all_sent() -> bool:
    return not await OutboxMessage.exclude(status=MailStatus.SENT).exists()


async def queue_many(settings: Settings, count: int) -> list[OutboxMessage]:
    return [
        await outbox.queue_email(
            settings,
            to=f"person{i}@example.org",
            locale="en",
            subject="You are invited to Exchange",
            template="invitation",
            context={
                "name": "P",
                "inviter": "S",
                "city": "",
                "link": "http://x/y",
                "expires_days": 7,
            },
        )
        for i in range(count)
    ]


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("killed", ["before the server has the message", "before its answer"])
async def test_a_sender_killed_mid_send_loses_no_mail(
    clean_db: str, settings: Settings, database_url: str, tmp_path: Path, killed: str
) -> None:
    box = HangingBox(hang_at="rcpt" if killed.startswith("before the server") else "data")
    smtp = server_with(box)
    queued = await queue_many(settings, 12)
    first = start_worker(database_url, smtp, tmp_path, "first")
    second: subprocess.Popen[str] | None = None
    try:
        await wait_until(box.reached.is_set, 30, "the first sender to reach the server")
        in_flight = await OutboxMessage.get(status=MailStatus.SENDING)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        # The dead sender held one claim, the message in flight; the rest are untouched.
        statuses = Counter(await OutboxMessage.all().values_list("status", flat=True))
        assert statuses == {MailStatus.SENDING: 1, MailStatus.PENDING: 11}
        box.released.set()

        # Another sender takes the dead one's claim once its lease lapses.
        second = start_worker(database_url, smtp, tmp_path, "second")
        await wait_until(all_sent, 30, "every message to be sent")
    finally:
        box.released.set()
        stop(first)
        if second is not None:
            stop(second)
        smtp.stop()

    received = box.message_ids()
    assert set(received) == {m.message_id for m in queued}
    twice = {message_id for message_id, count in received.items() if count > 1}
    if killed.startswith("before the server"):
        assert twice == set()  # every message delivered exactly once
    else:
        # The server had the message in flight: it goes again, with the same Message-ID.
        assert twice == {in_flight.message_id} and received[in_flight.message_id] == 2
    await in_flight.refresh_from_db()
    assert in_flight.attempts == 2 and in_flight.body_text == ""


async def test_worker_on_sigterm_finishes_the_message_in_flight_and_claims_no_more(
    clean_db: str, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    box = HangingBox(delay=1.0)
    smtp = server_with(box)
    queued = await queue_many(settings, 5)
    worker = start_worker(database_url, smtp, tmp_path, "worker")
    try:
        await wait_until(box.reached.is_set, 30, "the sender to reach the server")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
    finally:
        stop(worker)
        smtp.stop()
    output = (tmp_path / "worker.log").read_text()
    assert "Stopped." in output and "Traceback" not in output
    assert list(box.message_ids()) == [queued[0].message_id]
    rows = await OutboxMessage.all().order_by("id").values_list("status", "claimed_by")
    assert rows[0][0] == MailStatus.SENT
    # Nothing else was claimed, and nothing is left `sending`.
    assert rows[1:] == [(MailStatus.PENDING, "")] * 4


async def test_a_slow_server_keeps_the_claim_renewed(clean_db: str, settings: Settings) -> None:
    box = HangingBox(delay=1.6)
    smtp = server_with(box)
    slow = replace(settings, smtp_port=smtp.port, mail_lease_seconds=1, smtp_timeout=5.0)
    [message] = await queue_many(slow, 1)
    try:
        sending = asyncio.create_task(outbox.send_due(slow, "patient"))
        await asyncio.to_thread(box.reached.wait, 10)
        await asyncio.sleep(1.2)  # past the lease the claim started with
        # Another sender finds the claim renewed: it neither reclaims nor sends it.
        assert await outbox.send_due(slow, "eager") == 0
        assert await sending == 1
    finally:
        smtp.stop()
    assert list(box.message_ids()) == [message.message_id]
    await message.refresh_from_db()
    assert message.status == MailStatus.SENT and message.attempts == 1


async def test_a_message_that_kills_every_sender_fails_after_the_last_try(
    clean_db: str, settings: Settings
) -> None:
    [message] = await queue_many(settings, 1)
    lease = timedelta(seconds=settings.mail_lease_seconds)
    now = datetime.now(UTC)
    for attempt in range(1, settings.mail_max_attempts + 1):
        claimed = await outbox.claim(f"crashed-{attempt}", now, lease)
        assert claimed is not None and claimed.attempts == attempt
        now += lease + timedelta(seconds=1)
        assert await outbox.reclaim_lapsed(settings, now) == 1
        await message.refresh_from_db()
        expected = (
            MailStatus.FAILED if attempt == settings.mail_max_attempts else MailStatus.PENDING
        )
        assert message.status == expected
        assert "may have gone out" in message.last_error
