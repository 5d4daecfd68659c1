"""Staff who act for a city read whose "your" it is: on the request form, the candidates,
the invitation answer and the exchange page."""

from __future__ import annotations

import httpx
import pytest
from test_matching_workflow import accepted_exchange, file_request, invitation_for, invite

from exchange.models.accounts import User

from matching_data import Catalogue, load_catalogue
from support import switch


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


async def test_staff_read_on_behalf_of_the_city_where_officials_read_your(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    request_id = await file_request(client, catalogue.lviv, peers_wanted="2")
    official_request = (await client.get(f"/requests/{request_id}")).text
    assert "You act on behalf of" not in official_request
    assert "What does your city face?" in (await client.get("/requests/new")).text
    await invite(client, request_id, "nice-fr")

    await switch(client, catalogue.staff)
    form = (await client.get("/requests/new")).text
    assert "What does your city face?" not in form and "Say what your city faces" not in form
    assert "on behalf of the city you choose below" in form
    assert "You write on behalf of the city chosen above" in form
    candidates = (await client.get(f"/requests/{request_id}")).text
    assert "You act on behalf of Lviv: where a reason says “your”, it means Lviv" in candidates
    invitation = await invitation_for(request_id, "nice-fr")
    answer = (await client.get(f"/peer-invitations/{invitation.id}")).text
    assert "Your answer on behalf of Nice" in answer
    assert "Accept on behalf of Nice: start an exchange (uses one unit of its mentoring" in answer
    assert "Decline on behalf of Nice" in answer
    assert "your mentoring capacity" not in answer

    await switch(client, catalogue.nice)
    own = (await client.get(f"/peer-invitations/{invitation.id}")).text
    assert "your mentoring capacity" in own and "on behalf of" not in own

    await User.filter(id=catalogue.staff.id).update(locale="fr")
    await switch(client, catalogue.staff)
    french = (await client.get(f"/peer-invitations/{invitation.id}")).text
    assert "Votre réponse au nom de Nice" in french


async def test_staff_on_an_exchange_write_as_staff(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    exchange = await accepted_exchange(client, catalogue)
    official = (await client.get(f"/exchanges/{exchange.id}")).text
    assert "Your message" in official and "as network staff" not in official
    await switch(client, catalogue.staff)
    page = (await client.get(f"/exchanges/{exchange.id}")).text
    assert "Your message, as network staff" in page
    assert "introduce your team" not in page
    assert 'name="on_behalf_of"' in page  # feedback is given on behalf of a chosen city
