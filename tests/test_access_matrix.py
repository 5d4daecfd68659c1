"""The access matrix: every route of the app, as each kind of user, against the rules.

`RULES` names, for each route and method, the status each kind of user gets. A route
without a rule fails the suite, so a new page or endpoint cannot ship without someone
deciding who may use it. Changes (POST) are walked only as the users who must be refused:
that they are refused, and that nothing changed, is the point; doing them is the areas'
own tests' business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from starlette.routing import Route

from exchange.models.accounts import Role, User, UserSession
from exchange.models.cities import Practice, PracticeStatus
from exchange.models.mail import OutboxMessage
from exchange.models.matching import MatchRequest, PeerExchange, PersonalAccessToken
from exchange.services import (
    briefs,
    circle_meetings,
    circle_members,
    circle_posts,
    circles,
    dialogues,
    findings,
    match_requests,
    peer_invitations,
    rsvp,
    sessions,
)
from exchange.services.circles import CircleInput
from exchange.services.dialogues import DialogueInput
from exchange.services.match_requests import RequestInput
from exchange.settings import Settings

from matching_data import load_catalogue
from support import csrf_token, make_user, post_form, sign_in

ROLES = ("anonymous", "requester", "invited", "mentor", "other", "staff", "admin")

# Shorthands for rows where the answer depends only on the role.
PUBLIC = dict.fromkeys(ROLES, 200)
SIGNED_IN = {**dict.fromkeys(ROLES, 200), "anonymous": 303}
STAFF = {**dict.fromkeys(ROLES, 403), "anonymous": 303, "staff": 200, "admin": 200}
ADMIN = {**STAFF, "staff": 403}
API_SIGNED_IN = {**SIGNED_IN, "anonymous": 401}
OFFICIALS = ("requester", "invited", "mentor", "other")


def only(allowed: tuple[str, ...], refused: int = 404, anonymous: int = 303) -> dict[str, int]:
    """Allowed roles get 200, the others `refused`; a visitor is sent to sign in."""
    return {
        role: 200 if role in allowed else (anonymous if role == "anonymous" else refused)
        for role in ROLES
    }


# The request is the requester's; the invitation goes to the invited city; the exchange
# pairs the requester with the mentor; the draft practice belongs to a city none of the
# officials works for.
REQUEST_SEEN = only(("requester", "staff", "admin"))
INVITATION_SEEN = only(("requester", "invited", "staff", "admin"))
EXCHANGE_SEEN = only(("requester", "mentor", "staff", "admin"))
DRAFT_SEEN = {**only(("staff", "admin")), "anonymous": 404}
EDIT_OWN_CITY = {**only(("requester", "staff", "admin"), refused=403)}
# The dialogue is invited-only, with the requester on its list; staff organise it.
# Its existence is private: a visitor gets 404 too, not the sign-in page.
DIALOGUE_SEEN = {**only(("requester", "staff", "admin")), "anonymous": 404}
REFUSED_DIALOGUE = {
    **{role: code for role, code in DIALOGUE_SEEN.items() if code != 200},
    "anonymous": 303,
}
ORGANISE = {**DIALOGUE_SEEN, "requester": 403, "anonymous": 303}
API_ORGANISE = {**ORGANISE, "anonymous": 401}
# A published brief for members: signed-in users read it; staff alone write.
MEMBERS_READ = {**PUBLIC, "anonymous": 404}
EDIT_BRIEF = {**dict.fromkeys(ROLES, 403), "anonymous": 303, "staff": 200, "admin": 200}

# Circles: an unlisted circle with the requester as a member (not a facilitator); staff
# created it and nobody else is in it, admin included. `test_circles_access.py` walks
# every circle route as every kind of member too, for listed and unlisted circles.
CIRCLE = only(("requester",))
API_CIRCLE = {**CIRCLE, "anonymous": 401}
CIRCLE_FACILITATORS = {**CIRCLE, "requester": 403}
API_CIRCLE_FACILITATORS = {**CIRCLE_FACILITATORS, "anonymous": 401}
CIRCLE_CHANGE = {**CIRCLE, "requester": 0}
API_CIRCLE_CHANGE = {**API_CIRCLE, "requester": 0}
CIRCLE_ROUTES: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/circles"): SIGNED_IN,
    ("GET", "/circles/new"): STAFF,
    ("POST", "/circles/new"): {**STAFF, "staff": 0, "admin": 0},
    ("GET", "/circles/my-data"): SIGNED_IN,
    ("GET", "/circles/{circle_id:id}"): CIRCLE,
    ("POST", "/circles/{circle_id:id}/join"): CIRCLE_CHANGE,
    ("POST", "/circles/{circle_id:id}/request"): CIRCLE_CHANGE,
    ("POST", "/circles/{circle_id:id}/leave"): CIRCLE_CHANGE,
    ("GET", "/circles/{circle_id:id}/members"): CIRCLE,
    ("POST", "/circles/{circle_id:id}/invite"): CIRCLE_FACILITATORS,
    **{
        ("POST", f"/circles/{{circle_id:id}}/members/{{user_id:id}}/{action}"): (
            CIRCLE_FACILITATORS
        )
        for action in ("approve", "decline", "remove", "facilitator")
    },
    ("GET", "/circles/{circle_id:id}/settings"): CIRCLE_FACILITATORS,
    ("POST", "/circles/{circle_id:id}/settings"): CIRCLE_FACILITATORS,
    ("GET", "/circles/{circle_id:id}/threads/new"): CIRCLE,
    ("POST", "/circles/{circle_id:id}/threads/new"): CIRCLE_CHANGE,
    ("GET", "/circles/{circle_id:id}/threads/{thread_id:id}"): CIRCLE,
    ("POST", "/circles/{circle_id:id}/threads/{thread_id:id}"): CIRCLE_CHANGE,
    # The post is the facilitator's: another member may neither edit, delete nor hide it.
    ("GET", "/circles/{circle_id:id}/posts/{post_id:id}/edit"): CIRCLE_FACILITATORS,
    ("POST", "/circles/{circle_id:id}/posts/{post_id:id}/edit"): CIRCLE_FACILITATORS,
    ("POST", "/circles/{circle_id:id}/posts/{post_id:id}/delete"): CIRCLE_FACILITATORS,
    ("POST", "/circles/{circle_id:id}/posts/{post_id:id}/hide"): CIRCLE_FACILITATORS,
    ("GET", "/circles/{circle_id:id}/checkins"): CIRCLE,
    ("POST", "/circles/{circle_id:id}/checkins"): CIRCLE_CHANGE,
    ("GET", "/circles/{circle_id:id}/checkins/summary"): CIRCLE_FACILITATORS,
    ("GET", "/circles/{circle_id:id}/meetings"): CIRCLE,
    ("POST", "/circles/{circle_id:id}/meetings"): CIRCLE_FACILITATORS,
    ("POST", "/circles/{circle_id:id}/meetings/{meeting_id:id}/cancel"): CIRCLE_FACILITATORS,
    ("GET", "/admin/circles"): ADMIN,
    ("GET", "/settings/delete-account"): SIGNED_IN,
    ("POST", "/settings/delete-account"): {"anonymous": 303},
    ("GET", "/api/v1/circles"): API_SIGNED_IN,
    ("POST", "/api/v1/circles"): {
        **dict.fromkeys(ROLES, 403),
        "anonymous": 401,
        "staff": 0,
        "admin": 0,
    },
    ("GET", "/api/v1/circles/{circle_id:id}"): API_CIRCLE,
    ("POST", "/api/v1/circles/{circle_id:id}/invitations"): API_CIRCLE_FACILITATORS,
    ("POST", "/api/v1/circles/{circle_id:id}/requests"): API_CIRCLE_CHANGE,
    ("POST", "/api/v1/circles/{circle_id:id}/requests/{user_id:id}/approve"): (
        API_CIRCLE_FACILITATORS
    ),
    ("POST", "/api/v1/circles/{circle_id:id}/join"): API_CIRCLE_CHANGE,
    ("GET", "/api/v1/circles/{circle_id:id}/members"): API_CIRCLE,
    ("POST", "/api/v1/circles/{circle_id:id}/leave"): API_CIRCLE_CHANGE,
    ("DELETE", "/api/v1/circles/{circle_id:id}/members/{user_id:id}"): API_CIRCLE_FACILITATORS,
    ("POST", "/api/v1/circles/{circle_id:id}/threads"): API_CIRCLE_CHANGE,
    ("GET", "/api/v1/circles/{circle_id:id}/threads"): API_CIRCLE,
    ("POST", "/api/v1/circles/{circle_id:id}/checkins"): API_CIRCLE_CHANGE,
    ("GET", "/api/v1/circles/{circle_id:id}/checkins/summary"): API_CIRCLE_FACILITATORS,
}

RULES: dict[tuple[str, str], dict[str, int]] = {
    **CIRCLE_ROUTES,
    ("GET", "/"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    # Prometheus reads it from loopback (the matrix's client is not) or as an admin.
    ("GET", "/metrics"): {**dict.fromkeys(ROLES, 403), "anonymous": 401, "admin": 200},
    ("GET", "/login"): {**PUBLIC, **dict.fromkeys(ROLES[1:], 303)},
    ("POST", "/login"): {"anonymous": 400},
    ("POST", "/logout"): {"anonymous": 303},
    ("GET", "/password/reset"): PUBLIC,
    ("POST", "/password/reset"): {"anonymous": 400},  # an empty email is a field error
    ("GET", "/password/reset/{token}"): {"anonymous": 404, "requester": 404},
    ("POST", "/password/reset/{token}"): {"anonymous": 404},
    ("GET", "/invitations/new"): STAFF,
    ("POST", "/invitations/new"): {**STAFF, "staff": 0, "admin": 0},
    ("GET", "/invitations/{token}"): {"anonymous": 404, "requester": 404},
    ("POST", "/invitations/{token}"): {"anonymous": 404},
    ("GET", "/settings"): SIGNED_IN,
    ("POST", "/settings"): {"anonymous": 303},
    # The world's session is the admin's own (not the one their browser uses).
    ("POST", "/settings/sessions/{session_id:id}/end"): {
        **dict.fromkeys(OFFICIALS, 404),
        "anonymous": 303,
        "staff": 404,
    },
    ("POST", "/settings/sessions/end-others"): {"anonymous": 303},
    ("GET", "/admin/users"): ADMIN,
    ("GET", "/admin/users/{user_id:id}"): ADMIN,
    ("POST", "/admin/users/{user_id:id}"): {**ADMIN, "admin": 0},
    ("GET", "/admin/audit"): ADMIN,
    ("GET", "/admin/mail"): ADMIN,
    ("POST", "/admin/mail/{message_id:id}/resend"): {**ADMIN, "admin": 0},
    ("GET", "/cities"): PUBLIC,
    ("GET", "/cities/{key}"): PUBLIC,
    ("GET", "/cities/{key}/edit"): EDIT_OWN_CITY,
    ("POST", "/cities/{key}/edit"): {**EDIT_OWN_CITY, "requester": 0, "staff": 0, "admin": 0},
    ("GET", "/cities/{key}/practices/new"): EDIT_OWN_CITY,
    ("POST", "/cities/{key}/practices/new"): {
        **EDIT_OWN_CITY,
        "requester": 0,
        "staff": 0,
        "admin": 0,
    },
    ("GET", "/practices/{practice_id:id}"): DRAFT_SEEN,
    ("GET", "/practices/{practice_id:id}/edit"): {**DRAFT_SEEN, "anonymous": 303},
    ("POST", "/practices/{practice_id:id}/edit"): {
        **DRAFT_SEEN,
        "anonymous": 303,
        "staff": 0,
        "admin": 0,
    },
    ("GET", "/challenges"): PUBLIC,
    ("GET", "/challenges/{slug}"): PUBLIC,
    ("GET", "/challenges/{slug}/edit"): STAFF,
    ("POST", "/challenges/{slug}/edit"): {**STAFF, "staff": 0, "admin": 0},
    ("GET", "/library"): PUBLIC,
    ("GET", "/import"): STAFF,
    ("POST", "/import"): {**STAFF, "staff": 0, "admin": 0},
    ("GET", "/import/format"): STAFF,
    ("GET", "/requests"): SIGNED_IN,
    ("GET", "/requests/new"): {**SIGNED_IN},
    ("POST", "/requests/new"): {"anonymous": 303},
    ("GET", "/requests/{request_id:id}"): REQUEST_SEEN,
    ("POST", "/requests/{request_id:id}/invite"): {
        role: code for role, code in REQUEST_SEEN.items() if code != 200
    },
    ("POST", "/requests/{request_id:id}/withdraw"): {
        role: code for role, code in REQUEST_SEEN.items() if code != 200
    },
    ("POST", "/requests/{request_id:id}/close"): {
        role: code for role, code in REQUEST_SEEN.items() if code != 200
    },
    ("GET", "/brokering"): STAFF,
    ("GET", "/brokering/report"): STAFF,
    ("GET", "/peer-invitations"): SIGNED_IN,
    ("GET", "/peer-invitations/{invitation_id:id}"): INVITATION_SEEN,
    ("POST", "/peer-invitations/{invitation_id:id}"): {
        role: code for role, code in INVITATION_SEEN.items() if code != 200
    },
    ("GET", "/exchanges/{exchange_id:id}"): EXCHANGE_SEEN,
    ("POST", "/exchanges/{exchange_id:id}"): {
        role: code for role, code in EXCHANGE_SEEN.items() if code != 200
    },
    ("GET", "/notices"): SIGNED_IN,
    ("POST", "/notices"): {"anonymous": 303},
    ("GET", "/settings/tokens"): SIGNED_IN,
    ("POST", "/settings/tokens"): {"anonymous": 303},
    ("POST", "/settings/tokens/{token_id:id}/revoke"): {
        **dict.fromkeys(OFFICIALS, 404),
        "anonymous": 303,
        "staff": 404,
    },
    # Dialogues: an invited-only dialogue with the requester on its list.
    ("GET", "/dialogues"): PUBLIC,
    ("GET", "/dialogues/new"): STAFF,
    ("POST", "/dialogues/new"): {**STAFF, "staff": 0, "admin": 0},
    ("GET", "/dialogues/invitation/{token}"): dict.fromkeys(ROLES, 404),
    ("POST", "/dialogues/invitation/{token}"): dict.fromkeys(ROLES, 404),
    ("GET", "/dialogues/{dialogue_id:id}"): DIALOGUE_SEEN,
    ("GET", "/dialogues/{dialogue_id:id}.ics"): DIALOGUE_SEEN,
    # Staff who are not on the list are told so on the page they came from.
    ("POST", "/dialogues/{dialogue_id:id}/rsvp"): {**REFUSED_DIALOGUE, "staff": 303, "admin": 303},
    ("GET", "/dialogues/{dialogue_id:id}/edit"): ORGANISE,
    ("POST", "/dialogues/{dialogue_id:id}/edit"): {**ORGANISE, "staff": 0, "admin": 0},
    ("GET", "/dialogues/{dialogue_id:id}/organise"): ORGANISE,
    **{
        ("POST", f"/dialogues/{{dialogue_id:id}}/{action}"): {
            **ORGANISE,
            "staff": 0,
            "admin": 0,
        }
        for action in ("invite", "remove", "resend", "cancel", "attendance", "poll", "pick")
    },
    ("GET", "/calendar/{token}.ics"): dict.fromkeys(ROLES, 404),
    ("POST", "/exchanges/{exchange_id:id}/call"): {
        role: code for role, code in EXCHANGE_SEEN.items() if code != 200
    },
    ("POST", "/exchanges/{exchange_id:id}/messages"): {
        role: code for role, code in EXCHANGE_SEEN.items() if code != 200
    },
    # Staff alone close an exchange early; its cities' officials see it but may not.
    ("POST", "/exchanges/{exchange_id:id}/close"): {
        **{role: code for role, code in EXCHANGE_SEEN.items() if code != 200},
        "requester": 403,
        "mentor": 403,
    },
    ("GET", "/api/v1/dialogues"): API_SIGNED_IN,
    ("POST", "/api/v1/dialogues"): {
        **dict.fromkeys(ROLES, 403),
        "anonymous": 401,
        "staff": 0,
        "admin": 0,
    },
    ("GET", "/api/v1/dialogues/{dialogue_id:id}"): {**DIALOGUE_SEEN, "anonymous": 401},
    ("PATCH", "/api/v1/dialogues/{dialogue_id:id}"): {**API_ORGANISE, "staff": 0, "admin": 0},
    ("POST", "/api/v1/dialogues/{dialogue_id:id}/cancel"): {
        **API_ORGANISE,
        "staff": 0,
        "admin": 0,
    },
    ("POST", "/api/v1/dialogues/{dialogue_id:id}/invitations"): {
        **API_ORGANISE,
        "staff": 0,
        "admin": 0,
    },
    ("POST", "/api/v1/dialogues/{dialogue_id:id}/rsvp"): {
        **REFUSED_DIALOGUE,
        "anonymous": 401,
        "staff": 409,
        "admin": 409,
    },
    # Briefs: a published members-only brief; findings of the dialogue are private.
    ("GET", "/briefs"): PUBLIC,
    ("GET", "/briefs/feed.atom"): PUBLIC,
    ("GET", "/briefs/new"): STAFF,
    ("POST", "/briefs/new"): {**STAFF, "staff": 0, "admin": 0},
    ("GET", "/briefs/{brief_id:id}"): MEMBERS_READ,
    ("GET", "/briefs/{brief_id:id}.md"): MEMBERS_READ,
    ("GET", "/briefs/{brief_id:id}/print"): MEMBERS_READ,
    ("GET", "/briefs/{brief_id:id}/versions/{number:id}"): MEMBERS_READ,
    # Without versions to compare, the diff sends readers back to the brief.
    ("GET", "/briefs/{brief_id:id}/diff"): {**dict.fromkeys(ROLES, 303), "anonymous": 404},
    ("GET", "/briefs/{brief_id:id}/edit"): EDIT_BRIEF,
    ("POST", "/briefs/{brief_id:id}/edit"): {**EDIT_BRIEF, "staff": 0, "admin": 0},
    **{
        ("POST", f"/briefs/{{brief_id:id}}/{action}"): {**EDIT_BRIEF, "staff": 0, "admin": 0}
        for action in ("review", "comment", "approve", "publish")
    },
    ("GET", "/dialogues/{dialogue_id:id}/findings"): ORGANISE,
    ("POST", "/dialogues/{dialogue_id:id}/findings"): {**ORGANISE, "staff": 0, "admin": 0},
    ("POST", "/dialogues/{dialogue_id:id}/findings/{finding_id:id}/confirm"): {
        **ORGANISE,
        "requester": 404,
        "staff": 0,
        "admin": 0,
    },
    ("POST", "/dialogues/{dialogue_id:id}/consent"): {
        **REFUSED_DIALOGUE,
        "staff": 403,
        "admin": 403,
    },
    ("POST", "/dialogues/{dialogue_id:id}/rapporteur"): {**ORGANISE, "staff": 0, "admin": 0},
    ("POST", "/api/v1/dialogues/{dialogue_id:id}/findings"): {
        **API_ORGANISE,
        "staff": 0,
        "admin": 0,
    },
    ("POST", "/api/v1/briefs"): {
        **dict.fromkeys(ROLES, 403),
        "anonymous": 401,
        "staff": 0,
        "admin": 0,
    },
    ("POST", "/api/v1/briefs/{brief_id:id}/publish"): {
        **dict.fromkeys(ROLES, 403),
        "anonymous": 401,
        "staff": 0,
        "admin": 0,
    },
    ("GET", "/api/v1/briefs/{brief_id:id}"): {**PUBLIC, "anonymous": 401},
    ("GET", "/api/v1/briefs/{brief_id:id}/versions"): {**PUBLIC, "anonymous": 401},
    ("GET", "/api/v1/briefs/{brief_id:id}/versions/{number:id}"): {**PUBLIC, "anonymous": 401},
    # The API: the same rules, with 401 for a visitor.
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/requests"): API_SIGNED_IN,
    ("POST", "/api/v1/requests"): {"anonymous": 401},
    ("GET", "/api/v1/requests/{request_id:id}"): {**REQUEST_SEEN, "anonymous": 401},
    ("GET", "/api/v1/requests/{request_id:id}/candidates"): {**REQUEST_SEEN, "anonymous": 401},
    ("POST", "/api/v1/requests/{request_id:id}/invitations"): {
        role: code for role, code in {**REQUEST_SEEN, "anonymous": 401}.items() if code != 200
    },
    ("GET", "/api/v1/invitations"): API_SIGNED_IN,
    ("GET", "/api/v1/invitations/{invitation_id:id}"): {**INVITATION_SEEN, "anonymous": 401},
    ("POST", "/api/v1/invitations/{invitation_id:id}/answer"): {
        role: code
        for role, code in {**INVITATION_SEEN, "anonymous": 401}.items()
        if code != 200 and role != "requester"
    }
    | {"requester": 403},
}


@dataclass
class World:
    users: dict[str, User]
    values: dict[str, str]


async def build_world(settings: Settings) -> World:
    catalogue = await load_catalogue()
    admin = await make_user("ada@network.example", Role.ADMIN, name="Ada")
    users = {
        "requester": catalogue.lviv,
        "invited": catalogue.nice,
        "mentor": catalogue.manchester,
        "other": catalogue.toronto,
        "staff": catalogue.staff,
        "admin": admin,
    }
    request = await match_requests.check_file_request(
        catalogue.lviv,
        RequestInput(
            city_key="lviv-ua",
            challenges=["post-attack-recovery"],
            description="Recovery after an attack on the city centre",
            peers_wanted=2,
        ),
    )
    invited = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, request.id, "nice-fr"
    )
    accepted = await peer_invitations.check_invite_peer(
        settings, catalogue.lviv, request.id, "manchester-gb"
    )
    await peer_invitations.check_answer(settings, catalogue.manchester, accepted.id, True)
    exchange = await PeerExchange.get(invitation_id=accepted.id)
    draft = await Practice.filter(status=PracticeStatus.DRAFT).first()
    assert draft is not None
    token = await PersonalAccessToken.create(
        user=admin,
        name="admin's",
        token_hash="x" * 64,
        created_at=datetime.now(UTC),
    )
    dialogue = await dialogues.check_create_dialogue(
        settings,
        catalogue.staff,
        DialogueInput(
            title="A two-city call",
            start="2030-01-10T14:00:00+00:00",
            end="2030-01-10T15:00:00+00:00",
            visibility="invited",
        ),
    )
    await rsvp.check_invite_people(settings, catalogue.staff, dialogue.id, [catalogue.lviv.email])
    finding = await findings.check_record_finding(
        catalogue.staff, dialogue.id, findings.FindingInput(title="What was found")
    )
    brief = await briefs.check_create_brief(
        catalogue.staff,
        briefs.BriefInput(title="A brief", visibility="members", findings=[finding.finding.id]),
    )
    await briefs.check_publish(settings, catalogue.staff, brief.id)
    await sessions.start_session(admin, "192.0.2.1", "another browser")
    admin_session = await UserSession.filter(user_id=admin.id).first()
    assert admin_session is not None
    circle_values = await build_circle(settings, catalogue.staff, catalogue.lviv)
    mail = await OutboxMessage.filter().first()
    assert mail is not None
    values = {
        **circle_values,
        "{request_id:id}": str(request.id),
        "{dialogue_id:id}": str(dialogue.id),
        "{brief_id:id}": str(brief.id),
        "{finding_id:id}": str(finding.finding.id),
        "{number:id}": "1",
        "{invitation_id:id}": str(invited.id),
        "{exchange_id:id}": str(exchange.id),
        "{practice_id:id}": str(draft.id),
        "{user_id:id}": str(catalogue.lviv.id),
        "{message_id:id}": str(mail.id),
        "{token_id:id}": str(token.id),
        "{session_id:id}": str(admin_session.id),
        "{key}": "lviv-ua",
        "{slug}": "post-attack-recovery",
        "{token}": "not-a-real-token",
    }
    return World(users, values)


async def build_circle(settings: Settings, staff: User, member: User) -> dict[str, str]:
    """An unlisted circle made by staff, facilitated by someone outside the cast, with
    `member` in it, a thread, and a meeting."""
    fay = await make_user("fay@circle.example", name="Fay")
    circle = await circles.check_create_circle(
        settings, staff, CircleInput(name="Quiet harbour", facilitator=fay.email)
    )
    await circle_members.check_join(settings, fay, circle.id, 1)
    await circle_members.check_invite(settings, fay, circle.id, member.email)
    await circle_members.check_join(settings, member, circle.id, 1)
    thread = await circle_posts.check_start_thread(settings, fay, circle.id, "Sleep", "Badly.")
    view = await circle_posts.thread_view(fay, circle.id, thread.id)
    meeting = await circle_meetings.check_schedule(
        settings, fay, circle.id, "2031-05-06T15:00:00+00:00", 60
    )
    return {
        "{circle_id:id}": str(circle.id),
        "{thread_id:id}": str(thread.id),
        "{post_id:id}": str(view.posts[0].id),
        "{meeting_id:id}": str(meeting.id),
    }


def concrete(path: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    assert "{" not in path, path
    return path


def app_routes(client: httpx.AsyncClient) -> set[tuple[str, str]]:
    app = client._transport.app  # type: ignore[attr-defined]
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }


async def test_every_route_has_a_rule(client: httpx.AsyncClient) -> None:
    routes = app_routes(client)
    missing = sorted(routes - RULES.keys())
    assert not missing, f"routes without a rule in the access matrix: {missing}"
    stale = sorted(RULES.keys() - routes)
    assert not stale, f"rules for routes that no longer exist: {stale}"


# A valid body, so that a refusal comes from the access rules, not from bad input.
API_BODIES = {
    "/requests/{request_id:id}/invitations": {"city": "toronto-ca"},
    "/answer": {"answer": "decline"},
    "/dialogues/{dialogue_id:id}/invitations": {"emails": ["x@example.org"]},
    "/rsvp": {"answer": "yes"},
    "/api/v1/dialogues": {"title": "A dialogue"},
    "/api/v1/dialogues/{dialogue_id:id}": {"title": "Renamed"},
    "/api/v1/dialogues/{dialogue_id:id}/findings": {"title": "A finding"},
    "/api/v1/briefs": {"title": "A brief"},
}


async def _status(client: httpx.AsyncClient, method: str, template: str, path: str) -> int:
    if method == "GET":
        return (await client.get(path)).status_code
    if path.startswith("/api/"):
        await client.get("/")
        headers = {"X-CSRF-Token": csrf_token(client)}
        body = next((b for end, b in API_BODIES.items() if template.endswith(end)), {})
        response = await client.request(method, path, json=body, headers=headers)
        return response.status_code
    return (await post_form(client, path, {})).status_code


@pytest.mark.parametrize("role", ROLES)
async def test_access_matrix(client: httpx.AsyncClient, settings: Settings, role: str) -> None:
    world = await build_world(settings)
    if role != "anonymous":
        await sign_in(client, world.users[role].email)
    requests_before = await MatchRequest.all().values_list("id", "status")
    seen: dict[tuple[str, str], int] = {}
    for (method, path), expected in sorted(RULES.items()):
        if role not in expected or expected[role] == 0:
            continue  # allowed change: the area's own tests do it
        url = concrete(path, world.values)
        seen[(method, path)] = await _status(client, method, path, url)
    wrong = {
        key: (status, RULES[key][role])
        for key, status in seen.items()
        if status != RULES[key][role]
    }
    assert not wrong, f"{role}: (got, expected) {wrong}"
    # Refused changes changed nothing.
    assert await MatchRequest.all().values_list("id", "status") == requests_before
