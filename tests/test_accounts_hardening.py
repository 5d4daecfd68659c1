"""Hardening found in review: bearer calls and CSRF, caching, dead links, resets, forms."""

from __future__ import annotations

import httpx

from exchange.models.accounts import Invitation, PasswordReset, Role, UserSession
from exchange.models.cities import City, Region
from exchange.models.mail import MailStatus, OutboxMessage
from exchange.models.matching import PersonalAccessToken
from exchange.services import outbox, tokens
from exchange.settings import Settings
from exchange.web.auth import session_cookie_name
from exchange.web.csrf import cookie_name

from support import PASSWORD, SMTPServer, first_link, make_user, post_form, sign_in, text_part

SESSION = session_cookie_name(False)


async def test_a_bearer_header_does_not_skip_csrf_outside_the_api(
    client: httpx.AsyncClient,
) -> None:
    await make_user("o@example.org")
    response = await client.post(
        "/login",
        data={"email": "o@example.org", "password": PASSWORD},
        headers={"Authorization": "Bearer anything"},
    )
    assert response.status_code == 403
    assert not await UserSession.exists()


async def test_api_calls_with_a_token_work_whatever_cookies_they_carry(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await make_user("s@example.org", Role.STAFF)
    created = await tokens.check_create_token(settings, user, "script", PASSWORD)
    client.cookies.set(cookie_name(False), "x" * 43, domain="exchange.test")
    auth = {"Authorization": f"Bearer {created.raw}"}
    listed = await client.get("/api/v1/requests", headers=auth)
    assert listed.status_code == 200
    assert cookie_name(False) not in listed.headers.get("set-cookie", "")
    created_request = await client.post("/api/v1/requests", json={}, headers=auth)
    # Past CSRF and authentication: the empty body is refused for its content only.
    assert created_request.status_code == 422
    assert created_request.json()["error"]["fields"]


async def test_a_cookie_session_on_the_api_still_needs_the_csrf_header(
    client: httpx.AsyncClient,
) -> None:
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    refused = await client.post("/api/v1/requests", json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"


async def test_multipart_posts_without_a_token_are_refused(client: httpx.AsyncClient) -> None:
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    response = await client.post(
        "/import", files={"file": ("c.json", b'{"cities": []}', "application/json")}
    )
    assert response.status_code == 403


async def test_json_clients_get_401_not_a_redirect(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/users", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_pages_for_signed_in_users_are_not_cached(client: httpx.AsyncClient) -> None:
    assert "cache-control" not in (await client.get("/")).headers
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    assert (await client.get("/settings")).headers["cache-control"] == "no-store"
    assert (await client.get("/")).headers["cache-control"] == "no-store"


async def test_a_dead_invitation_link_explains_itself(client: httpx.AsyncClient) -> None:
    response = await client.get("/invitations/not-a-real-token")
    assert response.status_code == 404
    assert "This link no longer works" in response.text
    assert 'href="/login"' in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_a_dead_reset_link_offers_a_new_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/password/reset/not-a-real-token")
    assert response.status_code == 404
    assert 'href="/password/reset"' in response.text


async def reset_links(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer, email: str, count: int
) -> list[str]:
    for _ in range(count):
        await post_form(client, "/password/reset", {"email": email})
    await outbox.send_due(settings, "test")
    return [
        first_link(text_part(m)).removeprefix("http://exchange.test")
        for m in mailbox.box.to(email)
        if m["Subject"] == "Reset your Exchange password"
    ]


async def test_only_the_newest_reset_link_works(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org")
    old, new = await reset_links(client, settings, mailbox, "o@example.org", 2)
    assert (await client.get(old)).status_code == 404
    assert (await client.get(new)).status_code == 200


async def test_a_reset_revokes_api_tokens_and_other_links(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    user = await make_user("o@example.org")
    created = await tokens.check_create_token(settings, user, "script", PASSWORD)
    [link] = await reset_links(client, settings, mailbox, "o@example.org", 1)
    data = {"password": "a fresh password!", "password_confirm": "a fresh password!"}
    assert (await post_form(client, link, data)).status_code == 303
    token = await PersonalAccessToken.get(id=created.token.id)
    assert token.revoked_at is not None
    api = await client.get("/api/v1/requests", headers={"Authorization": f"Bearer {created.raw}"})
    assert api.status_code == 401
    assert not await PasswordReset.filter(used_at__isnull=True).exists()


async def test_reset_requests_cannot_flood_an_inbox(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org")
    answers = set()
    for _ in range(6):
        response = await post_form(client, "/password/reset", {"email": "o@example.org"})
        answers.add((response.status_code, "If an account exists" in response.text))
    assert answers == {(200, True)}
    await outbox.send_due(settings, "test")
    assert len(mailbox.box.to("o@example.org")) == 3


async def test_sent_mail_keeps_no_body(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await make_user("o@example.org")
    await post_form(client, "/password/reset", {"email": "o@example.org"})
    await outbox.send_due(settings, "test")
    message = await OutboxMessage.get()
    assert message.status == MailStatus.SENT
    assert message.body_text == "" and message.body_html == ""
    assert "/password/reset/" in text_part(mailbox.box.messages[0])


async def test_a_malformed_message_fails_instead_of_hanging(
    clean_db: str, settings: Settings, mailbox: SMTPServer
) -> None:
    message = await outbox.queue_email(
        settings,
        to="bad\naddress@example.org",
        locale="en",
        subject="You are invited to Exchange",
        template="invitation",
        context={"name": "O", "inviter": "S", "city": "", "link": "x", "expires_days": 7},
    )
    assert await outbox.send_due(settings, "test") == 0
    await message.refresh_from_db()
    assert message.status == MailStatus.FAILED
    assert mailbox.box.messages == []


async def test_a_new_invitation_replaces_the_older_one(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await City.create(key="lviv-ua", name="Lviv", country="UA", region=Region.EUROPE)
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    data = {"email": "n@example.org", "name": "N", "role": "official", "city": "lviv-ua"}
    await post_form(client, "/invitations/new", data)
    await post_form(client, "/invitations/new", {**data, "email": "N@Example.org"})
    await outbox.send_due(settings, "test")
    old, new = (
        first_link(text_part(m)).removeprefix("http://exchange.test")
        for m in mailbox.box.to("n@example.org")
    )
    await post_form(client, "/logout")
    assert (await client.get(old)).status_code == 404
    assert (await client.get(new)).status_code == 200
    assert await Invitation.all().count() == 2


async def test_form_fields_keep_their_attributes(client: httpx.AsyncClient) -> None:
    html = (await client.get("/login")).text
    assert 'type="email" value="" required autocomplete="username">' in html
    assert 'type="password" value="" required autocomplete="current-password">' in html
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    bad = await post_form(client, "/settings", {"name": "", "timezone": "UTC", "locale": "en"})
    assert 'required autocomplete="name" aria-invalid="true" aria-describedby="error-name"' in (
        bad.text
    )


async def test_times_name_the_readers_zone(client: httpx.AsyncClient) -> None:
    await make_user("admin@example.org", Role.ADMIN, timezone="Asia/Tokyo")
    await sign_in(client, "admin@example.org")
    page = await client.get("/admin/audit")
    assert "(Asia/Tokyo)" in page.text
    assert "Signed in" in page.text


async def test_a_page_past_the_end_shows_the_last_page(client: httpx.AsyncClient) -> None:
    await make_user("admin@example.org", Role.ADMIN)
    await sign_in(client, "admin@example.org")
    page = await client.get("/admin/users?page=99")
    assert page.status_code == 200
    assert "admin@example.org" in page.text


async def test_huge_ids_are_not_found_not_errors(client: httpx.AsyncClient) -> None:
    await make_user("admin@example.org", Role.ADMIN)
    await sign_in(client, "admin@example.org")
    assert (await client.get("/admin/users/99999999999999999999")).status_code == 404
    assert (await client.get("/admin/audit?user=99999999999999999999")).status_code == 200


async def test_a_refused_form_still_shows_the_person_signed_in(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    response = await client.post("/logout", data={"csrf_token": "stale" * 9})
    assert response.status_code == 403
    assert "Sign out" in response.text and 'href="/login"' not in response.text


async def test_home_offers_an_official_their_city_and_requests(client: httpx.AsyncClient) -> None:
    city = await City.create(key="lviv-ua", name="Lviv", country="UA", region=Region.EUROPE)
    await make_user("o@example.org", Role.OFFICIAL, city)
    await sign_in(client, "o@example.org")
    home = await client.get("/")
    assert 'href="/cities/lviv-ua"' in home.text and 'href="/requests/new"' in home.text
    assert "Well-being circles" not in home.text


async def test_the_invitation_form_starts_in_the_citys_time_zone(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    await City.create(
        key="nice-fr", name="Nice", country="FR", region=Region.EUROPE, timezone="Europe/Paris"
    )
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    await post_form(
        client,
        "/invitations/new",
        {"email": "n@example.org", "name": "N", "role": "official", "city": "nice-fr"},
    )
    await outbox.send_due(settings, "test")
    link = first_link(text_part(mailbox.box.messages[0])).removeprefix("http://exchange.test")
    await post_form(client, "/logout")
    page = await client.get(link)
    assert '<option value="Europe/Paris" selected>' in page.text


async def test_numbers_are_grouped_the_readers_way(client: httpx.AsyncClient) -> None:
    await City.create(
        key="lviv-ua", name="Lviv", country="UA", region=Region.EUROPE, population=717_000
    )
    english = await client.get("/cities/lviv-ua")
    french = await client.get("/cities/lviv-ua", headers={"accept-language": "fr"})
    assert "717,000" in english.text
    assert "717\u202f000" in french.text


async def test_an_admin_cannot_deactivate_themselves(client: httpx.AsyncClient) -> None:
    admin = await make_user("admin@example.org", Role.ADMIN)
    await sign_in(client, "admin@example.org")
    response = await post_form(client, f"/admin/users/{admin.id}", {"role": "admin", "city": ""})
    assert response.status_code == 400
    assert 'id="error-is_active">You cannot deactivate yourself.' in response.text


async def test_a_page_past_the_end_says_so_with_a_link_to_the_last(
    client: httpx.AsyncClient,
) -> None:
    await make_user("admin@example.org", Role.ADMIN)
    for number in range(30):
        await make_user(f"person{number:02d}@example.org")
    await sign_in(client, "admin@example.org")
    page = await client.get("/admin/users?page=999")
    assert "There is no page 999 here: this list has 2 pages, and below is the last one." in (
        page.text
    )
    assert 'href="/admin/users?page=2">Go to the last page</a>' in page.text
    assert "person29@example.org" in page.text
    # An existing page says nothing of the kind.
    assert "There is no page" not in (await client.get("/admin/users?page=2")).text


async def test_search_and_directory_pages_past_the_end_say_so(client: httpx.AsyncClient) -> None:
    city = await City.create(key="lviv-ua", name="Lviv", country="UA", region=Region.EUROPE)
    for page_url in ("/cities?page=999", "/library?q=x&page=99", "/library?q=Lviv&page=7"):
        page = await client.get(page_url)
        assert page.status_code == 200, page_url
        assert "There is no page" in page.text, page_url
        assert "Go to the last page" in page.text, page_url
    assert city.name in (await client.get("/cities?page=999")).text
    french = await client.get("/cities?page=999", headers={"Accept-Language": "fr"})
    assert "pas de page 999 ici" in french.text
