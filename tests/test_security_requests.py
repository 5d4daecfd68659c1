"""What every request meets before any route: body size limits, trusted hosts, caching."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from exchange.models.accounts import Role
from exchange.services import tokens
from exchange.settings import Settings

from support import PASSWORD, csrf_token, make_user, post_form, sign_in

MB = 1024 * 1024
CHUNK = 64 * 1024


class Body:
    """A streamed body that counts how much of it the server pulled."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            self.sent += CHUNK
            yield b"x" * CHUNK


async def bearer_token(settings: Settings) -> str:
    user = await make_user("s@example.org", Role.STAFF)
    return (await tokens.check_create_token(settings, user, "script", PASSWORD)).raw


async def test_a_bearer_call_is_refused_while_its_body_streams(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    raw = await bearer_token(settings)
    body = Body(50 * MB)
    response = await client.post(
        "/api/v1/requests",
        content=body,
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert body.sent <= MB + CHUNK


async def test_a_declared_length_over_the_limit_is_refused_unread(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    raw = await bearer_token(settings)
    body = Body(2 * MB)
    response = await client.post(
        "/api/v1/requests",
        content=body,
        headers={
            "Authorization": f"Bearer {raw}",
            "Content-Type": "application/json",
            "Content-Length": str(2 * MB),
        },
    )
    assert response.status_code == 413
    assert body.sent == 0


async def test_forms_have_a_limit_too(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org")
    await client.get("/login")
    data = {"csrf_token": csrf_token(client), "email": "o@example.org", "notes": "x" * (2 * MB)}
    response = await client.post("/login", data=data)
    assert response.status_code == 413
    assert "too large" in response.text


async def test_an_api_body_under_the_limit_is_read(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    raw = await bearer_token(settings)
    padded = b'{"description": "' + b"x" * (600 * 1024) + b'"}'
    response = await client.post(
        "/api/v1/requests",
        content=padded,
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
    )
    # Read and checked: refused for its content, not its size.
    assert response.status_code == 422


async def test_the_catalogue_upload_keeps_its_own_limit(client: httpx.AsyncClient) -> None:
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    padding = " " * (3 * MB)
    catalogue = ('{"cities": []' + padding + "}").encode()
    response = await post_form(
        client, "/import", files={"file": ("c.json", catalogue, "application/json")}
    )
    assert response.status_code == 303


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT", "PATCH"])
async def test_every_method_is_limited(client: httpx.AsyncClient, method: str) -> None:
    body = Body(3 * MB)
    headers = {"Content-Length": str(body.size)}
    response = await client.request(method, "/cities", content=body, headers=headers)
    assert response.status_code == 413
    assert body.sent == 0


async def test_a_foreign_host_header_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/cities/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("location", "")
    assert (await client.get("/", headers={"Host": "exchange.test:8443"})).status_code == 200


async def test_redirects_never_name_the_requests_host(client: httpx.AsyncClient) -> None:
    response = await client.get("/cities/?region=europe")
    assert response.status_code in (301, 307, 308)
    assert response.headers["location"] == "/cities?region=europe"


async def production_client(settings: Settings, **env: str) -> httpx.AsyncClient:
    from dataclasses import replace

    from exchange.app import create_app

    app = create_app(replace(settings, env="production", **env), manage_db=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    return httpx.AsyncClient(transport=transport, base_url="https://exchange.test")


async def test_loopback_is_a_host_in_development_only(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    assert (await client.get("/healthz", headers={"Host": "127.0.0.1:8000"})).status_code == 200
    async with await production_client(settings) as production:
        assert (await production.get("/healthz")).status_code == 200
        local = await production.get("/healthz", headers={"Host": "127.0.0.1"})
        assert local.status_code == 400
    async with await production_client(settings, allowed_hosts=("127.0.0.1",)) as production:
        assert (await production.get("/healthz", headers={"Host": "127.0.0.1"})).is_success


def test_more_hosts_come_from_the_environment(tmp_path: object) -> None:
    from exchange.settings import SettingsError, load_settings

    env = {"EXCHANGE_VAR_DIR": str(tmp_path), "EXCHANGE_BASE_URL": "https://x.example.org"}
    settings = load_settings({**env, "EXCHANGE_ALLOWED_HOSTS": "10.0.0.5, Internal.Example"})
    assert settings.allowed_hosts == ("10.0.0.5", "internal.example")
    assert settings.trusted_hosts() >= {"x.example.org", "10.0.0.5", "internal.example"}
    with pytest.raises(SettingsError, match="EXCHANGE_ALLOWED_HOSTS"):
        load_settings({**env, "EXCHANGE_ALLOWED_HOSTS": "https://evil.example/"})


async def test_bearer_api_answers_are_not_stored(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    raw = await bearer_token(settings)
    auth = {"Authorization": f"Bearer {raw}"}
    listed = await client.get("/api/v1/requests", headers=auth)
    assert listed.status_code == 200
    assert listed.headers["cache-control"] == "no-store"
    refused = await client.get("/api/v1/requests/1", headers=auth)
    assert refused.headers["cache-control"] == "no-store"
    wrong = await client.get("/api/v1/requests", headers={"Authorization": "Bearer exch_x"})
    assert wrong.status_code == 401 and wrong.headers["cache-control"] == "no-store"


async def test_the_api_refuses_a_body_that_is_not_json_with_415(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    raw = await bearer_token(settings)
    response = await client.post(
        "/api/v1/requests",
        content=b"city=lviv-ua",
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "path", ["/static/", "/static/css/", "/.git/config", "/static/../README.md"]
)
async def test_no_directory_listing_or_stray_files(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404
