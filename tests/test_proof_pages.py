"""Proof as a user sees it: every main page, signed out and as each role, in English and
French, at 1280 px and 320 px, through axe-core in a real browser (no serious or critical
WCAG 2.2 AA violation, nothing scrolling sideways) and through the Nu HTML checker. In
Spanish, German and Ukrainian, whose words run longer, every page is checked at 320 px for
sideways scrolling and its `lang` only, to keep the run short.

One server, one browser and one world serve the whole module. axe-core and vnu-jar come
from tests/js (`npm ci` there; `make test` does it). Only the test browser context
bypasses the Content-Security-Policy, to inject axe; the app's policy is unchanged.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import TEST_SECRET, empty_tables

from exchange.app import create_app
from exchange.models.accounts import User
from exchange.settings import Settings

from browser_support import CHROMIUM, CHROMIUM_FLAGS, failed, keep_artifacts, keep_open_pages
from proof_world import build_world
from support import PASSWORD, SMTPServer, free_port, post_form, wait_for

TESTS = Path(__file__).parent
NODE_MODULES = TESTS / "js" / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = shutil.which("java")

_missing = [
    what
    for what, there in (
        ("Chromium (apt-get install chromium)", CHROMIUM),
        ("axe-core (npm ci --prefix tests/js)", AXE.exists()),
        ("vnu-jar (npm ci --prefix tests/js)", VNU.exists()),
        ("Java 17 for the Nu HTML checker", JAVA),
    )
    if not there
]
if _missing:
    if os.environ.get("EXCHANGE_REQUIRE_BROWSER"):
        raise RuntimeError(f"the page checks need: {', '.join(_missing)}")
    pytest.skip(f"missing: {', '.join(_missing)}", allow_module_level=True)

from playwright.async_api import Browser, BrowserContext, Page, async_playwright  # noqa: E402

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LOCALES = ("en", "fr")
LONGER_LOCALES = ("es", "de", "uk")  # checked at 320 px for fit and lang only
WIDTHS = (1280, 320)
ROLES = ("anonymous", "official", "staff", "admin")
EVERYONE = frozenset(ROLES)
MEMBERS = frozenset(("official", "staff", "admin"))
STAFF = frozenset(("staff", "admin"))
OFFICIAL = frozenset(("official",))
# Forms that staff and admins see alike, walked as staff only to keep the run short.
EDITORS = frozenset(("staff",))


@dataclass(frozen=True)
class Screen:
    name: str
    path: str  # with {placeholders} filled from the world's values
    roles: frozenset[str]
    submit_empty: bool = False  # post the page's main form empty, to show its errors
    shows: str = ""  # English text proving the page is in the state meant to be checked


SCREENS = (
    Screen("home", "/", EVERYONE),
    Screen("sign-in", "/login", frozenset(("anonymous",))),
    Screen("directory", "/cities", EVERYONE),
    Screen("city", "/cities/lviv-ua", EVERYONE),
    Screen("practice", "/practices/{practice}", EVERYONE),
    Screen("challenge", "/challenges/post-attack-recovery", EVERYONE),
    Screen("library search", "/library?q=recovery", EVERYONE),
    Screen("request form", "/requests/new", frozenset(("official", "staff"))),
    Screen("request form with errors", "/requests/new", frozenset(("official",)), True),
    Screen("request with candidates", "/requests/{fresh_request}", frozenset(("official",))),
    Screen("request", "/requests/{request}", MEMBERS),
    Screen("requests", "/requests", MEMBERS),
    Screen("peer invitation", "/peer-invitations/{invitation}", MEMBERS),
    Screen("peer invitations", "/peer-invitations", MEMBERS),
    Screen("exchange", "/exchanges/{exchange}", MEMBERS),
    Screen("brokering", "/brokering", STAFF),
    Screen("brokering report", "/brokering/report", STAFF),
    Screen("admin users", "/admin/users", frozenset(("admin",))),
    Screen("admin user", "/admin/users/{official_id}", frozenset(("admin",))),
    Screen("admin audit", "/admin/audit", frozenset(("admin",))),
    Screen("admin mail", "/admin/mail", frozenset(("admin",))),
    Screen("invite someone", "/invitations/new", STAFF),
    Screen("settings", "/settings", MEMBERS),
    Screen("tokens", "/settings/tokens", MEMBERS),
    Screen("dialogues", "/dialogues", EVERYONE),
    Screen("dialogue", "/dialogues/{dialogue}", MEMBERS),
    Screen("organiser console", "/dialogues/{dialogue}/organise", STAFF),
    Screen("guest invitation link", "/dialogues/invitation/{guest_token}", EVERYONE),
    Screen("briefs", "/briefs", EVERYONE),
    Screen("brief", "/briefs/{brief}", EVERYONE),
    Screen("brief diff", "/briefs/{brief}/diff?from=1&to=2", EVERYONE),
    Screen("findings", "/dialogues/{dialogue}/findings", STAFF),
    Screen("challenges", "/challenges", EVERYONE),
    Screen("notices", "/notices", MEMBERS),
    Screen("import", "/import", EDITORS),
    Screen("convene a dialogue", "/dialogues/new", EDITORS),
    Screen("edit a dialogue", "/dialogues/{dialogue}/edit", EDITORS),
    Screen("poll", "/dialogues/invitation/{poll_token}", EVERYONE, shows="Which times suit you?"),
    Screen(
        "organiser console with a poll",
        "/dialogues/{poll_dialogue}/organise",
        EDITORS,
        shows="Poll answers",
    ),
    Screen(
        "slot finder",
        "/dialogues/{poll_dialogue}/organise?from=2030-03-04&to=2030-03-06&duration=60",
        EDITORS,
        shows="inside working hours for",
    ),
    Screen("new brief", "/briefs/new", EDITORS),
    Screen("edit a brief", "/briefs/{brief}/edit", EDITORS),
    Screen("brief for print", "/briefs/{brief}/print", EVERYONE),
    Screen("circles", "/circles", MEMBERS),
    Screen("new circle", "/circles/new", EDITORS),
    Screen("new circle with errors", "/circles/new", EDITORS, True),
    Screen("circle home", "/circles/{circle}", OFFICIAL, shows="How do we rest?"),
    Screen(
        "circle agreement", "/circles/{invited_circle}", OFFICIAL, shows="I accept the agreement"
    ),
    Screen(
        "listed circle",
        "/circles/{listed_circle}",
        frozenset(("official", "staff")),
        shows="Ask to join",
    ),
    Screen("circle members", "/circles/{circle}/members", OFFICIAL),
    Screen("facilitator console", "/circles/{circle}/settings", OFFICIAL),
    Screen("new thread", "/circles/{circle}/threads/new", OFFICIAL),
    Screen("thread", "/circles/{circle}/threads/{thread}", OFFICIAL, shows="Walking helped me."),
    Screen("edit a post", "/circles/{circle}/posts/{post}/edit", OFFICIAL),
    Screen("check-in", "/circles/{circle}/checkins", OFFICIAL),
    Screen("check-in with errors", "/circles/{circle}/checkins", OFFICIAL, True),
    Screen("check-in summary", "/circles/{circle}/checkins/summary", OFFICIAL),
    Screen(
        "meetings with times",
        "/circles/{circle}/meetings?from=2030-02-04&to=2030-02-06&duration=60",
        OFFICIAL,
        shows="inside working hours for",
    ),
    Screen("admin circles", "/admin/circles", frozenset(("admin",))),
)


@dataclass
class World:
    base_url: str
    emails: dict[str, str]
    values: dict[str, str]

    def url(self, screen: Screen) -> str:
        return self.base_url + screen.path.format(**self.values)


@pytest.fixture(scope="module")
def module_settings(
    database_url: str, smtp_server: SMTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    tmp = tmp_path_factory.mktemp("proof")
    return Settings(
        env="development",
        database_url=database_url,
        secret_key=TEST_SECRET,
        base_url="http://127.0.0.1",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server.port,
        smtp_timeout=2.0,
        mail_max_attempts=3,
        mail_dir=tmp / "mail",
        run_mail_sender=False,
        var_dir=tmp,
    )


@pytest.fixture(scope="module")
async def world(database: str, module_settings: Settings) -> AsyncIterator[World]:
    """The app on a real port over one world built once for the module."""
    await empty_tables()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = replace(module_settings, base_url=base_url)
    emails, values = await build_world(settings)
    app = create_app(settings, manage_db=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: server.started, 10)
    yield World(base_url, emails, values)
    server.should_exit = True
    await task
    await empty_tables()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        await chromium.close()


@pytest.fixture(autouse=True)
async def keep_pages_of_a_failed_test(
    request: pytest.FixtureRequest, browser: Browser
) -> AsyncIterator[None]:
    """A failing keyboard journey leaves its screenshot and HTML in tests/artifacts/."""
    yield
    if failed(request):
        await keep_open_pages(browser, request.node.name)


async def set_locale(locale: str) -> None:
    await User.all().update(locale=locale)


async def signed_in_context(
    browser: Browser, world: World, role: str, locale: str, width: int
) -> BrowserContext:
    context = await browser.new_context(
        bypass_csp=True,  # to inject axe-core; the app keeps its policy
        viewport={"width": width, "height": 800},
        locale=locale,
        extra_http_headers={"Accept-Language": locale},
    )
    if role != "anonymous":
        page = await context.new_page()
        await page.goto(f"{world.base_url}/login")
        await page.locator("main input[name=email]").fill(world.emails[role])
        await page.locator("main input[name=password]").fill(PASSWORD)
        await page.locator("main input[name=password]").press("Enter")
        await page.wait_for_url(f"{world.base_url}/")
        await page.close()
    return context


async def open_screen(page: Page, world: World, screen: Screen) -> None:
    response = await page.goto(world.url(screen))
    assert response is not None and response.status == 200, (screen.name, response)
    if screen.submit_empty:
        async with page.expect_navigation():
            # form.submit() skips the browser's own checks, as an old browser would.
            await page.evaluate("document.querySelector('main form[method=post]').submit()")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        AXE_TAGS,
    )
    assert result["passes"], "axe-core ran no rule"
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "where": [n["target"] for n in v["nodes"]][:5],
            "html": [n["html"][:160] for n in v["nodes"]][:3],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("role", ROLES)
async def test_pages_pass_axe_and_fit_the_screen(
    world: World, browser: Browser, role: str, locale: str, width: int
) -> None:
    await set_locale(locale)
    context = await signed_in_context(browser, world, role, locale, width)
    page = await context.new_page()
    problems: dict[str, Any] = {}
    try:
        for screen in SCREENS:
            if role not in screen.roles:
                continue
            await open_screen(page, world, screen)
            lang = await page.evaluate("document.documentElement.lang")
            if lang != locale:
                problems[screen.name] = f"lang is {lang!r}"
            scroll, client = await page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            found = await axe_violations(page)
            if scroll > client:
                found.append({"rule": "scrolls sideways", "scrollWidth": scroll})
            if found:
                problems[screen.name] = found
                keep_artifacts(
                    f"axe-{role}-{locale}-{width}-{screen.name}",
                    await page.content(),
                    await page.screenshot(full_page=True),
                )
    finally:
        await context.close()
        await set_locale("en")
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


WIDER_THAN_THE_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter((el) => el.checkVisibility() && el.getBoundingClientRect().right > width + 0.5)
    .filter((el) => [...el.children].every((c) => c.getBoundingClientRect().right <= width + 0.5))
    .slice(0, 6)
    .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
      + ' ' + (el.textContent || '').trim().slice(0, 40));
}"""


