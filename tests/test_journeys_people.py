"""Journeys across people, in a real browser against a real server with its own database
and a real SMTP server: links are read out of the emails received. Two of them also check
the controls that matter through Chromium's accessibility tree (the roles and names an
assistive technology is given). A failing journey leaves screenshots and HTML of every
open page under tests/artifacts/ (the `browser` fixture in conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

from exchange.models.accounts import Role
from exchange.models.circles import Circle
from exchange.services import circle_members, circles
from exchange.services.circles import CircleInput
from exchange.settings import Settings

from browser_support import require_chromium, sign_in
from matching_data import load_catalogue
from support import PASSWORD, SMTPServer, first_link, make_user, text_part, wait_for

require_chromium()

from playwright.async_api import Browser, Page, expect  # noqa: E402

# What Chromium's accessibility tree must hold at the key steps (Playwright's aria snapshot
# templates: a listed node must be there with that role, name and level, in this order;
# nodes not listed may come between; a line with ": " in a name is quoted, as YAML wants).
# Names are what a screen reader announces.
ANSWER_FORM = """
- heading /Lviv asks Manchester for peer support/ [level=1]
- region "Answer the invitation":
  - heading "Answer the invitation" [level=2]
  - group "Your answer":
    - radio /^Accept/
    - radio "Decline"
  - textbox "Reason (optional)"
  - button "Send the answer"
"""
MESSAGES = """
- 'heading "Exchange: Manchester helps Lviv" [level=1]'
- region "Messages":
  - heading "Messages" [level=2]
  - list:
    - listitem:
      - paragraph: /^Mary, Manchester · /
      - paragraph: Hello Lviv, we are glad to help.
    - listitem:
      - paragraph: /^Olena, Lviv · /
      - paragraph: Thank you, Manchester.
  - textbox "Your message"
  - button "Send the message"
"""
LIBRARY_SEARCH = """
- heading "Library" [level=1]
- complementary "Search the library":
  - search "Search the library":
    - searchbox "Search practices and briefs": sirens
    - combobox "Challenge"
    - combobox "Region"
    - button "Search"
- region "Results":
  - region "1 brief found":
    - heading "1 brief found" [level=2]
    - list:
      - listitem:
        - article:
          - heading "What coastal cities learned about floods" [level=3]:
            - link "What coastal cities learned about floods"
  - status:
    - strong: 0 practices found
"""
AGREEMENT = """
- heading "Harbour circle" [level=1]
- region "Confidentiality agreement":
  - heading "Confidentiality agreement" [level=2]
  - paragraph: /What is said in this circle stays in this circle/
  - button "I accept the agreement"
  - button "Decline the invitation"
