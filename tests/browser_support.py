"""What the tests in a real browser share: the system's Chromium and how it is started,
a real server for the app, signing in, and keeping what the browser showed when a test
fails (a full-page screenshot and the page's HTML under tests/artifacts/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from support import PASSWORD

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip the calling module without Chromium, unless CI requires the browser."""
    if CHROMIUM is None:
        if os.environ.get("EXCHANGE_REQUIRE_BROWSER"):
            raise RuntimeError("Chromium is required for the browser tests but is not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)


def artifact_stem(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / "".join(c if c.isalnum() else "-" for c in name)


def keep_artifacts(name: str, html: str, screenshot: bytes) -> Path:
    stem = artifact_stem(name)
    stem.with_suffix(".html").write_text(html)
    stem.with_suffix(".png").write_bytes(screenshot)
    return stem


def failed(request: pytest.FixtureRequest) -> bool:
    """Whether the test that `request` serves failed in its set-up or its body (the
    reports are stashed by the hook in conftest.py)."""
    reports: dict[str, pytest.TestReport] = getattr(request.node, "exchange_reports", {})
    return any(report.failed for report in reports.values())


async def keep_open_pages(browser: Browser, test_name: str) -> list[Path]:
    """A screenshot and the HTML of every page still open in `browser`: after a failure,
    what each person in the journey was looking at."""
    kept = []
    for c, context in enumerate(browser.contexts):
        for p, page in enumerate(context.pages):
            if page.is_closed():
                continue
            try:
                html = await page.content()
                shot = await page.screenshot(full_page=True)
            except Exception as exc:  # a broken page must not hide the failure
                html, shot = f"<!-- could not be read: {exc} -->", b""
            kept.append(keep_artifacts(f"{test_name}-{c}-{p}", html, shot))
    return kept


async def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_label("Password").press("Enter")
    await page.wait_for_url(f"{base_url}/")