@pytest.mark.parametrize("locale", LONGER_LOCALES)
@pytest.mark.parametrize("role", ROLES)
async def test_pages_fit_a_narrow_screen_in_longer_languages(
    world: World, browser: Browser, role: str, locale: str
) -> None:
    await set_locale(locale)
    context = await signed_in_context(browser, world, role, locale, 320)
    page = await context.new_page()
    problems: dict[str, Any] = {}
    try:
        for screen in SCREENS:
            if role not in screen.roles:
                continue
            await open_screen(page, world, screen)
            lang = await page.evaluate("document.documentElement.lang")
            scroll, client = await page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            found: list[Any] = [] if lang == locale else [f"lang is {lang!r}"]
            if scroll > client:
                found.append(
                    {"scrollWidth": scroll, "wide": await page.evaluate(WIDER_THAN_THE_SCREEN)}
                )
            if found:
                problems[screen.name] = found
                keep_artifacts(
                    f"fit-{role}-{locale}-{screen.name}",
                    await page.content(),
                    await page.screenshot(full_page=True),
                )
    finally:
        await context.close()
        await set_locale("en")
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


async def page_sources(world: World, role: str, locale: str) -> dict[str, str]:
    """The HTML the server sends for each screen, as the role sees it."""
    sources: dict[str, str] = {}
    async with httpx.AsyncClient(
        base_url=world.base_url, headers={"Accept-Language": locale}, timeout=30
    ) as client:
        if role != "anonymous":
            response = await post_form(
                client, "/login", {"email": world.emails[role], "password": PASSWORD}
            )
            assert response.status_code == 303
        for screen in SCREENS:
            if role not in screen.roles:
                continue
            url = world.url(screen)
            if screen.submit_empty:
                response = await post_form(client, url, {})
                assert response.status_code in (200, 400), (screen.name, response.status_code)
            else:
                response = await client.get(url)
                assert response.status_code == 200, (screen.name, response.status_code)
            if locale == "en":
                assert screen.shows in response.text, (screen.name, role, screen.shows)
            sources[screen.name] = response.text
    return sources


