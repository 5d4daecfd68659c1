"""Test set-up on a real database: SQLite by default, PostgreSQL when
EXCHANGE_TEST_DATABASE_URL names one. The schema comes from the migrations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from exchange import db
from exchange.app import create_app
from exchange.services import catalogue_cache, taxonomy
from exchange.settings import Settings
from exchange.web import visitor_pages

from browser_support import CHROMIUM, CHROMIUM_FLAGS, failed, keep_open_pages
from support import SMTPServer, free_port, wait_for

if TYPE_CHECKING:
    from playwright.async_api import Browser

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
BASE_URL = "http://exchange.test"


def pytest_report_header() -> str:
    return f"database: {database_url_for_tests('<tmp>')}"


def database_url_for_tests(tmp: str) -> str:
    return os.environ.get("EXCHANGE_TEST_DATABASE_URL") or f"sqlite://{tmp}/test.sqlite3"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return database_url_for_tests(str(tmp_path_factory.mktemp("db")))


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[str]:
    """One migrated database for the whole run; each test starts from empty tables."""
    await db.init_db(database_url)
    try:
        if db.dialect() == "postgres":
            await db.connection().execute_script(
                "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
            )
        await db.apply_migrations()
        yield database_url
    finally:
        await db.close_db()


async def empty_tables() -> None:
    conn = db.connection()
    if db.dialect() == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT LIKE 'tortoise_migrations%'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in rows)
        if names:
            await conn.execute_script(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    else:
        # Only ordinary tables: emptying a full-text index's shadow tables would corrupt it
        # (triggers on the indexed tables keep it in step instead).
        rows = await conn.execute_query_dict(
            "SELECT name FROM pragma_table_list WHERE type = 'table' AND schema = 'main' "
            "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'tortoise_migrations%'"
        )
        await conn.execute_script("PRAGMA foreign_keys = OFF")
        for row in rows:
            await conn.execute_script(f'DELETE FROM "{row["name"]}"')
        await conn.execute_script("PRAGMA foreign_keys = ON")


@pytest.fixture
async def clean_db(database: str) -> AsyncIterator[str]:
    await empty_tables()
    # The catalogue version starts again with the tables: forget what was derived before.
    taxonomy.forget()
    catalogue_cache.clear()
    visitor_pages.forget()
    yield database


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server: SMTPServer) -> Iterator[SMTPServer]:
    smtp_server.box.clear()
    if smtp_server.controller is None:
        smtp_server.start()
    yield smtp_server
    smtp_server.box.clear()
    if smtp_server.controller is None:
        smtp_server.start()


@pytest.fixture
def settings(database_url: str, smtp_server: SMTPServer, tmp_path: Path) -> Settings:
    return Settings(
        env="development",
        database_url=database_url,
        secret_key=TEST_SECRET,
        base_url=BASE_URL,
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_timeout=2.0,
        mail_max_attempts=3,
        mail_dir=tmp_path / "mail",
        run_mail_sender=False,
        var_dir=tmp_path,
    )


@pytest.fixture
async def client(clean_db: str, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, manage_db=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
def production_settings(settings: Settings) -> Settings:
    return replace(settings, env="production")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    """Stash each phase's report on the test, so that fixtures can tell a failure
    (browser_support.failed) and keep what the browser showed."""
    report: pytest.TestReport = yield
    item.__dict__.setdefault("exchange_reports", {})[report.when] = report
    return report


@pytest.fixture
async def server(clean_db: str, settings: Settings) -> AsyncIterator[str]:
    """The app on a real port, with its mail sender running, over an empty database."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(replace(settings, base_url=base_url, run_mail_sender=True), manage_db=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    await wait_for(lambda: uv.started, 10)
    yield base_url
    uv.should_exit = True
    await task


@pytest.fixture
async def browser(request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    """The system's Chromium for one journey. If the journey fails, every page still
    open is kept as a screenshot and its HTML under tests/artifacts/."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        if failed(request):
            await keep_open_pages(chromium, request.node.name)
        await chromium.close()
