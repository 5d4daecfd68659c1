"""Pages, error pages, security headers and the health check."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import Route

from exchange.app import create_app
from exchange.settings import Settings
from exchange.web.headers import CONTENT_SECURITY_POLICY

from support import free_port

pytestmark = pytest.mark.usefixtures("clean_db")


def assert_security_headers(response: httpx.Response, production: bool = False) -> None:
    csp = response.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert ("strict-transport-security" in response.headers) is production


async def boom(request: Request) -> None:
    raise RuntimeError("secret internal detail")


def app_client(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, manage_db=False)
    app.router.routes.insert(0, Route("/boom", boom))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://exchange.test")


@pytest.mark.parametrize("path", ["/", "/login", "/healthz", "/static/css/main.css"])
async def test_every_response_carries_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert_security_headers(response)


async def test_not_found_page_is_friendly_and_has_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert "We could not find that page." in response.text
    assert "<!doctype html>" in response.text
    assert_security_headers(response)


async def test_not_found_under_the_api_is_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert set(response.json()["error"]) == {"code", "message", "fields"}


async def test_server_error_page_leaks_no_traceback(settings: Settings) -> None:
    async with app_client(settings) as http:
        response = await http.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert_security_headers(response)


async def test_production_adds_hsts_and_secure_cookies(settings: Settings) -> None:
    production = Settings(**{**settings.__dict__, "env": "production"})
    async with app_client(production) as http:
        response = await http.get("/")
    assert_security_headers(response, production=True)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-exchange_csrf=")
    assert "Secure" in cookie and "HttpOnly" in cookie


async def test_pages_load_nothing_from_other_hosts(client: httpx.AsyncClient) -> None:
    for path in ("/", "/login", "/password/reset"):
        html = (await client.get(path)).text
        assert "http://" not in html.replace("http://exchange.test", "")
        assert "https://" not in html
        assert "<script" not in html or 'src="/' in html
        assert "style=" not in html


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    """A real server whose database is down: it stays up and says so."""
    port = free_port()
    env = {
        **os.environ,
        "EXCHANGE_DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
        "EXCHANGE_VAR_DIR": str(tmp_path),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "exchange.asgi:app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        response = None
        for _ in range(100):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert response is not None
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert_security_headers(response)


async def test_french_visitor_gets_french_pages(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"accept-language": "fr-CH, fr;q=0.9, en;q=0.5"})
    assert 'lang="fr"' in response.text
    assert "Des villes qui apprennent des villes" in response.text


async def test_unknown_language_falls_back_to_english(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"accept-language": "xx, yy;q=0.5"})
    assert 'lang="en"' in response.text
    assert "Cities learning from cities" in response.text


async def test_pages_hand_scripts_the_csrf_token(client: httpx.AsyncClient) -> None:
    await client.get("/")
    token = client.cookies.get("exchange_csrf")
    page = await client.get("/login")
    assert f'<meta name="csrf-token" content="{token}">' in page.text
