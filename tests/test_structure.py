"""The shared structure: a unit of work's effects, outbox attachments, the one error
vocabulary, and visibility decided in one module."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from exchange.models.accounts import Role
from exchange.models.mail import MailStatus, OutboxMessage
from exchange.models.matching import Notice
from exchange.services import errors, outbox
from exchange.services.audit import Event
from exchange.services.outbox import Attachment
from exchange.services.unit_of_work import unit_of_work
from exchange.settings import Settings

from support import SMTPServer, make_user, sign_in

SOURCE = Path(__file__).resolve().parent.parent / "exchange"

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:dialogue-1@test\r\nDTSTAMP:20270101T000000Z\r\n"
    "DTSTART:20270105T140000Z\r\nSUMMARY:Dialogue\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


async def test_effects_are_written_with_the_change_and_the_sender_woken_after_commit(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await make_user("o@example.org")
    outbox._wake.clear()
    async with unit_of_work(settings) as uow:
        uow.email(
            to=user.email,
            locale="en",
            subject="You are invited to Exchange",
            template="invitation",
            context={"name": "O", "inviter": "S", "city": "", "link": "x", "expires_days": 7},
        )
        uow.notify([user], "test", "A notice", {})
        uow.audit(Event.USER_CREATED, subject=user)
        # Nothing is written, and nobody woken, before the block ends.
        assert not await OutboxMessage.exists()
        assert not outbox._wake.is_set()
    assert await OutboxMessage.filter(to_address=user.email).count() == 1
    assert await Notice.filter(user=user).count() == 1
    assert outbox._wake.is_set()


async def test_a_failed_change_leaves_no_effect_behind(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    user = await make_user("o@example.org")
    outbox._wake.clear()
    with pytest.raises(errors.Conflict):
        async with unit_of_work(settings) as uow:
            await make_user("p@example.org")
            uow.email(
                to=user.email,
                locale="en",
                subject="You are invited to Exchange",
                template="invitation",
                context={"name": "O", "inviter": "S", "city": "", "link": "x", "expires_days": 7},
            )
            uow.notify([user], "test", "A notice", {})
            raise errors.Conflict("test", "refused")
    assert not await OutboxMessage.exists()
    assert not await Notice.exists()
    assert not outbox._wake.is_set()
    assert await make_user("p@example.org")  # the user made inside was rolled back too


async def test_a_calendar_attachment_reaches_the_recipient_and_is_erased_once_sent(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:
    async with unit_of_work(settings) as uow:
        uow.email(
            to="guest@example.org",
            locale="en",
            subject="You are invited to Exchange",
            template="invitation",
            context={"name": "G", "inviter": "S", "city": "", "link": "x", "expires_days": 7},
            attachments=[
                Attachment(
                    "invite.ics",
                    "text/calendar",
                    ICS,
                    params={"method": "REQUEST"},
                    alternative=True,
                ),
                Attachment("notes.txt", "text/plain", "kept", sensitive=False),
            ],
        )
    assert await outbox.send_due(settings, "test") == 1
    [mail] = mailbox.box.to("guest@example.org")
    calendar = [part for part in mail.walk() if part.get_content_type() == "text/calendar"]
    inline = [part for part in calendar if part.get_filename() is None]
    attached = [part for part in calendar if part.get_filename() == "invite.ics"]
    assert inline and inline[0].get_param("method") == "REQUEST"
    assert "UID:dialogue-1@test" in inline[0].get_content()
    assert attached and "METHOD:REQUEST" in attached[0].get_content()
    row = await OutboxMessage.get(to_address="guest@example.org")
    assert row.status == MailStatus.SENT
    assert [part["filename"] for part in row.attachments] == ["notes.txt"]


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.NotFound(), 404, "not_found"),
        (errors.PermissionDenied(), 403, "forbidden"),
        (errors.ValidationError({"name": "Required."}), 422, "invalid"),
        (errors.Conflict("no_capacity", "No capacity."), 409, "no_capacity"),
    ],
)
def test_one_vocabulary_describes_every_refusal(
    error: errors.ServiceError, status: int, code: str
) -> None:
    described = errors.describe(error)
    assert described[:2] == (status, code)
    assert described[2]
    assert described[3] == (error.fields if isinstance(error, errors.ValidationError) else {})


async def test_pages_and_api_map_a_refusal_the_same_way(client: httpx.AsyncClient) -> None:
    await make_user("o@example.org", Role.OFFICIAL)
    await sign_in(client, "o@example.org")
    page = await client.get("/requests/999")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    api = await client.get("/api/v1/requests/999")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


def test_no_module_but_visibility_filters_by_publication() -> None:
    """What a user may list is decided in `services/visibility.py` only."""
    pattern = re.compile(r"status\s*=\s*PracticeStatus\.PUBLISHED\)|p\.status = [?$]")
    offenders = [
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if path.name != "visibility.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_no_python_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(SOURCE)): lines
        for path in SOURCE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}
