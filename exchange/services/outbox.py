"""The mail outbox: queue email inside a transaction, deliver it later, lose none.

Senders (the app's background task and `exchange worker`) may run side by side. A sender
claims one message at a time, the one it is about to send: on PostgreSQL with `FOR UPDATE
SKIP LOCKED`; on SQLite, which has no row locks, with a conditional UPDATE whose row
count says who won. A claim is a lease (`mail_lease_seconds`, a minute by default) that
the sender renews while the mail server takes its time. A sender that dies holds exactly
one claim, the message in flight; once its lease lapses, any sender puts it back in the
queue and it goes out again with the same Message-ID, so a receiving server can discard
the copy if the first try had in fact arrived. Nothing is lost; a crash sends at most its
one in-flight message twice. Every claim counts as a try, so a message that kills its
sender every time still ends as failed after `mail_max_attempts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib
from tortoise.expressions import F, Q
from tortoise.functions import Count, Min
from tortoise.queryset import QuerySet

from exchange import db, i18n, metrics
from exchange.models.accounts import User
from exchange.models.mail import MailStatus, OutboxMessage
from exchange.services import audit, errors, permissions
from exchange.services.pagination import Page, paginate
from exchange.settings import Settings
from exchange.templating import render_template

log = logging.getLogger("exchange.mail")

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=2)
# Rows claimed by a sender from before leases have no `lease_until`: theirs lapses this
# long after the claim (what such a sender itself waited for).
LEGACY_LEASE = timedelta(minutes=15)
# Due messages a SQLite sender tries to win before it gives up for this round.
CLAIM_CANDIDATES = 5
LAPSED_NOTE = (
    "The sender stopped while sending, so it may have gone out; retried with the same Message-ID."
)

Clock = Callable[[], datetime]

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


async def claim(worker: str, now: datetime, lease: timedelta) -> OutboxMessage | None:
    """Take the next due message for this sender until `now + lease`; no other sender
    gets it while the lease holds. The claim counts as a try."""
    until = now + lease
    if db.dialect() == "postgres":
        rows = await db.connection().execute_query_dict(
            "UPDATE outbox_message SET status = $1, claimed_at = $2, claimed_by = $3,"
            " lease_until = $4, attempts = attempts + 1"
            " WHERE id = (SELECT id FROM outbox_message WHERE status = $5"
            " AND next_attempt_at <= $2 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " RETURNING id",
            [MailStatus.SENDING.value, now, worker, until, MailStatus.PENDING.value],
        )
        won = [row["id"] for row in rows]
    else:
        candidates = (
            await OutboxMessage.filter(status=MailStatus.PENDING, next_attempt_at__lte=now)
            .order_by("id")
            .limit(CLAIM_CANDIDATES)
            .values_list("id", flat=True)
        )
        won = []
        for message_id in candidates:
            if await OutboxMessage.filter(
                id=message_id, status=MailStatus.PENDING, next_attempt_at__lte=now
            ).update(
                status=MailStatus.SENDING,
                claimed_at=now,
                claimed_by=worker,
                lease_until=until,
                attempts=F("attempts") + 1,
            ):
                won = [message_id]
                break
    return await OutboxMessage.get(id=won[0]) if won else None


def _claimed(message: OutboxMessage, worker: str) -> QuerySet[OutboxMessage]:
    """The message, if this sender's claim on it still holds (each claim counts a try)."""
    return OutboxMessage.filter(
        id=message.id,
        status=MailStatus.SENDING,
        claimed_by=worker,
        attempts=message.attempts,
    )


async def reclaim_lapsed(settings: Settings, now: datetime) -> int:
    """Put back in the queue the messages whose sender stopped renewing its claim.

    Such a sender died (or froze) with the message in flight: it may have gone out, so
    it is retried with the same Message-ID; after `mail_max_attempts` tries it fails.
    """
    lapsed = Q(status=MailStatus.SENDING) & (
        Q(lease_until__lt=now) | Q(lease_until__isnull=True, claimed_at__lt=now - LEGACY_LEASE)
    )
    given_up = await OutboxMessage.filter(lapsed, attempts__gte=settings.mail_max_attempts).update(
        status=MailStatus.FAILED, lease_until=None, last_error=LAPSED_NOTE
    )
    requeued = await OutboxMessage.filter(lapsed).update(
        status=MailStatus.PENDING, lease_until=None, next_attempt_at=now, last_error=LAPSED_NOTE
    )
    if given_up or requeued:
        metrics.MAIL_CLAIMS_EXPIRED.inc(given_up + requeued)
        log.warning(
            "A sender stopped while sending: %s message(s) back in the queue, %s failed",
            requeued,
            given_up,
        )
    return given_up + requeued


async def release_claims(worker: str) -> int:
    """Give this sender's claims back to the queue (on the way out)."""
    return await OutboxMessage.filter(status=MailStatus.SENDING, claimed_by=worker).update(
        status=MailStatus.PENDING, lease_until=None, next_attempt_at=datetime.now(UTC)
    )


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


