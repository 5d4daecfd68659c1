"""Proof as a user sees it: every main page, signed out and as each role, in English and
French, at 1280 px and 320 px, through axe-core in a real browser (no serious or critical
WCAG 2.2 AA violation, nothing scrolling sideways) and through the Nu HTML checker.

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
from exchange.models.accounts import Role, User
from exchange.models.cities import Practice, PracticeStatus
from exchange.models.dialogues import Invitee
from exchange.models.matching import PeerExchange
from exchange.services import (
    briefs,
    dialogue_mail,
    dialogues,
    findings,
    match_requests,
    peer_invitations,
    rsvp,
)
from exchange.services.dialogues import DialogueInput
from exchange.services.match_requests import RequestInput
from exchange.settings import Settings

from matching_data import load_catalogue
from support import PASSWORD, SMTPServer, free_port, make_user, post_form, wait_for

TESTS = Path(__file__).parent
NODE_MODULES = TESTS / "js" / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
JAVA = shutil.which("java")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

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
WIDTHS = (1280, 320)
ROLES = ("anonymous", "official", "staff", "admin")
EVERYONE = frozenset(ROLES)
MEMBERS = frozenset(("official", "staff", "admin"))
STAFF = frozenset(("staff", "admin"))


@dataclass(frozen=True)
class Screen:
    name: str
    path: str  # with {placeholders} filled from the world's values
    roles: frozenset[str]
    submit_empty: bool = False  # post the page's main form empty, to show its errors


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
)


@dataclass
class World:
    base_url: str
    emails: dict[str, str]
    values: dict[str, str]

    def url(self, screen: Screen) -> str:
        return self.base_url + screen.path.format(**self.values)


async def build_world(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """Requests, invitations, an exchange, a dialogue with a guest, findings and a brief
    with two published versions."""
    catalogue = await load_catalogue()
    admin = await make_user("ada@network.example", Role.ADMIN, name="Ada")
    staff = catalogue.staff
    request = await match_requests.check_file_request(
        catalogue.lviv,
        RequestInput(
            city_key="lviv-ua",
            challenges=["post-attack-recovery"],
            description="Recovery after an attack on the city centre",
            peers_wanted=2,
        ),
    )
    invitation = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, request.id, "nice-fr"
    )
    accepted = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, request.id, "manchester-gb"
    )
    await peer_invitations.check_answer(settings, catalogue.manchester, accepted.id, True)
    exchange = await PeerExchange.get(invitation_id=accepted.id)
    fresh = await match_requests.check_file_request(
        catalogue.lviv,
        RequestInput(
            city_key="lviv-ua",
            challenges=["mental-health-trauma"],
            description="Trauma support for first responders",
            peers_wanted=1,
        ),
    )
    practice = await Practice.filter(status=PracticeStatus.PUBLISHED).first()
    assert practice is not None
    dialogue = await dialogues.check_create_dialogue(
        settings,
        staff,
        DialogueInput(
            title="A two-city call",
            start="2030-01-10T14:00:00+00:00",
            end="2030-01-10T15:00:00+00:00",
            visibility="invited",
        ),
    )
    await rsvp.check_invite_people(
        settings, staff, dialogue.id, [catalogue.lviv.email, "guest@example.org"]
    )
    guest = await Invitee.get(dialogue_id=dialogue.id, email="guest@example.org")
    finding = await findings.check_record_finding(
        staff, dialogue.id, findings.FindingInput(title="Vigils rebuild trust")
    )
    brief_input = briefs.BriefInput(
        title="Ten findings on recovery",
        summary="Cities met in June to talk.",
        visibility="public",
        findings=[finding.finding.id],
        challenges=["post-attack-recovery"],
    )
    brief = await briefs.check_create_brief(staff, brief_input)
    await briefs.check_publish(settings, staff, brief.id)
    later = replace(brief_input, summary="Cities met in July to talk openly.")
    await briefs.check_update_brief(staff, brief.id, later)
    await briefs.check_publish(settings, staff, brief.id)
    emails = {"official": catalogue.lviv.email, "staff": staff.email, "admin": admin.email}
    values = {
        "practice": str(practice.id),
        "request": str(request.id),
        "fresh_request": str(fresh.id),
        "invitation": str(invitation.id),
        "exchange": str(exchange.id),
        "official_id": str(catalogue.lviv.id),
        "dialogue": str(dialogue.id),
        "guest_token": dialogue_mail.invitee_token(settings, guest),
        "brief": str(brief.id),
    }
    return emails, values


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


def keep_artifacts(name: str, html: str, screenshot: bytes) -> Path:
    folder = TESTS / "artifacts"
    folder.mkdir(exist_ok=True)
    stem = "".join(c if c.isalnum() else "-" for c in name)
    (folder / f"{stem}.html").write_text(html)
    (folder / f"{stem}.png").write_bytes(screenshot)
    return folder / stem


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
