"""User journeys in a real browser (Chromium driven by Playwright) against a real server
(the `server` and `browser` fixtures in conftest.py; a failing journey leaves screenshots
and HTML under tests/artifacts/)."""

from __future__ import annotations

from datetime import UTC, date, timedelta

from exchange.models.accounts import Role
from exchange.models.cities import City, Region

from browser_support import require_chromium, sign_in
from matching_data import load_catalogue
from support import PASSWORD, SMTPServer, first_link, make_user, text_part, wait_for

require_chromium()

from playwright.async_api import Browser, expect  # noqa: E402


async def test_staff_invites_an_official_who_joins(
    server: str, browser: Browser, mailbox: SMTPServer
) -> None:
    await City.create(key="lviv-ua", name="Lviv", country="UA", region=Region.EUROPE)
    await make_user("staff@example.org", Role.STAFF, name="Sam Staff")
    page = await browser.new_page()
    await sign_in(page, server, "staff@example.org")
    await page.get_by_role("link", name="Brokering", exact=True).click()
    await page.get_by_role("link", name="Invite someone").click()
    await page.get_by_label("Email").fill("maria@example.org")
    await page.get_by_label("Full name").fill("Maria Lviv")
    await page.get_by_label("Role").select_option("official")
    await page.get_by_label("City (required for officials)").select_option("lviv-ua")
    await page.get_by_role("button", name="Send the invitation").click()
    await expect(page.get_by_role("status")).to_contain_text("Invitation sent to maria@example.org")
    await page.get_by_role("button", name="Sign out").click()

    await wait_for(lambda: mailbox.box.to("maria@example.org"), 10)
    link = first_link(text_part(mailbox.box.to("maria@example.org")[0]))
    assert link.startswith(server)
    await page.goto(link)
    await page.get_by_label("Password", exact=True).fill("a very good password")
    await page.get_by_label("Repeat the password").fill("a very good password")
    await page.get_by_label("Time zone").select_option("Europe/Kyiv")
    await page.get_by_role("button", name="Create my account").click()
    await expect(page.get_by_role("status")).to_contain_text("Welcome to Exchange, Maria Lviv.")
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_label("Full name")).to_have_value("Maria Lviv")
    await page.close()


async def test_sign_in_works_from_the_keyboard_alone(server: str, browser: Browser) -> None:
    await make_user("o@example.org", Role.STAFF)
    page = await browser.new_page()
    await page.goto(f"{server}/login")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to content"
    await page.keyboard.press("Enter")
    for _ in range(10):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.name") == "email":
            break
    await page.keyboard.type("o@example.org")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{server}/")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await page.close()


async def test_a_wrong_password_is_explained_next_to_the_form(
    server: str, browser: Browser
) -> None:
    page = await browser.new_page()
    await page.goto(f"{server}/login")
    await page.get_by_label("Email").fill("nobody@example.org")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    await page.close()


async def test_staff_finds_a_time_and_a_guest_accepts_from_the_email(
    server: str, browser: Browser, mailbox: SMTPServer
) -> None:
    import icalendar

    await make_user("staff@example.org", Role.STAFF, name="Sam Staff")
    await make_user("olena@lviv.example", name="Olena", timezone="Europe/Kyiv")
    page = await browser.new_page()
    await sign_in(page, server, "staff@example.org")
    await page.get_by_role("link", name="Dialogues", exact=True).click()
    await page.get_by_role("link", name="Convene a dialogue").click()
    await page.get_by_label("Title").fill("Transatlantic dialogue on online hate")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text("Now invite people")

    await page.get_by_label("Email addresses").fill("olena@lviv.example, guest@example.org")
    await page.get_by_label("Time zone for guests").select_option("America/Toronto")
    await page.get_by_role("button", name="Invite", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("2 people invited")

    await page.get_by_label("From (UTC day)").fill("2031-03-17")
    await page.get_by_label("To (UTC day)").fill("2031-03-19")
    await page.get_by_label("Length in minutes").fill("60")
    await page.get_by_role("button", name="Find times").click()
    # Kyiv and Toronto overlap from 13:00 to 16:00 UTC that week: such a time suits both.
    await page.get_by_label("inside working hours for 2").first.check()
    await page.get_by_role("button", name="Open a poll on these times").click()
    await expect(page.get_by_role("status")).to_contain_text("The poll is open")
    await page.get_by_role("button", name="Schedule and send the invitations").click()
    await expect(page.get_by_role("status")).to_contain_text("invitations are on their way")

    await wait_for(
        lambda: any(
            m["Subject"].startswith("Invitation") for m in mailbox.box.to("guest@example.org")
        ),
        15,
    )
    invitation = next(
        m for m in mailbox.box.to("guest@example.org") if m["Subject"].startswith("Invitation")
    )
    [calendar_part] = [
        part
        for part in invitation.walk()
        if part.get_content_type() == "text/calendar" and part.get_filename() is None
    ]
    calendar = icalendar.Calendar.from_ical(calendar_part.get_content())
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Transatlantic dialogue on online hate"
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    # The time chosen from the finder: inside both zones' working hours, an hour long.
    assert start.astimezone(UTC).date() in {date(2031, 3, d) for d in (17, 18, 19)}
    assert 13 <= start.astimezone(UTC).hour < 16 and end - start == timedelta(minutes=60)
    attendees = event.get("ATTENDEE", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert "mailto:guest@example.org" in [str(a).lower() for a in attendees]
    link = first_link(text_part(invitation))
    assert link.startswith(server) and "/dialogues/invitation/" in link

    guest = await browser.new_page()
    await guest.goto(link)
    await expect(guest.get_by_role("heading", level=1)).to_have_text(
        "Transatlantic dialogue on online hate"
    )
    await expect(guest.get_by_text("(America/Toronto)").first).to_be_visible()
    await guest.get_by_role("button", name="Yes, I am coming").click()
    await expect(guest.get_by_role("status")).to_contain_text("your seat is confirmed")
    await guest.close()

    # The organiser sees the answer on the console.
    await page.reload()
    row = page.get_by_role("row").filter(has_text="guest@example.org")
    await expect(row.get_by_role("cell", name="Coming", exact=True)).to_be_visible()
    await page.close()


async def test_narrow_screens_get_a_menu_button_and_never_scroll_sideways(
    server: str, browser: Browser
) -> None:
    catalogue = await load_catalogue()
    page = await browser.new_page(viewport={"width": 320, "height": 640})
    paths = ["/", "/cities", "/cities/manchester-gb", "/library", "/challenges", "/login"]
    for path in paths:
        await page.goto(f"{server}{path}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width}px wide"
    main_nav = page.get_by_role("navigation", name="Main")
    await expect(main_nav).to_be_hidden()
    await page.get_by_text("Menu", exact=True).click()
    await expect(main_nav.get_by_role("link", name="Cities")).to_be_visible()

    await sign_in(page, server, catalogue.lviv.email)
    for path in ["/", "/requests/new", "/requests", "/peer-invitations", "/settings"]:
        await page.goto(f"{server}{path}")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{path} is {width}px wide"
    await page.close()
