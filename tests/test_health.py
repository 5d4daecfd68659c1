from __future__ import annotations

import httpx


async def test_healthz_answers_ok_after_a_database_round_trip(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_home_page_says_what_exchange_is(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "Cities learning from cities" in response.text
    assert 'lang="en"' in response.text
