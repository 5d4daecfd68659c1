"""Typed-in URLs with odd values get a clean 400/404 (or are ignored), never a 500."""

from __future__ import annotations

import httpx
import pytest

from exchange.models.accounts import Role
from exchange.settings import Settings

from support import PASSWORD, make_user, sign_in

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


DEEP = b"[" * 5000 + b"]" * 5000


async def test_deeply_nested_json_is_refused_by_the_api(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    from exchange.services import tokens

    user = await make_user("s@example.org", Role.STAFF)
    created = await tokens.check_create_token(settings, user, "script", PASSWORD)
    response = await client.post(
        "/api/v1/requests",
        content=b'{"a": ' + DEEP + b"}",
        headers={"Authorization": f"Bearer {created.raw}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


async def test_deeply_nested_json_is_an_import_problem(clean_db: str) -> None:
    import io

    from exchange.services import catalogue

    with pytest.raises(catalogue.CatalogueError) as failure:
        await catalogue.import_catalogue(io.BytesIO(b'{"cities": [' + DEEP + b"]}"))
    assert "nested too deeply" in str(failure.value.problems)


def test_deeply_nested_json_is_a_bad_batch_line() -> None:
    from exchange.cli_match import BadLine, parse_line

    with pytest.raises(BadLine, match="nested too deeply"):
        parse_line('{"id": ' + DEEP.decode() + "}")
