"""People hear by email of changes to their account's security: a password change or
reset, a new API token, a change of their role (or city)."""

from __future__ import annotations

from email.message import EmailMessage

import httpx

from exchange.models.accounts import Role
from exchange.models.cities import City, Region
from exchange.models.mail import OutboxMessage
from exchange.services import outbox
from exchange.settings import Settings

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

NEW_PASSWORD = "seven purple tigers dance"


async def delivered(settings: Settings, mailbox: SMTPServer, to: str) -> list[EmailMessage]:
    await outbox.send_due(settings, "test")
    return mailbox.box.to(to)


async def test_a_password_change_is_told_by_email(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org", name="Olivia")
    await sign_in(client, "o@example.org")
    data = {
        "action": "password",
        "current_password": PASSWORD,
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }
    assert (await post_form(client, "/settings", data)).status_code == 303
    [mail] = await delivered(settings, mailbox, "o@example.org")
    assert mail["Subject"] == "Your Exchange password was changed"
    body = text_part(mail)
    assert "Hello Olivia," in body
    assert "203.0.113.7" in body
    assert "http://exchange.test/password/reset" in body
    assert NEW_PASSWORD not in body and NEW_PASSWORD not in html_part(mail)


async def test_a_reset_is_told_by_email(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org")
    await post_form(client, "/password/reset", {"email": "o@example.org"})
    [reset_mail] = await delivered(settings, mailbox, "o@example.org")
    link = first_link(text_part(reset_mail)).removeprefix("http://exchange.test")
    mailbox.box.clear()
    data = {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    assert (await post_form(client, link, data)).status_code == 303
    [mail] = await delivered(settings, mailbox, "o@example.org")
    assert mail["Subject"] == "Your Exchange password was changed"
    assert "reset link" in text_part(mail)


async def test_a_new_token_is_told_by_email_without_the_token(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("s@example.org", Role.STAFF, locale="fr")
    await sign_in(client, "s@example.org")
    page = await post_form(client, "/settings/tokens", {"name": "rapports", "password": PASSWORD})
    raw = page.text[page.text.index("exch_") :].split("<", 1)[0]
    [mail] = await delivered(settings, mailbox, "s@example.org")
    assert mail["Subject"] == "Un nouveau jeton d'API pour votre compte Exchange"
    body = text_part(mail)
    assert "rapports" in body and "http://exchange.test/settings/tokens" in body
    assert raw not in body and raw not in html_part(mail)
    stored = await OutboxMessage.get()
    assert raw not in stored.body_text + stored.body_html


async def test_a_role_or_city_change_is_told_by_email(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    lyon = await City.create(key="lyon-fr", name="Lyon", country="FR", region=Region.EUROPE)
    await make_user("admin@example.org", Role.ADMIN, name="Ada")
    member = await make_user("s@example.org", Role.STAFF, name="Sam")
    await sign_in(client, "admin@example.org")
    data = {"role": "official", "city": lyon.key, "is_active": "on"}
    assert (await post_form(client, f"/admin/users/{member.id}", data)).status_code == 303
    [mail] = await delivered(settings, mailbox, "s@example.org")
    assert mail["Subject"] == "Your access to Exchange changed"
    body = text_part(mail)
    assert "Network staff" in body and "City official" in body and "Lyon" in body
    assert "Ada" in body
