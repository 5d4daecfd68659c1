"""Forms a new user meets: what was typed survives an error, errors are announced and
linked, a withdrawal is confirmed, an empty reset address is a field error."""

from __future__ import annotations

import httpx
import pytest
from test_matching_workflow import file_request, invitation_for, invite

from exchange.models.cities import City

from matching_data import REQUEST_FORM, Catalogue, load_catalogue
from support import post_form, switch


@pytest.fixture
async def catalogue(client: httpx.AsyncClient) -> Catalogue:
    return await load_catalogue()


async def test_the_answer_form_keeps_what_was_chosen_and_typed(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    request_id = await file_request(client, catalogue.lviv)
    await invite(client, request_id, "manchester-gb")
    invitation = await invitation_for(request_id, "manchester-gb")
    url = f"/peer-invitations/{invitation.id}"
    await switch(client, catalogue.manchester)

    unanswered = await post_form(client, url, {"reason": "Busy until March"})
    assert unanswered.status_code == 400
    assert ">Busy until March</textarea>" in unanswered.text
    assert 'id="field-answer" class="choices field field-invalid"' in unanswered.text
    assert 'aria-describedby="error-answer"' in unanswered.text
    assert 'id="answer-accept" name="answer" value="accept" aria-invalid="true">' in (
        unanswered.text
    )
    assert '<a href="#field-answer">' in unanswered.text

    # A refusal after the choice keeps the choice and the reason.
    city = await City.get(key="manchester-gb")
    await City.filter(id=city.id).update(capacity_used=city.mentoring_capacity)
    full = await post_form(client, url, {"answer": "accept", "reason": "Glad to"})
    assert full.status_code == 409
    assert 'value="accept" checked' in full.text
    assert ">Glad to</textarea>" in full.text


async def test_the_request_form_summary_takes_the_focus(
    client: httpx.AsyncClient, catalogue: Catalogue
) -> None:
    await switch(client, catalogue.lviv)
    failed = await post_form(
        client, "/requests/new", {**REQUEST_FORM, "challenges": [], "description": ""}
    )
    assert failed.status_code == 400
    summary = failed.text.split('class="error-summary"', 1)
    assert len(summary) == 2
    assert summary[1].startswith(' role="alert" tabindex="-1" autofocus>')
    assert '<a href="#field-challenges">' in summary[1]
    # Before the form, at the top of the page.
    assert failed.text.index('class="error-summary"') < failed.text.index('action="/requests/new"')
    # A first visit has no summary to jump to.
    assert "autofocus" not in (await client.get("/requests/new")).text


async def test_an_empty_reset_address_is_a_field_error(client: httpx.AsyncClient) -> None:
    empty = await post_form(client, "/password/reset", {"email": "  "})
    assert empty.status_code == 400
    assert 'id="error-email"' in empty.text
    assert 'aria-invalid="true"' in empty.text and '<a href="#field-email">' in empty.text
    sent = await post_form(client, "/password/reset", {"email": "someone@example.org"})
    assert sent.status_code == 200 and 'id="error-email"' not in sent.text
