"""The mail outbox: queue email inside a transaction, deliver it later, at most once.

Senders (the app's background task and `exchange worker`) may run side by side. Each
row is claimed before it is sent: on PostgreSQL with `FOR UPDATE SKIP LOCKED`; on
SQLite, which has no row locks, with a conditional UPDATE whose row count says who won.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib

from exchange import db, i18n
from exchange.models.accounts import User
from exchange.models.mail import MailStatus, OutboxMessage
from exchange.services import audit, errors, permissions
from exchange.services.pagination import Page, paginate
from exchange.settings import Settings
from exchange.templating import render_template

log = logging.getLogger("exchange.mail")

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=2)
# A row still `sending` after this long belongs to a sender that died mid-send. It may or
# may not have gone out, so it is marked failed for a person to resend, never retried.
SENDING_LEASE = timedelta(minutes=15)

_wake = asyncio.Event()


@dataclass(frozen=True)
class Attachment:
    """A part sent beside the body, stored with the message until it is sent.

    An `alternative` part is another rendering of the message itself, as a calendar
    invitation is (`text/calendar; method=REQUEST` beside the text and HTML, which is
    where calendar programs look for it); it is also attached as a file. A `sensitive`
    part carries a credential (a signed answer link, say) and is erased once sent, like
    the body.
    """

    filename: str
    content_type: str
    content: str
    params: dict[str, str] = field(default_factory=dict)
    alternative: bool = False
    sensitive: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "content": self.content,
            "params": dict(self.params),
            "alternative": self.alternative,
            "sensitive": self.sensitive,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attachment:
        return cls(
            filename=str(data["filename"]),
            content_type=str(data["content_type"]),
            content=str(data["content"]),
            params={str(k): str(v) for k, v in dict(data.get("params", {})).items()},
            alternative=bool(data.get("alternative", False)),
            sensitive=bool(data.get("sensitive", True)),
        )


async def queue_email(
    settings: Settings,
    *,
    to: str,
    locale: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    attachments: Sequence[Attachment] = (),
) -> OutboxMessage:
    """Write an email to the outbox. Call it inside the transaction of its cause (a
    unit of work does).

    `subject` is an untranslated message id (mark it with `gettext_noop`), formatted with
    `context`; the body comes from `templates/mail/<template>.txt` and `.html`.
    """
    page = {"base_url": settings.base_url, **context}
    with i18n.use_locale(locale):
        subject_text = i18n.gettext(subject) % context if context else i18n.gettext(subject)
        body_text = render_template(f"mail/{template}.txt", page)
        body_html = render_template(f"mail/{template}.html", page)
    now = datetime.now(UTC)
    return await OutboxMessage.create(
        created_at=now,
        to_address=to,
        subject=subject_text,
        body_text=body_text,
        body_html=body_html,
        message_id=make_msgid(uuid.uuid4().hex, _mail_domain(settings)),
        status=MailStatus.PENDING,
        next_attempt_at=now,
        attachments=[attachment.to_json() for attachment in attachments],
    )


def wake_sender() -> None:
    """Tell this process's sender there is mail; call after the transaction commits."""
    _wake.set()


