"""API tokens end with the credentials and rights they were made under, and expire."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from exchange.models.accounts import Role, User
from exchange.models.matching import PersonalAccessToken

from support import PASSWORD, make_user, post_form, sign_in

NEW_PASSWORD = "a brand new password"


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


async def create_token(
    client: httpx.AsyncClient, name: str = "script", password: str = PASSWORD, **extra: str
) -> httpx.Response:
    data = {"name": name, "password": password, **extra}
    return await post_form(client, "/settings/tokens", data)


def raw_token(response: httpx.Response) -> str:
    start = response.text.index("exch_")
    return response.text[start : response.text.index("<", start)]


async def signed_in_with_token(client: httpx.AsyncClient, email: str, role: Role) -> str:
    await make_user(email, role)
    await sign_in(client, email)
    response = await create_token(client)
    assert response.status_code == 200, response.text
    raw = raw_token(response)
    assert (await client.get("/api/v1/requests", headers=bearer(raw))).status_code == 200
    return raw


async def test_creating_a_token_asks_for_the_password(client: httpx.AsyncClient) -> None:
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    missing = await post_form(client, "/settings/tokens", {"name": "script"})
    assert missing.status_code == 400
    assert 'id="error-password">That is not your current password.' in missing.text
    wrong = await create_token(client, password="not my password")
    assert wrong.status_code == 400
    assert not await PersonalAccessToken.exists()
    assert (await create_token(client)).status_code == 200


async def test_a_password_change_revokes_tokens(client: httpx.AsyncClient) -> None:
    raw = await signed_in_with_token(client, "s@example.org", Role.STAFF)
    data = {
        "action": "password",
        "current_password": PASSWORD,
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
    }
    assert (await post_form(client, "/settings", data)).status_code == 303
    assert (await client.get("/api/v1/requests", headers=bearer(raw))).status_code == 401


async def admin_edit(client: httpx.AsyncClient, user: User, data: dict[str, str]) -> None:
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as a:
        await sign_in(a, "admin@example.org")
        assert (await post_form(a, f"/admin/users/{user.id}", data)).status_code == 303


async def test_a_token_stays_dead_after_deactivation_and_reactivation(
    client: httpx.AsyncClient,
) -> None:
    raw = await signed_in_with_token(client, "s@example.org", Role.STAFF)
    await make_user("admin@example.org", Role.ADMIN)
    user = await User.get(email="s@example.org")
    await admin_edit(client, user, {"role": "staff", "city": ""})
    await admin_edit(client, user, {"role": "staff", "city": "", "is_active": "on"})
    assert (await client.get("/api/v1/requests", headers=bearer(raw))).status_code == 401


async def test_a_role_change_revokes_tokens(client: httpx.AsyncClient) -> None:
    raw = await signed_in_with_token(client, "s@example.org", Role.STAFF)
    await make_user("admin@example.org", Role.ADMIN)
    user = await User.get(email="s@example.org")
    await admin_edit(client, user, {"role": "admin", "city": "", "is_active": "on"})
    assert (await client.get("/api/v1/requests", headers=bearer(raw))).status_code == 401


async def test_tokens_expire_when_their_owner_chose(client: httpx.AsyncClient) -> None:
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    default = await create_token(client, "default")
    chosen = await create_token(client, "monthly", expires_days="30")
    tokens = {t.name: t for t in await PersonalAccessToken.all()}
    assert tokens["default"].expires_at - tokens["default"].created_at == timedelta(days=90)
    assert tokens["monthly"].expires_at - tokens["monthly"].created_at == timedelta(days=30)
    page = await client.get("/settings/tokens")
    assert "Expires" in page.text and "Last used" in page.text and "Created" in page.text
    raw = raw_token(chosen)
    assert (await client.get("/api/v1/requests", headers=bearer(raw))).status_code == 200
    await PersonalAccessToken.filter(name="monthly").update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    expired = await client.get("/api/v1/requests", headers=bearer(raw))
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "invalid_token"
    assert (await client.get("/api/v1/requests", headers=bearer(raw_token(default)))).is_success
    assert "Expired" in (await client.get("/settings/tokens")).text


async def test_a_token_lives_at_most_a_year(client: httpx.AsyncClient) -> None:
    await make_user("s@example.org", Role.STAFF)
    await sign_in(client, "s@example.org")
    for days in ("366", "0", "forever"):
        response = await create_token(client, expires_days=days)
        assert response.status_code == 400
        assert 'id="error-expires_days"' in response.text
    assert (await create_token(client, expires_days="365")).status_code == 200


MIGRATE_WITH_AN_OLD_TOKEN = """
import asyncio, sys
from exchange import db
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

async def main(url):
    await db.init_db(url)
    conn = db.connection()
    executor = MigrationExecutor(conn, db.apps_config())
    await executor.migrate([MigrationTarget("exchange", "0005_outbox_attachments_peer_exchange")])
    await conn.execute_query(
        "INSERT INTO user (id, email, name, role, timezone, locale, is_active, password_hash, "
        "created_at, updated_at) VALUES (1, 'o@example.org', 'O', 'official', 'UTC', 'en', 1, '', "
        "'2026-01-01 10:00:00+00:00', '2026-01-01 10:00:00+00:00')"
    )
    await conn.execute_query(
        "INSERT INTO personal_access_token (user_id, name, token_hash, created_at) "
        "VALUES (1, 'old', 'h', '2026-01-01 10:00:00+00:00')"
    )
    await db.apply_migrations()
    from exchange.models.matching import PersonalAccessToken
    token = await PersonalAccessToken.get(name="old")
    print((token.expires_at - token.created_at).days)
    await db.close_db()

asyncio.run(main(sys.argv[1]))
"""


def test_the_migration_gives_older_tokens_the_default_lifetime(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/old.sqlite3"
    done = subprocess.run(
        [sys.executable, "-c", MIGRATE_WITH_AN_OLD_TOKEN, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["90"]