async def test_pages_are_valid_html(world: World, tmp_path: Path) -> None:
    files: dict[str, str] = {}
    for locale in LOCALES:
        await set_locale(locale)
        try:
            for role in ROLES:
                for name, html in (await page_sources(world, role, locale)).items():
                    path = tmp_path / f"{role}-{locale}-{name.replace(' ', '-')}.html"
                    path.write_text(html)
                    files[str(path)] = f"{name} ({role}, {locale})"
        finally:
            await set_locale("en")
    assert JAVA is not None
    run = await asyncio.to_thread(
        subprocess.run,
        [JAVA, "-jar", str(VNU), "--format", "json", "--stdout", *sorted(files)],
        capture_output=True,
        text=True,
        check=False,
    )
    messages = json.loads(run.stdout or run.stderr)["messages"]
    errors = [
        f"{files.get(m.get('url', '').removeprefix('file:'), m.get('url'))}"
        f" line {m.get('lastLine')}: {m['message']} [{m.get('extract', '').strip()[:120]}]"
        for m in messages
        if m["type"] == "error" or m.get("subType") == "fatal"
    ]
    assert not errors, "\n".join(errors)


FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(),
    name: el.getAttribute('name') || '',
    href: el.getAttribute('href') || '',
    text: (el.textContent || '').trim().slice(0, 60),
    ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
      || style.boxShadow !== 'none'
      || style.backgroundColor === 'rgb(255, 191, 71)',  // --color-focus
    onscreen: box.width > 0 && box.height > 0,
  };
}"""


async def tab_to(page: Page, wanted: Any, limit: int = 80) -> dict[str, Any]:
    """Presses Tab until `wanted(focused)`; every stop on the way must show where focus is."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused: dict[str, Any] = await page.evaluate(FOCUSED)
        assert focused["ring"] and focused["onscreen"], f"focus cannot be seen on {focused}"
        if wanted(focused):
            return focused
    raise AssertionError("never reached by the keyboard")


