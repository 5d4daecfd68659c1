"""Signing in and out, sessions, throttling, CSRF and redirects after sign-in."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from exchange.models.accounts import Role, SignInBudget, User, UserSession
from exchange.models.audit import AuditEvent
from exchange.models.cities import City, Region
from exchange.services import accounts
from exchange.services.secrets import hash_password
from exchange.settings import Settings
from exchange.web.auth import session_cookie_name

from support import PASSWORD, csrf_token, make_user, post_form, sign_in

SESSION = session_cookie_name(False)


async def city(key: str = "manchester-gb") -> City:
    return await City.create(
        key=key, name=key.split("-")[0].title(), country="GB", region=Region.EUROPE
    )


def new_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second browser on the same app."""
    return httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))


async def test_sign_in_starts_a_server_side_session(client: httpx.AsyncClient) -> None:
    user = await make_user("olivia@example.org", Role.STAFF)
    response = await sign_in(client, "Olivia@Example.org ")
    assert response.headers["location"] == "/"
    cookie = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith(f"{SESSION}="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    raw = client.cookies[SESSION]
    assert await UserSession.filter(user_id=user.id).count() == 1
    # The database holds only a hash of the cookie's id.
    assert not await UserSession.filter(id_hash=raw).exists()
    page = await client.get("/settings")
    assert page.status_code == 200
    assert "Olivia" in page.text


async def test_sign_in_gives_a_new_session_id_every_time(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    client.cookies.set(SESSION, "planted-by-an-attacker", domain="exchange.test")
    await sign_in(client, "o@example.org")
    first = client.cookies[SESSION]
    assert first != "planted-by-an-attacker"
    await sign_in(client, "o@example.org")
    assert client.cookies[SESSION] != first


async def test_sign_out_ends_the_session_for_good(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    old_cookie = client.cookies[SESSION]
    response = await post_form(client, "/logout")
    assert response.status_code == 303
    client.cookies.set(SESSION, old_cookie)
    assert (await client.get("/settings")).status_code == 303
    assert await UserSession.all().count() == 0
    assert await AuditEvent.filter(event="sign_out").count() == 1


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    await make_user("known@example.org")
    wrong = await post_form(client, "/login", {"email": "known@example.org", "password": "x" * 12})
    unknown = await post_form(
        client, "/login", {"email": "nobody@example.org", "password": "x" * 12}
    )
    assert wrong.status_code == unknown.status_code == 400
    token = csrf_token(client)
    assert wrong.text.replace("known@", "X@").replace(token, "") == unknown.text.replace(
        "nobody@", "X@"
    ).replace(token, "")
    assert SESSION not in client.cookies


async def test_unknown_email_takes_as_long_as_a_wrong_password(clean_db: str) -> None:
    """A missing account must not answer measurably faster (no enumeration by timing)."""
    settings = Settings(secret_key="k" * 40)
    await User.create(email="known@example.org", name="K", password_hash=hash_password(PASSWORD))

    async def timed(email: str) -> float:
        start = time.perf_counter()
        with pytest.raises(accounts.SignInFailed):
            await accounts.check_sign_in(settings, email, "wrong password!", ip=email)
        return time.perf_counter() - start

    known = sorted([await timed("known@example.org") for _ in range(3)])[1]
    unknown = sorted([await timed(f"nobody{i}@example.org") for i in range(3)])[1]
    # Without a dummy hash the miss is ~100x faster; allow for a noisy machine.
    assert unknown > known * 0.5
    assert known > unknown * 0.5


async def test_five_failures_lock_the_account(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    for _ in range(5):
        response = await post_form(
            client, "/login", {"email": "o@example.org", "password": "no" * 6}
        )
        assert response.status_code == 400
    blocked = await post_form(client, "/login", {"email": "o@example.org", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "wait 15 minutes" in blocked.text
    assert SESSION not in client.cookies
    assert await AuditEvent.filter(event="sign_in_throttled").count() == 1


async def test_an_account_lock_lasts_fifteen_minutes(clean_db: str) -> None:
    settings = Settings(secret_key="k" * 40)
    await User.create(email="o@example.org", name="O", password_hash=hash_password(PASSWORD))
    start = datetime.now(UTC) - timedelta(hours=1)
    for minute in range(5):
        with pytest.raises(accounts.SignInFailed):
            await accounts.check_sign_in(
                settings, "o@example.org", "bad password!", now=start + timedelta(minutes=minute)
            )
    locked_at = start + timedelta(minutes=4)
    with pytest.raises(accounts.SignInThrottled):
        await accounts.check_sign_in(
            settings, "o@example.org", PASSWORD, now=locked_at + timedelta(minutes=14)
        )
    signed = await accounts.check_sign_in(
        settings, "o@example.org", PASSWORD, now=locked_at + timedelta(minutes=16)
    )
    assert signed.user.email == "o@example.org"


async def test_twenty_failures_lock_the_address(client: httpx.AsyncClient) -> None:
    await make_user("real@example.org")
    for i in range(20):
        await post_form(client, "/login", {"email": f"guess{i}@example.org", "password": "x" * 12})
    blocked = await post_form(client, "/login", {"email": "real@example.org", "password": PASSWORD})
    assert blocked.status_code == 429
    # Another address is not affected.
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=client._transport.app, client=("198.51.100.9", 1)),  # type: ignore[attr-defined]
        base_url=str(client.base_url),
    )
    async with other:
        assert (await sign_in(other, "real@example.org")).status_code == 303
    budget = await SignInBudget.get(key="address:203.0.113.7")
    assert budget.checks == 20


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "http:/evil",
        "evil",
        "",
        "//[::1",
    ],
)
async def test_next_only_accepts_local_paths(client: httpx.AsyncClient, target: str) -> None:
    await make_user("o@example.org")
    response = await post_form(
        client, "/login", {"email": "o@example.org", "password": PASSWORD, "next": target}
    )
    assert response.headers["location"] == "/"


async def test_next_keeps_a_local_path(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    response = await post_form(
        client, "/login", {"email": "o@example.org", "password": PASSWORD, "next": "/settings?x=1"}
    )
    assert response.headers["location"] == "/settings?x=1"


async def test_sign_in_form_without_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await client.get("/login")
    response = await client.post("/login", data={"email": "o@example.org", "password": PASSWORD})
    assert response.status_code == 403
    assert SESSION not in client.cookies
    assert not await UserSession.exists()


async def test_csrf_token_must_match_the_cookie(client: httpx.AsyncClient) -> None:
    user = await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    forged = await client.post(
        "/settings",
        data={"csrf_token": "A" * 43, "name": "Mallory", "timezone": "UTC", "locale": "en"},
    )
    assert forged.status_code == 403
    await user.refresh_from_db()
    assert user.name != "Mallory"


async def test_json_posts_need_the_csrf_header(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    refused = await client.post("/logout", json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert await UserSession.exists()
    accepted = await client.post("/logout", json={}, headers={"X-CSRF-Token": csrf_token(client)})
    assert accepted.status_code == 303
    assert not await UserSession.exists()


async def test_idle_session_expires(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    await UserSession.all().update(last_seen_at=datetime.now(UTC) - timedelta(minutes=31))
    response = await client.get("/settings")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/settings"


async def test_session_expires_after_twelve_hours_even_when_active(
    client: httpx.AsyncClient,
) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    await UserSession.all().update(created_at=datetime.now(UTC) - timedelta(hours=12, minutes=1))
    assert (await client.get("/settings")).status_code == 303


async def test_recent_activity_keeps_a_session_alive(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    await UserSession.all().update(last_seen_at=datetime.now(UTC) - timedelta(minutes=29))
    assert (await client.get("/settings")).status_code == 200
    session = await UserSession.get()
    assert datetime.now(UTC) - session.last_seen_at < timedelta(minutes=1)


async def test_password_change_signs_out_other_browsers(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    async with new_client(client) as other:
        await sign_in(other, "o@example.org")
        await sign_in(client, "o@example.org")
        old_cookie = client.cookies[SESSION]
        response = await post_form(
            client,
            "/settings",
            {
                "action": "password",
                "current_password": PASSWORD,
                "password": "a brand new password",
                "password_confirm": "a brand new password",
            },
        )
        assert response.status_code == 303
        assert client.cookies[SESSION] != old_cookie
        assert (await client.get("/settings")).status_code == 200
        assert (await other.get("/settings")).status_code == 303
    fresh = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with fresh:
        fresh.cookies.set(SESSION, old_cookie)
        assert (await fresh.get("/settings")).status_code == 303
        assert (await sign_in(fresh, "o@example.org", "a brand new password")).status_code == 303


async def test_password_change_needs_the_current_password(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    response = await post_form(
        client,
        "/settings",
        {
            "action": "password",
            "current_password": "not my password",
            "password": "a brand new password",
            "password_confirm": "a brand new password",
        },
    )
    assert response.status_code == 400
    assert "That is not your current password." in response.text
    assert (await client.get("/settings")).status_code == 200


async def test_settings_update_name_time_zone_and_language(client: httpx.AsyncClient) -> None:
    user = await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    bad = await post_form(
        client, "/settings", {"name": "", "timezone": "Mars/Base", "locale": "xx"}
    )
    assert bad.status_code == 400
    assert "Choose a time zone from the list." in bad.text
    assert 'aria-invalid="true"' in bad.text
    ok = await post_form(
        client, "/settings", {"name": "Olivia O.", "timezone": "America/Chicago", "locale": "fr"}
    )
    assert ok.status_code == 303
    await user.refresh_from_db()
    assert (user.name, user.timezone, user.locale) == ("Olivia O.", "America/Chicago", "fr")
    page = await client.get("/settings")
    assert 'lang="fr"' in page.text and "Paramètres" in page.text


async def test_deactivation_ends_every_session(client: httpx.AsyncClient) -> None:
    await make_user("admin@example.org", Role.ADMIN)
    member = await make_user("o@example.org", Role.STAFF)
    async with new_client(client) as browser:
        await sign_in(browser, "o@example.org")
        assert (await browser.get("/settings")).status_code == 200
        await sign_in(client, "admin@example.org")
        response = await post_form(
            client, f"/admin/users/{member.id}", {"role": "staff", "city": ""}
        )
        assert response.status_code == 303
        assert (await browser.get("/settings")).status_code == 303
        refused = await post_form(
            browser, "/login", {"email": "o@example.org", "password": PASSWORD}
        )
        assert refused.status_code == 400
    assert await AuditEvent.filter(event="deactivated", subject_id=member.id).count() == 1


async def test_role_change_ends_every_session(client: httpx.AsyncClient) -> None:
    await make_user("admin@example.org", Role.ADMIN)
    member = await make_user("s@example.org", Role.STAFF)
    home = await city()
    async with new_client(client) as browser:
        await sign_in(browser, "s@example.org")
        await sign_in(client, "admin@example.org")
        await post_form(
            client,
            f"/admin/users/{member.id}",
            {"role": "official", "city": home.key, "is_active": "on"},
        )
        assert (await browser.get("/settings")).status_code == 303
    await member.refresh_from_db()
    assert member.role == Role.OFFICIAL and member.city_id == home.id  # type: ignore[attr-defined]
    event = await AuditEvent.get(event="role_changed")
    assert event.detail == {"from": "staff", "to": "official"}


async def test_admin_must_give_an_official_a_city(client: httpx.AsyncClient) -> None:
    await make_user("admin@example.org", Role.ADMIN)
    member = await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "admin@example.org")
    response = await post_form(
        client, f"/admin/users/{member.id}", {"role": "official", "city": "", "is_active": "on"}
    )
    assert response.status_code == 400
    assert "Choose the city this official works for." in response.text
    await member.refresh_from_db()
    assert member.role == Role.STAFF


async def test_admin_cannot_lock_themselves_out(client: httpx.AsyncClient) -> None:
    admin = await make_user("admin@example.org", Role.ADMIN)
    await sign_in(client, "admin@example.org")
    response = await post_form(client, f"/admin/users/{admin.id}", {"role": "staff", "city": ""})
    assert response.status_code == 400
    await admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.is_active


@pytest.mark.parametrize(
    "path", ["/admin/users", "/admin/audit", "/admin/mail", "/invitations/new"]
)
async def test_visitors_are_sent_to_sign_in(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    "path", ["/admin/users", "/admin/audit", "/admin/mail", "/invitations/new"]
)
async def test_officials_cannot_reach_staff_or_admin_pages(
    client: httpx.AsyncClient, path: str
) -> None:
    await make_user("o@example.org", Role.OFFICIAL, await city())
    await sign_in(client, "o@example.org")
    response = await client.get(path)
    assert response.status_code == 403
    assert "You do not have permission" in response.text


@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit", "/admin/mail"])
async def test_staff_cannot_reach_admin_pages(client: httpx.AsyncClient, path: str) -> None:
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    assert (await client.get(path)).status_code == 403


async def test_staff_cannot_post_to_admin_actions(client: httpx.AsyncClient) -> None:
    await make_user("s@example.org", Role.STAFF)
    target = await make_user("t@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    response = await post_form(client, f"/admin/users/{target.id}", {"role": "admin", "city": ""})
    assert response.status_code == 403
    await target.refresh_from_db()
    assert target.role == Role.STAFF


async def test_admin_lists_and_filters_users_and_audit_events(client: httpx.AsyncClient) -> None:
    admin = await make_user("admin@example.org", Role.ADMIN, name="Ada")
    await make_user("zoe@example.org", Role.STAFF, name="Zoe")
    await post_form(client, "/login", {"email": "zoe@example.org", "password": "wrong" * 3})
    await sign_in(client, "admin@example.org")
    users = await client.get("/admin/users?q=zoe")
    assert "zoe@example.org" in users.text and "admin@example.org" not in users.text
    failed = await client.get("/admin/audit?event=sign_in_failed")
    assert "zoe@example.org" in failed.text
    assert "sign_in</td>" not in failed.text
    mine = await client.get(f"/admin/audit?user={admin.id}")
    assert "sign_in" in mine.text and "zoe@example.org" not in mine.text


async def test_audit_log_is_paginated(client: httpx.AsyncClient) -> None:
    await make_user("admin@example.org", Role.ADMIN)
    for i in range(55):
        await AuditEvent.create(
            created_at=datetime.now(UTC), event="sign_in_failed", email=f"x{i}@example.org"
        )
    await sign_in(client, "admin@example.org")
    first = await client.get("/admin/audit")
    assert "Page 1 of 2" in first.text and 'rel="next"' in first.text
    second = await client.get("/admin/audit?page=2")
    assert "Page 2 of 2" in second.text


async def test_sign_in_upgrades_an_outdated_password_hash(client: httpx.AsyncClient) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user = await make_user("o@example.org")
    await User.filter(id=user.id).update(password_hash=weak)
    await sign_in(client, "o@example.org")
    await user.refresh_from_db()
    assert user.password_hash != weak
    assert user.password_hash.startswith("$argon2id$")
    assert "m=8192" not in user.password_hash
    await post_form(client, "/logout")
    assert (await sign_in(client, "o@example.org")).status_code == 303
