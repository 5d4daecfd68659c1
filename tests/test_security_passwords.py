"""Passwords must be hard to guess, not only long (zxcvbn's estimate, score 3 or more)."""

from __future__ import annotations

import re

import httpx
import pytest

from exchange.models.accounts import Role, User
from exchange.services import accounts, outbox, user_admin
from exchange.services.errors import ValidationError
from exchange.settings import Settings

from support import PASSWORD, SMTPServer, first_link, make_user, post_form, sign_in, text_part

GUESSABLE = ["Password123!", "qwertyuiop123", "iloveyou12345", "aaaaaaaaaaaaaaaa"]
TOO_EASY = "This password is too easy to guess."


def password_error(html: str) -> str:
    match = re.search(r'<p class="error" id="error-password">([^<]*)</p>', html)
    return match.group(1) if match else ""


@pytest.mark.parametrize("password", GUESSABLE)
async def test_a_new_password_in_settings_must_be_hard_to_guess(
    client: httpx.AsyncClient, password: str
) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    data = {
        "action": "password",
        "current_password": PASSWORD,
        "password": password,
        "password_confirm": password,
    }
    response = await post_form(client, "/settings", data)
    assert response.status_code == 400
    assert password_error(response.text).startswith(TOO_EASY)


async def test_a_reset_refuses_a_common_password_and_takes_a_good_one(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org")
    await post_form(client, "/password/reset", {"email": "o@example.org"})
    await outbox.send_due(settings, "test")
    link = first_link(text_part(mailbox.box.messages[0])).removeprefix("http://exchange.test")
    weak = await post_form(
        client, link, {"password": "Password123!", "password_confirm": "Password123!"}
    )
    assert weak.status_code == 400
    assert password_error(weak.text).startswith(TOO_EASY)
    good = "seven purple tigers dance"
    assert (
        await post_form(client, link, {"password": good, "password_confirm": good})
    ).status_code == 303


async def test_the_persons_own_name_and_address_count_as_guessable(
    clean_db: str, settings: Settings
) -> None:
    """'olenakovalenko' rates as strong for a stranger, but not for Olena Kovalenko."""
    user = await make_user("olena@lviv.example", name="Olena Kovalenko")
    for password in ("olenakovalenko", "olena@lviv.example"):
        with pytest.raises(ValidationError) as refused:
            await accounts.check_change_password(settings, user, PASSWORD, password, password)
        assert refused.value.fields["password"].startswith(TOO_EASY)


async def test_the_command_line_refuses_a_guessable_first_password(clean_db: str) -> None:
    with pytest.raises(ValidationError) as refused:
        await user_admin.create_user(
            email="ada@example.org", name="Ada", role=Role.ADMIN.value, password="password1234"
        )
    assert refused.value.fields["password"].startswith(TOO_EASY)
    assert not await User.exists()


async def test_the_message_is_translated(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org", locale="fr")
    await sign_in(client, "o@example.org")
    data = {
        "action": "password",
        "current_password": PASSWORD,
        "password": "Password123!",
        "password_confirm": "Password123!",
    }
    response = await post_form(client, "/settings", data)
    assert password_error(response.text).startswith("Ce mot de passe est trop facile à deviner.")


async def change_to(client: httpx.AsyncClient, password: str) -> httpx.Response:
    data = {
        "action": "password",
        "current_password": PASSWORD,
        "password": password,
        "password_confirm": password,
    }
    return await post_form(client, "/settings", data)


async def test_passwords_take_any_printable_unicode(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    password = "Ключ від 🏠 — n'oubliez pas"
    assert (await change_to(client, password)).status_code == 303
    await post_form(client, "/logout")
    assert (await sign_in(client, "o@example.org", password)).status_code == 303


async def test_runs_of_spaces_count_as_one_toward_the_length(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    response = await change_to(client, "zq" + " " * 12 + "x")
    assert response.status_code == 400
    assert password_error(response.text) == "Use at least 12 characters."


async def test_passwords_of_64_are_taken_and_over_128_refused(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    words = "seven purple tigers dance under quiet northern lights every winter"
    long_one = (words * 3)[:129]
    refused = await change_to(client, long_one)
    assert password_error(refused.text) == "That password is too long."
    assert (await change_to(client, long_one[:64])).status_code == 303
