"""Mail through an outage and a crash: is every message delivered, and how often twice?

The scenario of the report that led to sender leases: on PostgreSQL, 2 web workers and 2
`exchange worker` processes deliver MESSAGES invitations; the SMTP server stops for 10 s
early on, and one `exchange worker` is killed with SIGKILL while it holds a claim. Run
against a migrated database it may empty (the outbox is truncated first):

    .venv/bin/python benchmarks/mail_crash.py --database-url postgres://.../scratch \
        [--messages 150] [--runs 5]

Prints, per run: messages delivered (distinct Message-IDs), copies received twice,
failed, lost, and the time until the outbox was empty.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from exchange import db
from exchange.models.mail import MailStatus, OutboxMessage
from exchange.services import outbox
from exchange.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


class Box:
    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        for line in content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                self.ids[line.split(b":", 1)[1].strip().decode()] += 1
        await asyncio.sleep(0.05)  # a real server takes a moment
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 (our own command line)
        [sys.executable, "-m", "exchange", *command],
        env=env,
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def one_run(database_url: str, messages: int, workdir: Path) -> str:
    box = Box()
    smtp_port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    settings = Settings(database_url=database_url, secret_key="k" * 40)
    await db.connection().execute_script("TRUNCATE outbox_message RESTART IDENTITY")
    for n in range(messages):
        await outbox.queue_email(
            settings,
            to=f"person{n}@example.org",
            locale="en",
            subject="You are invited to Exchange",
            template="invitation",
            context={"name": "P", "inviter": "S", "city": "", "link": "x", "expires_days": 7},
        )
    queued = set(await OutboxMessage.all().values_list("message_id", flat=True))
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": database_url,
        "EXCHANGE_VAR_DIR": str(workdir / "var"),
        "EXCHANGE_SMTP_HOST": "127.0.0.1",
        "EXCHANGE_SMTP_PORT": str(smtp_port),
    }
    log = workdir / "processes.log"
    started = time.monotonic()
    web = start(["serve", "--port", str(free_port()), "--workers", "2"], env, log)
    senders = [start(["worker", "--interval", "1"], env, log) for _ in range(2)]
    killed = False
    outage_over = False
    try:
        await asyncio.sleep(1.0)
        controller.stop()  # the SMTP server goes away for 10 s
        outage_end = time.monotonic() + 10
        while await OutboxMessage.filter(status__in=["pending", "sending"]).exists():
            if not outage_over and time.monotonic() > outage_end:
                controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
                controller.start()
                outage_over = True
            if outage_over and not killed:
                victim = senders[0]
                holds = await OutboxMessage.filter(
                    status=MailStatus.SENDING, claimed_by__contains=f":{victim.pid}:"
                ).exists()
                if holds:
                    victim.send_signal(signal.SIGKILL)
                    killed = True
            if time.monotonic() - started > 600:
                break
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
    finally:
        for process in [web, *senders]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [web, *senders]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        controller.stop()
    failed = await OutboxMessage.filter(status=MailStatus.FAILED).count()
    delivered = set(box.ids) & queued
    twice = sum(1 for count in box.ids.values() if count > 1)
    return (
        f"delivered {len(delivered)}/{len(queued)}, received twice {twice}, failed {failed},"
        f" lost {len(queued - delivered) - failed}, sender killed: {killed},"
        f" outbox empty after {took:.0f} s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--messages", type=int, default=150)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    await db.init_db(args.database_url)
    try:
        with tempfile.TemporaryDirectory(prefix="exchange-mail-crash-") as workdir:
            for run in range(1, args.runs + 1):
                print(
                    f"run {run}: {await one_run(args.database_url, args.messages, Path(workdir))}"
                )
    finally:
        await db.close_db()


if __name__ == "__main__":
    asyncio.run(main())
