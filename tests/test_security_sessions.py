"""The 'Sessions' section of settings: a person sees where they are signed in and ends
any other session, or all of them at once."""

from __future__ import annotations

import re

import httpx

from exchange.app import create_app
from exchange.domain.user_agents import describe
from exchange.models.accounts import Role, UserSession
from exchange.models.audit import AuditEvent
from exchange.services import sessions
from exchange.settings import Settings
from exchange.web.auth import session_cookie_name

from support import PASSWORD, make_user, post_form, sign_in

SESSION = session_cookie_name(False)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def browser(client: httpx.AsyncClient, user_agent: str, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=client._transport.app, client=(ip, 1))  # type: ignore[attr-defined]
    return httpx.AsyncClient(
        transport=transport, base_url=str(client.base_url), headers={"User-Agent": user_agent}
    )


def session_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'action="/settings/sessions/(\d+)/end"', html)]


async def test_settings_list_the_signed_in_browsers(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    async with browser(client, FIREFOX, "198.51.100.4") as laptop:
        await sign_in(laptop, "o@example.org")
        await sign_in(client, "o@example.org")
        page = await client.get("/settings")
    assert "Sessions" in page.text
    assert "Firefox on Windows" in page.text and "198.51.100.4" in page.text
    assert "This browser" in page.text and "203.0.113.7" in page.text
    # The other browser can be ended from here; this one is ended by signing out.
    assert len(session_ids(page.text)) == 1


async def test_ending_another_session_signs_that_browser_out(client: httpx.AsyncClient) -> None:
    user = await make_user("o@example.org")
    async with browser(client, SAFARI, "198.51.100.4") as phone:
        await sign_in(phone, "o@example.org")
        await sign_in(client, "o@example.org")
        [other] = session_ids((await client.get("/settings")).text)
        response = await post_form(client, f"/settings/sessions/{other}/end")
        assert response.status_code == 303
        assert (await phone.get("/settings")).status_code == 303
    assert (await client.get("/settings")).status_code == 200
    assert await UserSession.filter(user_id=user.id).count() == 1
    assert await AuditEvent.filter(event="session_ended", subject_id=user.id).exists()


async def test_ending_all_other_sessions(client: httpx.AsyncClient) -> None:
    user = await make_user("o@example.org")
    async with (
        browser(client, SAFARI, "198.51.100.4") as phone,
        browser(client, FIREFOX, "198.51.100.5") as laptop,
    ):
        await sign_in(phone, "o@example.org")
        await sign_in(laptop, "o@example.org")
        await sign_in(client, "o@example.org")
        response = await post_form(client, "/settings/sessions/end-others")
        assert response.status_code == 303
        assert (await phone.get("/settings")).status_code == 303
        assert (await laptop.get("/settings")).status_code == 303
    assert (await client.get("/settings")).status_code == 200
    assert await UserSession.filter(user_id=user.id).count() == 1


async def test_someone_elses_session_is_not_found(client: httpx.AsyncClient) -> None:
    other = await make_user("other@example.org", Role.ADMIN)
    raw = await sessions.start_session(other)
    theirs = await UserSession.get(user_id=other.id)
    await make_user("o@example.org")
    await sign_in(client, "o@example.org")
    response = await post_form(client, f"/settings/sessions/{theirs.id}/end")
    assert response.status_code == 404
    assert await UserSession.exists(id=theirs.id)
    assert raw


def test_user_agents_are_named_plainly() -> None:
    assert describe(FIREFOX) == ("Firefox", "Windows")
    assert describe(SAFARI) == ("Safari", "iOS")
    chrome = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36"
    )
    assert describe(chrome) == ("Chrome", "Linux")
    edge = chrome + " Edg/126.0.0.0"
    assert describe(edge) == ("Edge", "Linux")
    assert describe("curl/8.5.0") == ("curl", "")
    assert describe("") == ("", "")


async def test_production_session_cookies_are_secure_and_host_only(
    clean_db: str, production_settings: Settings
) -> None:
    app = create_app(production_settings, manage_db=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url="https://exchange.test") as http:
        await make_user("o@example.org")
        await http.get("/login")
        token = http.cookies["__Host-exchange_csrf"]
        data = {"csrf_token": token, "email": "o@example.org", "password": PASSWORD}
        response = await http.post("/login", data=data)
    assert response.status_code == 303
    cookie = next(
        c
        for c in response.headers.get_list("set-cookie")
        if c.startswith("__Host-exchange_session=")
    )
    for attribute in ("HttpOnly", "Secure", "Path=/", "SameSite=lax"):
        assert attribute in cookie
    assert "Domain=" not in cookie
