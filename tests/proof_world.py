"""The world the page checks walk through (tests/test_proof_pages.py): requests,
invitations, an exchange, dialogues (one with a guest, one with an open poll), findings, a
brief with two published versions, and circles seen from inside and from outside."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from exchange.models.accounts import Role, User
from exchange.models.circles import CirclePost
from exchange.models.cities import Practice, PracticeStatus
from exchange.models.dialogues import Invitee, SlotOption
from exchange.models.matching import PeerExchange
from exchange.services import (
    briefs,
    checkins,
    circle_meetings,
    circle_members,
    circle_posts,
    circles,
    dialogue_mail,
    dialogues,
    findings,
    match_requests,
    peer_invitations,
    polls,
    rsvp,
)
from exchange.services.circles import CircleInput
from exchange.services.dialogues import DialogueInput
from exchange.services.match_requests import RequestInput
from exchange.settings import Settings

from matching_data import Catalogue, load_catalogue
from support import make_user


async def build_world(settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    """The emails of the roles that sign in, and the values the screens' paths need."""
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
    values.update(await build_poll(settings, catalogue))
    values.update(await build_circles(settings, catalogue))
    return emails, values


async def build_poll(settings: Settings, catalogue: Catalogue) -> dict[str, str]:
    """A dialogue with no time yet, its poll open and one guest's answers in."""
    staff = catalogue.staff
    draft = await dialogues.check_create_dialogue(
        settings,
        staff,
        DialogueInput(title="A call still looking for a time", visibility="invited"),
    )
    await rsvp.check_invite_people(
        settings, staff, draft.id, [catalogue.nice.email, "voter@example.org"]
    )
    starts = [datetime(2030, 3, 5, 14, tzinfo=UTC), datetime(2030, 3, 6, 14, tzinfo=UTC)]
    await polls.check_open_poll(settings, staff, draft.id, starts, 60)
    voter = await Invitee.get(dialogue_id=draft.id, email="voter@example.org")
    options = await SlotOption.filter(dialogue_id=draft.id).order_by("starts_at")
    await polls.check_vote(settings, voter, {options[0].id: "yes", options[1].id: "if-need-be"})
    return {
        "poll_dialogue": str(draft.id),
        "poll_token": dialogue_mail.invitee_token(settings, voter),
    }


async def build_circles(settings: Settings, catalogue: Catalogue) -> dict[str, str]:
    """The official facilitates a circle with a thread, a check-in and a meeting; is
    invited into a second (its agreement waits); and may ask to join a listed third."""
    staff, official, peer = catalogue.staff, catalogue.lviv, catalogue.manchester

    async def circle(name: str, facilitator: User, kind: str = "unlisted") -> int:
        made = await circles.check_create_circle(
            settings,
            staff,
            CircleInput(
                name=name,
                purpose="Mayors who lived through an attack on their city",
                kind=kind,
                facilitator=facilitator.email,
                timezone="UTC",
            ),
        )
        await circle_members.check_join(settings, facilitator, made.id, 1)
        return made.id

    home = await circle("Harbour circle", official)
    await circle_members.check_invite(settings, official, home, peer.email)
    await circle_members.check_join(settings, peer, home, 1)
    thread = await circle_posts.check_start_thread(
        settings, official, home, "How do we rest?", "Sleep came back after a month."
    )
    await circle_posts.check_reply(settings, peer, home, thread.id, "Walking helped me.")
    opening = await CirclePost.filter(thread_id=thread.id).order_by("id").first()
    assert opening is not None
    await checkins.check_record(official, home, 3, "A long week.")
    await circle_meetings.check_schedule(settings, official, home, "2030-02-01T10:00", 60)
    invited = await circle("Listening circle", peer)
    await circle_members.check_invite(settings, peer, invited, official.email)
    listed = await circle("Open circle for recovery", peer, kind="listed")
    return {
        "circle": str(home),
        "thread": str(thread.id),
        "post": str(opening.id),
        "invited_circle": str(invited),
        "listed_circle": str(listed),
    }