"""


async def link_mailed_to(mailbox: SMTPServer, address: str, path_part: str) -> str:
    """The link in the latest message to `address` whose link contains `path_part`."""

    def found() -> str | None:
        for message in reversed(mailbox.box.to(address)):
            link = first_link(text_part(message))
            if path_part in link:
                return link
        return None

    await wait_for(lambda: found() is not None, 15)
    link = found()
    assert link is not None
    return link


async def sign_in_at(page: Page, server: str, link: str, email: str) -> None:
    """Follow a mailed link signed out: the sign-in form comes first, then the page."""
    await page.goto(link)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(link)


async def test_an_official_asks_a_peer_city_who_accepts_and_they_talk(
    server: str, browser: Browser, mailbox: SMTPServer
) -> None:
    catalogue = await load_catalogue()
    olena = await browser.new_page()
    await sign_in(olena, server, catalogue.lviv.email)
    await olena.get_by_role("link", name="Ask for peer cities").first.click()
    await olena.get_by_label("Post-attack recovery").check()
    await olena.get_by_label("What does your city face?").fill(
        "Rebuilding trust after an attack on the market square"
    )
    await olena.get_by_role("button", name="File the request").click()
    invite = olena.get_by_role("button", name="Invite Manchester")
    await expect(invite).to_be_visible()
    await expect(olena.get_by_role("heading", level=2, name="Candidates")).to_be_visible()
    await invite.click()
    await expect(olena.get_by_role("status")).to_be_visible()
    invited = olena.get_by_role("region", name="Invitations").get_by_role("row")
    await expect(invited.filter(has_text="Manchester")).to_contain_text("Waiting for an answer")

    link = await link_mailed_to(mailbox, catalogue.manchester.email, "/peer-invitations/")
    assert link.startswith(server)
    mary = await (await browser.new_context()).new_page()
    await sign_in_at(mary, server, link, catalogue.manchester.email)
    await expect(mary.get_by_role("heading", level=1)).to_contain_text("Lviv asks Manchester")
    answer = mary.get_by_role("group", name="Your answer")
    await expect(mary.locator("main")).to_match_aria_snapshot(ANSWER_FORM)
    await answer.get_by_role("radio", name=re.compile("^Accept")).check()
    await mary.get_by_role("button", name="Send the answer").click()
    await mary.get_by_role("link", name="Go to the exchange").click()
    await expect(mary.get_by_role("heading", level=1)).to_have_text(
        "Exchange: Manchester helps Lviv"
    )
    await mary.get_by_label("Your message").fill("Hello Lviv, we are glad to help.")
    await mary.get_by_role("button", name="Send the message").click()
    await expect(mary.get_by_text("Hello Lviv, we are glad to help.")).to_be_visible()

    await olena.reload()
    await olena.get_by_role("link", name="See the exchange").click()
    await expect(olena.get_by_role("heading", level=1)).to_have_text(
        "Exchange: Manchester helps Lviv"
    )
    await expect(olena.get_by_text("Hello Lviv, we are glad to help.")).to_be_visible()
    await olena.get_by_label("Your message").fill("Thank you, Manchester.")
    await olena.get_by_role("button", name="Send the message").click()
    await expect(olena.get_by_text("Thank you, Manchester.")).to_be_visible()
    await mary.reload()
    await expect(mary.get_by_text("Thank you, Manchester.")).to_be_visible()
    await expect(olena.locator("main")).to_match_aria_snapshot(MESSAGES)


async def test_staff_publish_a_brief_that_a_visitor_finds_and_downloads(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    await make_user("staff@example.org", Role.STAFF, name="Sam Staff")
    staff = await browser.new_page()
    await sign_in(staff, server, "staff@example.org")
    await staff.goto(f"{server}/briefs")
    await staff.get_by_role("link", name="Write a brief").click()
    await staff.get_by_label("Title").fill("What coastal cities learned about floods")
    await staff.get_by_label("Summary").fill("Sandbags, sirens and neighbours who knock.")
    await staff.get_by_label("Who may read it").select_option("public")
    await staff.get_by_role("button", name="Save the draft").click()
    await staff.get_by_role("button", name="Publish a new version").click()
    await expect(staff.get_by_role("status")).to_be_visible()

    visitor = await (await browser.new_context(accept_downloads=True)).new_page()
    await visitor.goto(f"{server}/")
    await visitor.get_by_role("navigation", name="Main").get_by_role("link", name="Library").click()
    search = visitor.get_by_role("search")
    await search.get_by_role("searchbox", name="Search practices and briefs").fill("sirens")
    await search.get_by_role("button", name="Search").click()
    await expect(visitor.locator("main")).to_match_aria_snapshot(LIBRARY_SEARCH)
    await visitor.get_by_role("link", name="What coastal cities learned about floods").click()
    async with visitor.expect_download() as waiting:
        await visitor.get_by_role("link", name="Download as Markdown").click()
    download = await waiting.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.suffix == ".md"
    markdown = saved.read_text()
    assert "# What coastal cities learned about floods" in markdown
    assert "Sandbags, sirens and neighbours who knock." in markdown


async def test_a_facilitator_invites_an_official_who_agrees_and_posts(
    server: str, browser: Browser, mailbox: SMTPServer, settings: Settings
) -> None:
    staff = await make_user("sam@network.example", Role.STAFF, name="Sam Staff")
    admin = await make_user("ada@network.example", Role.ADMIN, name="Ada Admin")
    fay = await make_user("fay@nice.example", name="Fay", timezone="Europe/Paris")
    await make_user("mo@lviv.example", name="Mo", timezone="Europe/Kyiv")
    made = await circles.check_create_circle(
        settings,
        staff,
        CircleInput(name="Harbour circle", purpose="Mayors after an attack", facilitator=fay.email),
    )
    await circle_members.check_join(settings, fay, made.id, 1)
    circle = await Circle.get(id=made.id)

    facilitator = await browser.new_page()
    await sign_in(facilitator, server, fay.email)
    await facilitator.goto(f"{server}/circles/{circle.id}")
    await facilitator.get_by_role("link", name="Members").click()
    await facilitator.get_by_label("Email address").fill("mo@lviv.example")
    await facilitator.get_by_role("button", name="Invite", exact=True).click()
    await expect(facilitator.get_by_role("status")).to_contain_text("The invitation is sent")

    link = await link_mailed_to(mailbox, "mo@lviv.example", f"/circles/{circle.id}")
    assert link.startswith(server)
    mo = await (await browser.new_context()).new_page()
    await sign_in_at(mo, server, link, "mo@lviv.example")
    await expect(mo.locator("main")).to_match_aria_snapshot(AGREEMENT)
    await mo.get_by_role("button", name="I accept the agreement").click()
    await expect(mo.get_by_role("status")).to_contain_text("Welcome to the circle")
    await mo.get_by_role("link", name="Start a thread").click()
    await mo.get_by_label("Title").fill("Sleeping again")
    await mo.get_by_label("Your post").fill("It took me three months.")
    await mo.get_by_role("button", name="Post").click()
    await expect(mo.get_by_role("heading", name="Sleeping again")).to_be_visible()
    await expect(mo.get_by_text("It took me three months.")).to_be_visible()

    await facilitator.goto(f"{server}/circles/{circle.id}")
    await expect(facilitator.get_by_role("link", name="Sleeping again")).to_be_visible()

    outsider = await (await browser.new_context()).new_page()
    await sign_in(outsider, server, admin.email)
    response = await outsider.goto(f"{server}/circles/{circle.id}")
    assert response is not None and response.status == 404
    response = await outsider.goto(f"{server}/circles/{circle.id}/threads/1")
    assert response is not None and response.status == 404