def _mail_domain(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "exchange.invalid"


def sender_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def claim(worker: str, now: datetime, limit: int = 20) -> list[OutboxMessage]:
    """Take up to `limit` due messages for this sender; no other sender gets them."""
    if db.dialect() == "postgres":
        rows = await db.connection().execute_query_dict(
            "UPDATE outbox_message SET status = $1, claimed_at = $2, claimed_by = $3 "
            "WHERE id IN (SELECT id FROM outbox_message WHERE status = $4 "
            "AND next_attempt_at <= $2 ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED) "
            "RETURNING id",
            [MailStatus.SENDING.value, now, worker, MailStatus.PENDING.value, limit],
        )
        ids = [row["id"] for row in rows]
    else:
        candidates = (
            await OutboxMessage.filter(status=MailStatus.PENDING, next_attempt_at__lte=now)
            .order_by("id")
            .limit(limit)
            .values_list("id", flat=True)
        )
        ids = []
        for message_id in candidates:
            won = await OutboxMessage.filter(id=message_id, status=MailStatus.PENDING).update(
                status=MailStatus.SENDING, claimed_at=now, claimed_by=worker
            )
            if won:
                ids.append(message_id)
    return list(await OutboxMessage.filter(id__in=ids).order_by("id"))


@dataclass(frozen=True)
class DeliveryError(Exception):
    message: str
    permanent: bool


async def deliver(settings: Settings, message: OutboxMessage) -> None:
    """Hand one message to the SMTP server, or to `var/mail/` in development."""
    email = build_email(settings, message)
    if not settings.smtp_host:
        if settings.is_production:
            raise DeliveryError("No SMTP server is configured (EXCHANGE_SMTP_HOST)", False)
        write_eml(settings.mail_dir, message, email)
        return
    try:
        await aiosmtplib.send(
            email,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refused.code for refused in exc.recipients]
        raise DeliveryError(str(exc), all(code >= 500 for code in codes)) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryError(f"{exc.code} {exc.message}", exc.code >= 500) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise DeliveryError(str(exc) or type(exc).__name__, False) from exc


def build_email(settings: Settings, message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    parts = [Attachment.from_json(data) for data in message.attachments or []]
    for part in parts:
        if part.alternative:
            subtype = part.content_type.split("/", 1)[1]
            email.add_alternative(part.content, subtype=subtype, params=part.params)
    for part in parts:
        maintype, subtype = part.content_type.split("/", 1)
        email.add_attachment(
            part.content.encode("utf-8"),
            maintype=maintype,
            subtype=subtype,
            filename=part.filename,
        )
    return email


def write_eml(directory: Path, message: OutboxMessage, email: EmailMessage) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{message.created_at:%Y%m%dT%H%M%S}-{message.id}.eml"
    path.write_bytes(bytes(email))
    return path


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... up to 2 hours between tries."""
    delay: timedelta = BACKOFF_BASE * (2 ** max(0, attempts - 1))
    return min(delay, BACKOFF_MAX)


async def send_due(settings: Settings, worker: str, now: datetime | None = None) -> int:
    """Deliver every message due at `now`; return how many were sent."""
    now = now or datetime.now(UTC)
    await fail_abandoned(now)
    sent = 0
    while batch := await claim(worker, now):
        for message in batch:
            sent += await _send_one(settings, message, now)
    return sent


async def _send_one(settings: Settings, message: OutboxMessage, now: datetime) -> int:
    attempts = message.attempts + 1
    try:
        await deliver(settings, message)
    except Exception as exc:
        if not isinstance(exc, DeliveryError):
            # A bug or a malformed message, not a mail server's answer: trying again
            # would fail the same way, so a person has to look.
            log.exception("Mail %s could not be sent", message.id)
            exc = DeliveryError(f"{type(exc).__name__}: {exc}", permanent=True)
        failed = exc.permanent or attempts >= settings.mail_max_attempts
        await OutboxMessage.filter(id=message.id).update(
            status=MailStatus.FAILED if failed else MailStatus.PENDING,
            attempts=attempts,
            last_error=exc.message[:2000],
            next_attempt_at=now + backoff(attempts),
            claimed_at=None,
        )
        log.warning(
            "Mail %s to %s not sent (attempt %s): %s",
            message.id,
            message.to_address,
            attempts,
            exc.message,
        )
        return 0
    # The body goes once it is sent: invitation and reset links in it are credentials,
    # which the database otherwise keeps only as hashes. So do attachments that carry one.
    kept = [data for data in message.attachments or [] if not data.get("sensitive", True)]
    await OutboxMessage.filter(id=message.id).update(
        status=MailStatus.SENT,
        attempts=attempts,
        sent_at=datetime.now(UTC),
        last_error="",
        body_text="",
        body_html="",
        attachments=kept,
    )
    return 1


async def fail_abandoned(now: datetime) -> int:
    return await OutboxMessage.filter(
        status=MailStatus.SENDING, claimed_at__lt=now - SENDING_LEASE
    ).update(
        status=MailStatus.FAILED,
        last_error="The sender stopped while sending; it may not have gone out.",
    )


async def run_sender(settings: Settings, stop: asyncio.Event, poll_seconds: float = 5.0) -> None:
    """Deliver mail until `stop` is set; wakes early when this process queues mail."""
    worker = sender_id()
    while not stop.is_set():
        try:
            await send_due(settings, worker)
        except Exception:  # keep the loop alive through a database hiccup
            log.exception("Mail sender failed; retrying")
        _wake.clear()
        waiters = [asyncio.ensure_future(_wake.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waiters, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()


async def list_messages(viewer: User, page: int, status: str = "") -> Page[OutboxMessage]:
    permissions.require(permissions.can_manage_mail(viewer))
    query = OutboxMessage.all()
    if status in MailStatus.__members__.values():
        query = query.filter(status=status)
    return await paginate(query.order_by("-created_at", "-id"), page)


async def resend(viewer: User, message_id: int, ip: str = "") -> None:
    """Put a failed message back in the queue, as a fresh set of tries."""
    permissions.require(permissions.can_manage_mail(viewer))
    updated = await OutboxMessage.filter(id=message_id, status=MailStatus.FAILED).update(
        status=MailStatus.PENDING, attempts=0, next_attempt_at=datetime.now(UTC), last_error=""
    )
    if not updated:
        raise errors.NotFound
    await audit.record(audit.Event.MAIL_RESENT, actor=viewer, ip=ip, detail={"mail": message_id})
    wake_sender()
