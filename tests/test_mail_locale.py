"""Mail speaks the recipient's language and reads times on the recipient's clock, as pages
do: read from what the real SMTP server received."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_date, format_time
from test_matching_workflow import file_request, invitation_for, invite

from exchange.models.accounts import User
from exchange.models.cities import Challenge
from exchange.models.matching import PersonalAccessToken
from exchange.services import catalogue_version, outbox
from exchange.services.tokens import issue_token
from exchange.settings import Settings

from matching_data import Catalogue, load_catalogue
from support import SMTPServer, html_part, make_user, text_part


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


def on_clock(moment: datetime, zone: str, locale: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    day = format_date(local, format="medium", locale=locale)
    return f"{day}, {format_time(local, format='short', locale=locale)} ({zone})"


async def test_a_peer_invitation_reads_in_the_officials_language_and_zone(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    await User.filter(id=catalogue.manchester.id).update(locale="fr", timezone="Asia/Tokyo")
    await User.filter(id=catalogue.nice.id).update(locale="en", timezone="America/Chicago")
    await Challenge.filter(slug="post-attack-recovery").update(
        translations={"fr": {"name": "Rétablissement après un attentat"}}
    )
    await catalogue_version.bump()
    request_id = await file_request(client, catalogue.lviv, peers_wanted="2")
    assert (await invite(client, request_id, "manchester-gb")).status_code == 303
    assert (await invite(client, request_id, "nice-fr")).status_code == 303
    await outbox.send_due(settings, "test")

    invitation = await invitation_for(request_id, "manchester-gb")
    [mail] = mailbox.box.to("mary@manchester.example")
    body = text_part(mail)
    assert mail["Subject"] == "Lviv sollicite le soutien de votre ville"
    assert "Rétablissement après un attentat" in body and "Post-attack recovery" not in body
    expires = on_clock(invitation.expires_at, "Asia/Tokyo", "fr")
    assert expires in body and expires in html_part(mail)
    assert invitation.expires_at.strftime("%Y-%m-%d") not in body

    # The other city's official reads English on Chicago's clock, from the same request.
    other = await invitation_for(request_id, "nice-fr")
    [english] = mailbox.box.to("nadia@nice.example")
    assert "Post-attack recovery" in text_part(english)
    assert on_clock(other.expires_at, "America/Chicago", "en") in text_part(english)


async def test_a_token_notice_reads_in_the_owners_language_and_zone(
    client: httpx.AsyncClient, settings: Settings, mailbox: SMTPServer
) -> None:

    await make_user("owner@example.org", locale="fr", timezone="America/Montreal")
    await issue_token(settings, "owner@example.org", "rapports", 30)
    await outbox.send_due(settings, "test")
    [mail] = mailbox.box.to("owner@example.org")
    token = await PersonalAccessToken.get(name="rapports")
    body = text_part(mail)
    assert on_clock(token.created_at, "America/Montreal", "fr") in body
    assert on_clock(token.expires_at, "America/Montreal", "fr") in body