async def test_a_visitor_finds_a_brief_in_the_library_by_keyboard(
    world: World, browser: Browser
) -> None:
    context = await signed_in_context(browser, world, "anonymous", "en", 1280)
    page = await context.new_page()
    await page.goto(f"{world.base_url}/library")
    first = await tab_to(page, lambda f: True)
    assert first["text"] == "Skip to content"
    await page.keyboard.press("Enter")
    await tab_to(page, lambda f: f["name"] == "q")
    await page.keyboard.type("recovery")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    brief = f"/briefs/{world.values['brief']}"
    await tab_to(page, lambda f: f["href"] == brief)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith(brief)
    await tab_to(page, lambda f: f["href"].endswith(".md"))
    await context.close()


async def test_staff_reach_a_dialogue_through_the_narrow_menu_by_keyboard(
    world: World, browser: Browser
) -> None:
    context = await signed_in_context(browser, world, "staff", "en", 320)
    page = await context.new_page()
    await page.goto(f"{world.base_url}/")
    await tab_to(page, lambda f: f["tag"] == "summary")
    await page.keyboard.press("Enter")
    await tab_to(page, lambda f: f["href"] == "/dialogues")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    dialogue = f"/dialogues/{world.values['dialogue']}"
    await tab_to(page, lambda f: f["href"] == dialogue)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url.endswith(dialogue)
    await context.close()
