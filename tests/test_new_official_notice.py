"""Someone who joins a city with a peer invitation waiting hears of it: a notice, and the
invitation on their dashboard, whether they accepted an invitation to Exchange or an admin
gave them the city."""

from __future__ import annotations

import httpx
import pytest
from test_matching_workflow import file_request, invitation_for, invite

from exchange.models.accounts import Role, User
from exchange.models.matching import Notice
from exchange.services import outbox
from exchange.settings import Settings

from matching_data import Catalogue, load_catalogue
from support import SMTPServer, first_link, make_user, post_form, sign_in, switch, text_part

MESSAGE = "Lviv asks your city for peer support: the invitation waits for an answer"


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


async def test_an_invited_official_hears_of_the_citys_waiting_invitation(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings, mailbox: SMTPServer
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await invite(client, request_id, "manchester-gb")
    invitation = await invitation_for(request_id, "manchester-gb")
    await switch(client, catalogue.staff)
    sent = await post_form(
        client,
        "/invitations/new",
        {
            "email": "nia@manchester.example",
            "name": "Nia",
            "role": "official",
            "city": "manchester-gb",
        },
    )
    assert sent.status_code == 303
    await outbox.send_due(settings, "test")
    [mail] = mailbox.box.to("nia@manchester.example")
    link = first_link(text_part(mail)).removeprefix("http://exchange.test")
    client.cookies.clear()
    await client.get(link)
    accepted = await post_form(
        client,
        link,
        {
            "password": "a long new password 7",
            "password_confirm": "a long new password 7",
            "timezone": "Europe/London",
        },
    )
    assert accepted.status_code == 303
    nia = await User.get(email="nia@manchester.example")
    [notice] = await Notice.filter(user_id=nia.id)
    assert notice.link == f"/peer-invitations/{invitation.id}"
    notices = (await client.get("/notices")).text
    assert MESSAGE in notices
    home = (await client.get("/")).text
    assert f'href="/peer-invitations/{invitation.id}"' in home
    # Mary, already an official of Manchester, was told when it was sent: nothing new.
    assert (
        await Notice.filter(user_id=catalogue.manchester.id, message__contains="waits").count() == 0
    )


async def test_an_official_given_the_city_by_an_admin_hears_of_it_once(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await invite(client, request_id, "manchester-gb")
    newcomer = await make_user("noa@example.org", name="Noa")  # an official without a city
    admin = await make_user("ada@example.org", Role.ADMIN)
    client.cookies.clear()
    await sign_in(client, admin.email)
    form = {"role": "official", "city": "manchester-gb", "is_active": "on"}
    assert (await post_form(client, f"/admin/users/{newcomer.id}", form)).status_code == 303
    assert [n.message for n in await Notice.filter(user_id=newcomer.id)] == [
        "%(city)s asks your city for peer support: the invitation waits for an answer"
    ]
    # Saving again without a change tells nothing new; a city without invitations, nothing.
    await post_form(client, f"/admin/users/{newcomer.id}", form)
    assert await Notice.filter(user_id=newcomer.id).count() == 1
    await post_form(client, f"/admin/users/{newcomer.id}", {**form, "city": "nice-fr"})
    assert await Notice.filter(user_id=newcomer.id).count() == 1
    french = await make_user("fr@example.org", locale="fr")
    await post_form(client, f"/admin/users/{french.id}", form)
    client.cookies.clear()
    await sign_in(client, french.email)
    page = (await client.get("/notices")).text
    assert "Lviv sollicite le soutien de votre ville : l\u2019invitation attend une" in page