async def send_due(
    settings: Settings,
    worker: str,
    now: datetime | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Deliver every message due, one claim at a time; return how many were sent.

    `now` fixes the time to act at (tests do); by default the clock runs. Once `stop` is
    set, the message in flight is finished and nothing more is claimed.
    """
    clock: Clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    lease = timedelta(seconds=settings.mail_lease_seconds)
    await reclaim_lapsed(settings, clock())
    sent = 0
    while stop is None or not stop.is_set():
        message = await claim(worker, clock(), lease)
        if message is None:
            break
        sent += await _send_one(settings, message, worker, clock, lease)
    return sent


async def _send_one(
    settings: Settings, message: OutboxMessage, worker: str, clock: Clock, lease: timedelta
) -> int:
    keeper = asyncio.create_task(_keep_claim(message, worker, clock, lease))
    try:
        error = await _try_delivering(settings, message)
    finally:
        await _stop_keeping(keeper)
    if error is not None:
        failed = error.permanent or message.attempts >= settings.mail_max_attempts
        await _claimed(message, worker).update(
            status=MailStatus.FAILED if failed else MailStatus.PENDING,
            last_error=error.message[:2000],
            next_attempt_at=clock() + backoff(message.attempts),
            lease_until=None,
        )
        metrics.MAIL_ATTEMPTS_FAILED.labels(outcome="failed" if failed else "retry").inc()
        log.warning(
            "Mail %s to %s not sent (attempt %s): %s",
            message.id,
            message.to_address,
            message.attempts,
            error.message,
        )
        return 0
    metrics.MAIL_SENT.inc()
    # The body goes once it is sent: invitation and reset links in it are credentials,
    # which the database otherwise keeps only as hashes. So do attachments that carry one.
    kept = [data for data in message.attachments or [] if not data.get("sensitive", True)]
    done = {
        "status": MailStatus.SENT,
        "sent_at": datetime.now(UTC),
        "lease_until": None,
        "last_error": "",
        "body_text": "",
        "body_html": "",
        "attachments": kept,
    }
    # If the claim lapsed while the server took its time and nobody has taken the
    # message since, it is still recorded as sent; if another sender has, it goes twice.
    recorded = await _claimed(message, worker).update(**done) or await OutboxMessage.filter(
        id=message.id, status=MailStatus.PENDING
    ).update(**done)
    if not recorded:
        log.warning("Mail %s was sent after its claim lapsed; it may go out twice", message.id)
    return 1


async def _try_delivering(settings: Settings, message: OutboxMessage) -> DeliveryError | None:
    try:
        await deliver(settings, message)
    except DeliveryError as exc:
        return exc
    except Exception as exc:
        # A bug or a malformed message, not a mail server's answer: trying again would
        # fail the same way, so a person has to look.
        log.exception("Mail %s could not be sent", message.id)
        return DeliveryError(f"{type(exc).__name__}: {exc}", permanent=True)
    return None


async def _keep_claim(message: OutboxMessage, worker: str, clock: Clock, lease: timedelta) -> None:
    """Renew the claim every third of the lease while the message is being sent."""
    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        try:
            renewed = await _claimed(message, worker).update(lease_until=clock() + lease)
        except Exception:  # a database hiccup: the next renewal may get through
            log.warning("Could not renew the claim on mail %s", message.id, exc_info=True)
            continue
        if not renewed:
            log.warning("The claim on mail %s lapsed while it was being sent", message.id)
            return


async def _stop_keeping(keeper: asyncio.Task[None]) -> None:
    keeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await keeper


async def run_sender(settings: Settings, stop: asyncio.Event, poll_seconds: float = 5.0) -> None:
    """Deliver mail until `stop` is set; wakes early when this process queues mail.

    On `stop` the message in flight is finished, then the sender gives back any claim
    it still holds and returns.
    """
    worker = sender_id()
    try:
        while not stop.is_set():
            try:
                await send_due(settings, worker, stop=stop)
            except Exception:  # keep the loop alive through a database hiccup
                log.exception("Mail sender failed; retrying")
            _wake.clear()
            waiters = [asyncio.ensure_future(_wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
    finally:
        try:
            await release_claims(worker)
        except Exception:  # the database may be what stopped us
            log.warning("Could not give back this sender's claims", exc_info=True)


@dataclass(frozen=True)
class QueueFigures:
    """How the outbox stands, for operators: counts by status, the oldest waiting."""

    pending: int
    sending: int
    failed: int
    oldest_pending_age: float


async def queue_figures(now: datetime | None = None) -> QueueFigures:
    now = now or datetime.now(UTC)
    counts = {status: 0 for status in (MailStatus.PENDING, MailStatus.SENDING, MailStatus.FAILED)}
    rows = (
        await OutboxMessage.filter(status__in=list(counts))
        .annotate(n=Count("id"))
        .group_by("status")
        .values_list("status", "n")
    )
    for status, n in rows:
        counts[MailStatus(status)] = int(n)
    oldest = (
        await OutboxMessage.filter(status=MailStatus.PENDING)
        .annotate(first=Min("created_at"))
        .values_list("first", flat=True)
    )
    first = oldest[0] if oldest else None
    age = max((now - first).total_seconds(), 0.0) if isinstance(first, datetime) else 0.0
    return QueueFigures(
        pending=counts[MailStatus.PENDING],
        sending=counts[MailStatus.SENDING],
        failed=counts[MailStatus.FAILED],
        oldest_pending_age=age,
    )


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
