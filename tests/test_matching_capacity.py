"""Capacity is never overbooked, even when acceptances race (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from exchange.models.cities import City
from exchange.models.matching import InvitationStatus, PeerExchange, PeerInvitation
from exchange.services import (
    match_requests,
    peer_invitations,
)
from exchange.services.errors import Conflict
from exchange.services.match_requests import RequestInput
from exchange.settings import Settings

from matching_data import Catalogue, load_catalogue
from support import post_form, sign_in


async def two_invitations_for_the_last_unit(
    catalogue: Catalogue, settings: Settings
) -> tuple[PeerInvitation, PeerInvitation]:
    """Lviv and Toronto both invite Manchester, which has one unit of capacity."""
    invitations = []
    for user, city in ((catalogue.lviv, "lviv-ua"), (catalogue.toronto, "toronto-ca")):
        mr = await match_requests.check_file_request(
            user,
            RequestInput(
                city_key=city,
                challenges=["post-attack-recovery"],
                description="Support for victims after an attack",
            ),
        )
        invitations.append(
            await peer_invitations.check_invite_peer(settings, user, mr.id, "manchester-gb")
        )
    return invitations[0], invitations[1]


@pytest.fixture
async def catalogue(clean_db: str) -> Catalogue:
    return await load_catalogue()


async def test_two_concurrent_acceptances_take_the_last_unit_once(
    catalogue: Catalogue, settings: Settings
) -> None:
    first, second = await two_invitations_for_the_last_unit(catalogue, settings)
    results = await asyncio.gather(
        peer_invitations.check_answer(settings, catalogue.manchester, first.id, True),
        peer_invitations.check_answer(settings, catalogue.manchester, second.id, True),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, PeerInvitation)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].code == "no_capacity"
    manchester = await City.get(key="manchester-gb")
    assert manchester.capacity_used == 1
    assert await PeerExchange.filter(mentor=manchester).count() == 1
    statuses = sorted([(await PeerInvitation.get(id=i.id)).status.value for i in (first, second)])
    # The loser's acceptance rolled back: its invitation is still waiting for an answer.
    assert statuses == [InvitationStatus.ACCEPTED.value, InvitationStatus.PENDING.value]


async def test_many_concurrent_acceptances_never_overbook(
    catalogue: Catalogue, settings: Settings
) -> None:
    await City.filter(key="nice-fr").update(mentoring_capacity=2)
    invitations = []
    for city in ("lviv-ua", "toronto-ca", "manchester-gb", "berlin-de", "oslo-no"):
        mr = await match_requests.check_file_request(
            catalogue.staff,
            RequestInput(
                city_key=city, challenges=["post-attack-recovery"], description="After an attack"
            ),
        )
        invitations.append(
            await peer_invitations.check_invite_peer(
                settings, catalogue.staff, mr.id, "nice-fr", "Nice asked to help"
            )
        )
    results = await asyncio.gather(
        *(peer_invitations.check_answer(settings, catalogue.nice, i.id, True) for i in invitations),
        return_exceptions=True,
    )
    assert sum(isinstance(r, PeerInvitation) for r in results) == 2, results
    assert all(isinstance(r, PeerInvitation | Conflict) for r in results), results
    assert (await City.get(key="nice-fr")).capacity_used == 2
    assert await PeerExchange.filter(mentor__key="nice-fr").count() == 2


async def test_two_concurrent_http_acceptances_take_the_last_unit_once(
    client: httpx.AsyncClient, catalogue: Catalogue, settings: Settings
) -> None:
    first, second = await two_invitations_for_the_last_unit(catalogue, settings)
    await sign_in(client, catalogue.manchester.email)
    responses = await asyncio.gather(
        post_form(client, f"/peer-invitations/{first.id}", {"answer": "accept"}),
        post_form(client, f"/peer-invitations/{second.id}", {"answer": "accept"}),
    )
    assert sorted(r.status_code for r in responses) == [303, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "no free mentoring capacity" in loser.text
    assert (await City.get(key="manchester-gb")).capacity_used == 1
    assert await PeerExchange.all().count() == 1
