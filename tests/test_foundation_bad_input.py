"""Typed-in URLs with odd values get a clean 400/404 (or are ignored), never a 500."""

from __future__ import annotations

import httpx
import pytest

from exchange.models.accounts import Role

from support import make_user, sign_in

HUGE = "99999999999999999999"
LONG = "x" * 90

NOT_FOUND = [
    f"/cities/{LONG}",
    f"/challenges/{LONG}",
    f"/practices/{HUGE}",
    f"/requests/{HUGE}",
    f"/exchanges/{HUGE}",
    f"/peer-invitations/{HUGE}",
    f"/admin/users/{HUGE}",
    f"/api/v1/requests/{HUGE}",
    f"/api/v1/invitations/{HUGE}",
]
IGNORED = [
    "/cities?region=mars",
    "/cities?country=AAA",
    "/cities?language=abc",
    f"/cities?challenge={LONG}",
    "/cities?sort=zzz&page=abc",
    f"/admin/audit?user={HUGE}",
    "/library?q=%00&region=mars&challenge=zz",
    "/requests?status=zzz",
    "/brokering?page=-1",
]


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await make_user("admin@example.org", Role.ADMIN)
    await sign_in(client, "admin@example.org")
    return client


@pytest.mark.parametrize("path", NOT_FOUND)
async def test_impossible_ids_and_keys_are_not_found(admin: httpx.AsyncClient, path: str) -> None:
    assert (await admin.get(path)).status_code == 404


@pytest.mark.parametrize("path", IGNORED)
async def test_impossible_filters_are_ignored(admin: httpx.AsyncClient, path: str) -> None:
    assert (await admin.get(path)).status_code == 200
