"""Pages and lookups kept for signed-in readers: kept for each reader alone, served without
a statement of their own, and given up on the next request after any write, whether this worker
made it or another process did."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3

import asyncpg
import httpx
import pytest
from tortoise.transactions import in_transaction

from exchange import db
from exchange.models.accounts import Role, User
from exchange.models.dialogues import Dialogue
from exchange.services import dialogues, rsvp
from exchange.services.cities import load_shipped_taxonomy
from exchange.services.dialogues import DialogueInput
from exchange.settings import Settings

from support import make_user, sign_in

START = "2031-03-20T14:00:00+00:00"
END = "2031-03-20T15:30:00+00:00"


@pytest.fixture
async def invited_only(client: httpx.AsyncClient, settings: Settings) -> Dialogue:
    """A dialogue only Tom is invited to; Ola, another official, may not see it."""
    await load_shipped_taxonomy()
    staff = await make_user("sam@network.example", Role.STAFF, name="Sam Staff")
    await make_user("tom@toronto.example", name="Tom")
    await make_user("ola@oslo.example", name="Ola")
    dialogue = await dialogues.check_create_dialogue(
        settings, staff, DialogueInput(title="Closed circle of two", start=START, end=END)
    )
    await rsvp.check_invite_people(settings, staff, dialogue.id, ["tom@toronto.example"])
    return dialogue


async def write_from_another_process(database_url: str, statement: str) -> None:
    """Run `statement` through a connection of its own, as another worker or a command
    would: this worker learns of it only through the database."""
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite://")

        def run() -> None:
            with contextlib.closing(sqlite3.connect(path)) as connection:
                connection.execute(statement)
                connection.commit()

        await asyncio.to_thread(run)
    else:
        connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://"))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def without_token(html: str) -> str:
    return re.sub(r'name="csrf[-_]token" (content|value)="[^"]*"', "", html)


async def statements_for(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, url: str
) -> tuple[int, httpx.Response]:
    caplog.clear()
    response = await client.get(url)
    counts = [r.db_statements for r in caplog.records if hasattr(r, "db_statements")]
    assert len(counts) == 1, counts
    return int(counts[0]), response


async def test_a_page_read_again_costs_no_statement_of_its_own(
    client: httpx.AsyncClient, invited_only: Dialogue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exchange.access")
    await sign_in(client, "tom@toronto.example")
    for url in ["/dialogues", f"/dialogues/{invited_only.id}", "/", "/cities"]:
        first_cost, first = await statements_for(client, caplog, url)
        again_cost, again = await statements_for(client, caplog, url)
        assert first.status_code == again.status_code == 200, url
        assert without_token(first.text) == without_token(again.text), url
        # Only the committed state is read, outside the request's own statements (on
        # SQLite by a connection of its own; on PostgreSQL by a read shared with the
        # requests waiting): the session, the unread count and the page are those read
        # under it the first time.
        assert again_cost == 0 < first_cost, (url, first_cost, again_cost)


async def test_a_kept_page_is_never_served_to_another_reader(
    client: httpx.AsyncClient, invited_only: Dialogue
) -> None:
    await sign_in(client, "tom@toronto.example")
    for _ in range(2):
        assert (await client.get(f"/dialogues/{invited_only.id}")).status_code == 200
        assert "Closed circle of two" in (await client.get("/dialogues")).text
    client.cookies.clear()
    await sign_in(client, "ola@oslo.example")
    assert (await client.get(f"/dialogues/{invited_only.id}")).status_code == 404
    assert "Closed circle of two" not in (await client.get("/dialogues")).text


async def test_a_change_by_another_process_shows_on_the_next_request(
    client: httpx.AsyncClient, invited_only: Dialogue, database_url: str
) -> None:
    await sign_in(client, "tom@toronto.example")
    url = f"/dialogues/{invited_only.id}"
    for _ in range(2):
        assert "Closed circle of two" in (await client.get(url)).text
    await write_from_another_process(
        database_url,
        f"UPDATE dialogue SET title = 'Renamed elsewhere' WHERE id = {invited_only.id}",
    )
    page = await client.get(url)
    assert "Renamed elsewhere" in page.text and "Closed circle of two" not in page.text


async def test_a_session_ended_by_another_process_signs_the_reader_out_at_once(
    client: httpx.AsyncClient, invited_only: Dialogue, database_url: str
) -> None:
    await sign_in(client, "tom@toronto.example")
    url = f"/dialogues/{invited_only.id}"
    for _ in range(2):
        assert (await client.get(url)).status_code == 200
    tom = await User.get(email="tom@toronto.example")
    await write_from_another_process(
        database_url, f"DELETE FROM user_session WHERE user_id = {tom.id}"
    )
    assert (await client.get(url)).status_code == 404
    assert (await client.get("/circles")).status_code in (302, 303)


async def test_any_write_moves_the_committed_state(client: httpx.AsyncClient) -> None:
    before = await db.committed_state()
    assert before is not None and before == await db.committed_state()
    await make_user("new@example.org")
    after = await db.committed_state()
    assert after is not None and after != before
    # Inside a transaction what is read may yet be rolled back: nothing is kept.
    async with in_transaction():
        assert await db.committed_state() is None
