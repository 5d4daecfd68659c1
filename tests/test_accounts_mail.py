"""Invitations, password resets and the mail outbox, against a real SMTP server."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import httpx
import pytest

from exchange.models.accounts import Invitation, PasswordReset, Role, User, UserSession
from exchange.models.audit import AuditEvent
from exchange.models.cities import City, Region
from exchange.models.mail import MailStatus, OutboxMessage
from exchange.services import outbox
from exchange.settings import Settings
from exchange.web.auth import session_cookie_name

from support import (
    PASSWORD,
    SMTPServer,
    first_link,
    html_part,
    make_user,
    post_form,
    sign_in,
    text_part,
)

SESSION = session_cookie_name(False)
NEW_PASSWORD = "my own new password"


async def manchester() -> City:
    return await City.create(
        key="manchester-gb", name="Manchester", country="GB", region=Region.EUROPE
    )


async def invite(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    data = {
        "email": "new.official@example.org",
        "name": "Nia New",
        "role": "official",
        "city": "manchester-gb",
        **fields,
    }
    return await post_form(client, "/invitations/new", data)


def path_of(link: str) -> str:
    return link.removeprefix("http://exchange.test")


async def test_invited_official_sets_a_password_and_is_signed_in(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    city = await manchester()
    await make_user("staff@example.org", Role.STAFF, name="Sam Staff")
    await sign_in(client, "staff@example.org")
    response = await invite(client)
    assert response.status_code == 303
    assert await outbox.send_due(settings, "test") == 1

    [mail] = mailbox.box.to("new.official@example.org")
    assert mail["Subject"] == "You are invited to Exchange"
    assert mail.is_multipart()
    link = first_link(text_part(mail))
    assert link.startswith("http://exchange.test/invitations/")
    assert f'href="{link}"' in html_part(mail)
    assert "Sam Staff invites you to join Exchange for Manchester." in text_part(mail)
    assert mail["Message-ID"] == (await OutboxMessage.get()).message_id

    await post_form(client, "/logout")
    form = await client.get(path_of(link))
    assert form.status_code == 200
    assert "Nia New" in form.text and 'for="field-password"' in form.text
    accepted = await post_form(
        client,
        path_of(link),
        {
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
            "timezone": "Europe/London",
        },
    )
    assert accepted.status_code == 303
    assert SESSION in client.cookies
    page = await client.get("/settings")
    assert page.status_code == 200 and "Nia New" in page.text
    user = await User.get(email="new.official@example.org")
    assert user.role == Role.OFFICIAL and user.city_id == city.id  # type: ignore[attr-defined]
    assert user.password_hash.startswith("$argon2id$")
    events = set(await AuditEvent.all().values_list("event", flat=True))
    assert {"invitation_sent", "invitation_accepted"} <= events


async def test_invitation_link_works_once(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await manchester()
    await make_user("staff@example.org", Role.STAFF)
    await sign_in(client, "staff@example.org")
    await invite(client)
    await outbox.send_due(settings, "test")
    link = path_of(first_link(text_part(mailbox.box.messages[0])))
    await post_form(client, "/logout")
    data = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD, "timezone": "UTC"}
    assert (await post_form(client, link, data)).status_code == 303
    await post_form(client, "/logout")
    assert (await client.get(link)).status_code == 404
    again = await post_form(client, link, {**data, "password": "another password 1"})
    assert again.status_code == 404
    assert await User.filter(email="new.official@example.org").count() == 1


async def test_invitation_expires_after_seven_days(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await manchester()
    await make_user("staff@example.org", Role.STAFF)
    await sign_in(client, "staff@example.org")
    await invite(client)
    await outbox.send_due(settings, "test")
    link = path_of(first_link(text_part(mailbox.box.messages[0])))
    invitation = await Invitation.get()
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    assert link.rsplit("/", 1)[1] != invitation.token_hash
    await Invitation.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await client.get(link)).status_code == 404


async def test_invitation_form_reports_every_problem(client: httpx.AsyncClient) -> None:
    await make_user("staff@example.org", Role.STAFF)
    await sign_in(client, "staff@example.org")
    response = await invite(client, email="not-an-email", name="", city="")
    assert response.status_code == 400
    assert "Enter a valid email address." in response.text
    assert "Enter a name of up to 120 characters." in response.text
    assert "Choose the city this official works for." in response.text
    assert not await Invitation.exists() and not await OutboxMessage.exists()


async def test_staff_cannot_invite_an_admin_and_officials_cannot_invite(
    client: httpx.AsyncClient,
) -> None:
    city = await manchester()
    await make_user("staff@example.org", Role.STAFF)
    await make_user("o@example.org", Role.OFFICIAL, city)
    await sign_in(client, "staff@example.org")
    response = await invite(client, role="admin", city="")
    assert response.status_code == 400
    assert "You may not invite someone with this role." in response.text
    await post_form(client, "/logout")
    await sign_in(client, "o@example.org")
    assert (await invite(client)).status_code == 403
    assert not await Invitation.exists()


async def request_reset(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await post_form(client, "/password/reset", {"email": email})


async def test_password_reset_link_works_once(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org", name="Olivia")
    async with httpx.AsyncClient(
        transport=client._transport, base_url=str(client.base_url)
    ) as other:
        await sign_in(other, "o@example.org")
        response = await request_reset(client, "O@example.org")
        assert response.status_code == 200 and "If an account exists" in response.text
        await outbox.send_due(settings, "test")
        [mail] = mailbox.box.to("o@example.org")
        assert mail["Subject"] == "Reset your Exchange password"
        link = first_link(text_part(mail))
        assert link.startswith("http://exchange.test/password/reset/")
        assert "expires in 60 minutes" in text_part(mail)
        done = await post_form(
            client, path_of(link), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
        )
        assert done.status_code == 303
        # The reset ended the other browser's session.
        assert (await other.get("/settings")).status_code == 303
    assert (await client.get(path_of(link))).status_code == 404
    reused = await post_form(
        client,
        path_of(link),
        {"password": "yet another password", "password_confirm": "yet another password"},
    )
    assert reused.status_code == 404
    assert (await sign_in(client, "o@example.org", NEW_PASSWORD)).status_code == 303


async def test_password_reset_link_expires_after_an_hour(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org")
    await request_reset(client, "o@example.org")
    await outbox.send_due(settings, "test")
    link = path_of(first_link(text_part(mailbox.box.messages[0])))
    reset = await PasswordReset.get()
    assert reset.expires_at - reset.created_at == timedelta(hours=1)
    await PasswordReset.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await client.get(link)).status_code == 404
    refused = await post_form(
        client, link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert refused.status_code == 404


async def test_reset_answer_is_the_same_for_unknown_addresses(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org")
    known = await request_reset(client, "o@example.org")
    unknown = await request_reset(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    await outbox.send_due(settings, "test")
    assert [m["To"] for m in mailbox.box.messages] == ["o@example.org"]


async def test_reset_refuses_a_short_password(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org")
    await request_reset(client, "o@example.org")
    await outbox.send_due(settings, "test")
    link = path_of(first_link(text_part(mailbox.box.messages[0])))
    response = await post_form(client, link, {"password": "short", "password_confirm": "short"})
    assert response.status_code == 400
    assert "Use at least 12 characters." in response.text
    assert (await PasswordReset.get()).used_at is None


async def test_audit_log_and_attempts_hold_no_secrets(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await manchester()
    await make_user("staff@example.org", Role.STAFF)
    await post_form(
        client, "/login", {"email": "staff@example.org", "password": "wrong password 1"}
    )
    await sign_in(client, "staff@example.org")
    await invite(client)
    await request_reset(client, "staff@example.org")
    await outbox.send_due(settings, "test")
    tokens = [first_link(text_part(m)).rsplit("/", 1)[1] for m in mailbox.box.messages]
    assert len(tokens) == 2
    audit_rows = json.dumps(
        await AuditEvent.all().values("event", "email", "ip", "detail"), default=str
    )
    for secret in [*tokens, PASSWORD, "wrong password 1"]:
        assert secret not in audit_rows
    sessions = json.dumps(await UserSession.all().values(), default=str)
    assert client.cookies[SESSION] not in sessions


async def queue(settings: Settings, to: str = "o@example.org") -> OutboxMessage:
    return await outbox.queue_email(
        settings,
        to=to,
        locale="en",
        subject="You are invited to Exchange",
        template="invitation",
        context={"name": "O", "inviter": "S", "city": "", "link": "http://x/y", "expires_days": 7},
    )


async def test_mail_waits_while_the_server_is_down_then_goes_once(
    clean_db: str, settings: Settings, mailbox: SMTPServer
) -> None:
    message = await queue(settings)
    mailbox.stop()
    now = datetime.now(UTC)
    assert await outbox.send_due(settings, "test", now) == 0
    await message.refresh_from_db()
    assert message.status == MailStatus.PENDING
    assert message.attempts == 1 and message.last_error
    assert message.next_attempt_at == now + timedelta(seconds=30)
    # Not due yet: nothing is tried even though the server is back.
    mailbox.start()
    assert await outbox.send_due(settings, "test", now + timedelta(seconds=10)) == 0
    later = now + timedelta(minutes=1)
    assert await outbox.send_due(settings, "test", later) == 1
    assert await outbox.send_due(settings, "test", later + timedelta(hours=1)) == 0
    assert len(mailbox.box.messages) == 1
    assert mailbox.box.messages[0]["Message-ID"] == message.message_id
    await message.refresh_from_db()
    assert message.status == MailStatus.SENT and message.attempts == 2


async def test_a_4xx_answer_is_retried_with_growing_delays(
    clean_db: str, settings: Settings, mailbox: SMTPServer
) -> None:
    message = await queue(settings)
    mailbox.box.reply = "451 Try again later"
    now = datetime.now(UTC)
    await outbox.send_due(settings, "test", now)
    await message.refresh_from_db()
    assert message.status == MailStatus.PENDING and "451" in message.last_error
    await outbox.send_due(settings, "test", message.next_attempt_at)
    await message.refresh_from_db()
    assert message.attempts == 2
    assert outbox.backoff(2) == timedelta(minutes=1)
    # The third failure reaches mail_max_attempts (3 in tests) and gives up.
    await outbox.send_due(settings, "test", message.next_attempt_at)
    await message.refresh_from_db()
    assert message.status == MailStatus.FAILED and message.attempts == 3
    assert mailbox.box.messages == []


async def test_a_5xx_answer_fails_at_once(
    clean_db: str, settings: Settings, mailbox: SMTPServer
) -> None:
    message = await queue(settings)
    mailbox.box.reply = "554 Transaction failed"
    await outbox.send_due(settings, "test")
    await message.refresh_from_db()
    assert message.status == MailStatus.FAILED
    assert message.attempts == 1 and "554" in message.last_error


async def test_racing_senders_deliver_each_message_once(
    clean_db: str, settings: Settings, mailbox: SMTPServer
) -> None:
    for i in range(12):
        await queue(settings, f"person{i}@example.org")
    sent = await asyncio.gather(*(outbox.send_due(settings, f"sender-{n}") for n in range(3)))
    assert sum(sent) == 12
    received = sorted(m["To"] for m in mailbox.box.messages)
    assert received == sorted(f"person{i}@example.org" for i in range(12))
    assert await OutboxMessage.filter(status=MailStatus.SENT).count() == 12


async def test_a_claimed_message_is_not_claimed_again(clean_db: str, settings: Settings) -> None:
    await queue(settings)
    now = datetime.now(UTC)
    lease = timedelta(minutes=1)
    first = await outbox.claim("a", now, lease)
    second = await outbox.claim("b", now, lease)
    assert first is not None and second is None
    assert first.claimed_by == "a" and first.lease_until == now + lease


async def test_a_sender_that_died_mid_send_has_its_message_retried_after_the_lease(
    clean_db: str, settings: Settings, mailbox: SMTPServer
) -> None:
    message = await queue(settings)
    now = datetime.now(UTC)
    lease = timedelta(seconds=settings.mail_lease_seconds)
    await outbox.claim("crashed", now, lease)
    # While the lease holds, nobody else sends it.
    assert await outbox.send_due(settings, "next", now + lease / 2) == 0
    assert await outbox.send_due(settings, "next", now + lease + timedelta(seconds=1)) == 1
    assert [m["Message-ID"] for m in mailbox.box.messages] == [message.message_id]
    await message.refresh_from_db()
    assert message.status == MailStatus.SENT and message.attempts == 2


async def test_development_without_smtp_writes_eml_files(clean_db: str, settings: Settings) -> None:
    offline = replace(settings, smtp_host="")
    message = await queue(offline)
    assert await outbox.send_due(offline, "test") == 1
    [path] = offline.mail_dir.glob("*.eml")
    parsed = message_from_bytes(path.read_bytes())
    assert parsed["Message-ID"] == message.message_id
    assert parsed["To"] == "o@example.org"


async def test_production_without_smtp_keeps_mail_pending(
    clean_db: str, settings: Settings
) -> None:
    production = replace(settings, smtp_host="", env="production")
    message = await queue(production)
    assert await outbox.send_due(production, "test") == 0
    await message.refresh_from_db()
    assert message.status == MailStatus.PENDING and "EXCHANGE_SMTP_HOST" in message.last_error


async def test_admin_resends_failed_mail(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("admin@example.org", Role.ADMIN)
    message = await queue(settings)
    mailbox.box.reply = "550 No such user"
    await outbox.send_due(settings, "test")
    mailbox.box.reply = "250 OK"
    await sign_in(client, "admin@example.org")
    page = await client.get("/admin/mail?status=failed")
    assert "o@example.org" in page.text and "550 No such user" in page.text
    assert f'action="/admin/mail/{message.id}/resend"' in page.text
    response = await post_form(client, f"/admin/mail/{message.id}/resend")
    assert response.status_code == 303
    assert await outbox.send_due(settings, "test") == 1
    assert len(mailbox.box.messages) == 1
    assert await AuditEvent.filter(event="mail_resent").count() == 1
    # Only failed mail can be resent; a sent one is not found.
    assert (await post_form(client, f"/admin/mail/{message.id}/resend")).status_code == 404


async def test_the_app_sender_delivers_after_commit(
    clean_db: str, settings: Settings, mailbox: SMTPServer
) -> None:
    stop = asyncio.Event()
    sender = asyncio.create_task(outbox.run_sender(settings, stop, poll_seconds=30))
    try:
        await asyncio.sleep(0.05)
        await queue(settings)
        outbox.wake_sender()
        for _ in range(200):
            if mailbox.box.messages:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await sender
    assert len(mailbox.box.messages) == 1


@pytest.mark.parametrize("locale", ["fr"])
async def test_mail_is_written_in_the_inviters_language(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer, locale: str
) -> None:
    await manchester()
    await make_user("staff@example.org", Role.STAFF, locale=locale)
    await sign_in(client, "staff@example.org")
    await invite(client)
    await outbox.send_due(settings, "test")
    assert mailbox.box.messages[0]["Subject"] == "Vous êtes invité à rejoindre Exchange"
