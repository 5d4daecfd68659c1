"""The API of circles. The same services as the pages decide everything: every path of a
circle answers 404 to a non-member (a listed circle shows its name and purpose, nothing
more), whoever they are and whenever their token was made.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.circles import CheckInPeriod, CircleKind, MembershipState
from exchange.services import checkins, circle_members, circle_posts, circles
from exchange.services.circles import CircleInput, CircleOutline
from exchange.services.pagination import page_number
from exchange.web.api.base import PREFIX, Endpoint, iso, page_json, read_body
from exchange.web.api.openapi import TIME, enum_of, page_of
from exchange.web.forms import path_id

NEW_CIRCLE_FIELDS = ("name", "purpose", "kind", "facilitator", "cap", "timezone", "checkin_period")


def outline_json(outline: CircleOutline) -> dict[str, Any]:
    """What the caller may know of a circle: name and purpose for anyone who may know of
    it, the agreement for those about to accept it, the rest for members."""
    c = outline.circle
    body: dict[str, Any] = {
        "id": c.id,
        "name": c.name,
        "purpose": c.purpose,
        "kind": c.kind.value,
        "your_state": outline.state,
    }
    if outline.to_accept:
        body["agreement"] = {"version": c.agreement_version, "text": c.agreement_text}
    if outline.is_member:
        assert outline.membership is not None
        body.update(
            cap=c.cap,
            facilitator=outline.membership.is_facilitator,
            support_resources=c.support_resources,
            checkin_period=c.checkin_period.value,
            timezone=c.timezone,
        )
    return body


async def list_circles_api(request: Request, user: User) -> Response:
    listing = await circles.list_circles(user, page_number(request.query_params.get("page")))
    items = [
        outline_json(CircleOutline(c, listing.memberships.get(c.id))) for c in listing.page.items
    ]
    for item in items:
        item.pop("agreement", None)
    return JSONResponse(page_json(listing.page, items))


async def create_circle(request: Request, user: User) -> Response:
    body = await read_body(request, NEW_CIRCLE_FIELDS)
    data = CircleInput(
        name=body.string("name"),
        purpose=body.string("purpose"),
        kind=body.string("kind", CircleKind.UNLISTED.value),
        facilitator=body.string("facilitator"),
        cap=body.integer("cap", circles.DEFAULT_CAP),
        timezone=body.string("timezone"),
        checkin_period=body.string("checkin_period", CheckInPeriod.WEEK.value),
    )
    body.check()
    circle = await circles.check_create_circle(request.app.state.settings, user, data)
    # The creator is not a member: this answer is all they will see of the circle.
    response = JSONResponse(
        {
            "id": circle.id,
            "name": circle.name,
            "purpose": circle.purpose,
            "kind": circle.kind.value,
            "cap": circle.cap,
            "checkin_period": circle.checkin_period.value,
            "timezone": circle.timezone,
        },
        status_code=201,
    )
    response.headers["Location"] = f"{PREFIX}/circles/{circle.id}"
    return response


async def show_circle(request: Request, user: User) -> Response:
    outline = await circles.circle_outline(user, path_id(request, "circle_id"))
    return JSONResponse(outline_json(outline))


async def invite_to_circle(request: Request, user: User) -> Response:
    circle_id = path_id(request, "circle_id")
    await circles.circle_to_facilitate(user, circle_id)
    body = await read_body(request, ("email",))
    email = body.string("email")
    body.check()
    membership = await circle_members.check_invite(
        request.app.state.settings, user, circle_id, email
    )
    return JSONResponse(
        {"user_id": membership.user_id, "state": membership.state.value}, status_code=201
    )


async def ask_to_join_circle(request: Request, user: User) -> Response:
    membership = await circle_members.check_request(
        request.app.state.settings, user, path_id(request, "circle_id")
    )
    return JSONResponse({"state": membership.state.value}, status_code=201)


async def approve_circle_request(request: Request, user: User) -> Response:
    membership = await circle_members.check_approve(
        request.app.state.settings, user, path_id(request, "circle_id"), path_id(request, "user_id")
    )
    return JSONResponse({"user_id": membership.user_id, "state": membership.state.value})


async def join_circle(request: Request, user: User) -> Response:
    circle_id = path_id(request, "circle_id")
    await circles.circle_outline(user, circle_id)
    body = await read_body(request, ("agreement_version",))
    version = body.integer("agreement_version", -1)
    if "agreement_version" not in body.data and "agreement_version" not in body.fields:
        body.fields["agreement_version"] = _("Give the version of the agreement you accept.")
    body.check()
    membership = await circle_members.check_join(
        request.app.state.settings, user, circle_id, version
    )
    return JSONResponse(
        {"state": membership.state.value, "agreement_version": membership.agreement_version}
    )


async def circle_member_list(request: Request, user: User) -> Response:
    view = await circle_members.member_list(user, path_id(request, "circle_id"))
    return JSONResponse(
        {
            "members": [
                {"user_id": m.user_id, "name": m.user.name, "facilitator": m.is_facilitator}
                for m in view.members
            ]
        }
    )


async def leave_circle(request: Request, user: User) -> Response:
    membership = await circle_members.check_leave(
        request.app.state.settings, user, path_id(request, "circle_id")
    )
    return JSONResponse({"state": membership.state.value})


async def remove_circle_member(request: Request, user: User) -> Response:
    membership = await circle_members.check_remove(
        request.app.state.settings, user, path_id(request, "circle_id"), path_id(request, "user_id")
    )
    return JSONResponse({"user_id": membership.user_id, "state": membership.state.value})


async def start_circle_thread(request: Request, user: User) -> Response:
    circle_id = path_id(request, "circle_id")
    await circles.circle_for_member(user, circle_id)
    body = await read_body(request, ("title", "body"))
    title, text = body.string("title"), body.string("body")
    body.check()
    thread = await circle_posts.check_start_thread(
        request.app.state.settings, user, circle_id, title, text
    )
    return JSONResponse(
        {"id": thread.id, "title": thread.title, "created_at": iso(thread.created_at)},
        status_code=201,
    )


async def list_circle_threads(request: Request, user: User) -> Response:
    _member, page = await circle_posts.list_threads(
        user, path_id(request, "circle_id"), page_number(request.query_params.get("page"))
    )
    names = await circles.author_names([t.author_id for t in page.items if t.author_id])
    items = [
        {
            "id": t.id,
            "title": t.title,
            "author": names.get(t.author_id) if t.author_id else None,
            "created_at": iso(t.created_at),
            "last_post_at": iso(t.last_post_at),
        }
        for t in page.items
    ]
    return JSONResponse(page_json(page, items))


async def record_circle_checkin(request: Request, user: User) -> Response:
    circle_id = path_id(request, "circle_id")
    await circles.circle_for_member(user, circle_id)
    body = await read_body(request, ("score", "note"))
    score, note = body.integer("score", 0), body.string("note")
    body.check()
    made = await checkins.check_record(user, circle_id, score, note)
    return JSONResponse(
        {"id": made.id, "score": made.score, "note": made.note, "created_at": iso(made.created_at)},
        status_code=201,
    )


async def circle_checkin_summary(request: Request, user: User) -> Response:
    found = await checkins.summary(user, path_id(request, "circle_id"))
    return JSONResponse(
        {
            "period": found.period,
            "periods": [
                {"period": p.period, "members": p.members, "mean": p.mean} for p in found.periods
            ],
        }
    )


ENDPOINTS = (
    Endpoint(
        "GET",
        "/circles",
        list_circles_api,
        "Circles you may see: yours, those you are invited to, and listed ones",
        response="CirclePage",
        query=("page",),
    ),
    Endpoint(
        "POST",
        "/circles",
        create_circle,
        "Create a circle and invite its first facilitator (staff); the creator does not "
        "see it again unless a member",
        ok=201,
        response="NewCircleCreated",
        body="NewCircle",
    ),
    Endpoint(
        "GET",
        "/circles/{circle_id}",
        show_circle,
        "A circle: name and purpose for those who may know of it, the agreement for those "
        "invited, the rest for members; 404 otherwise",
        response="Circle",
    ),
    Endpoint(
        "POST",
        "/circles/{circle_id}/invitations",
        invite_to_circle,
        "Invite someone with an account (facilitators); a place is held for them",
        ok=201,
        response="Membership",
        body="CircleInvitation",
    ),
    Endpoint(
        "POST",
        "/circles/{circle_id}/requests",
        ask_to_join_circle,
        "Ask to join a listed circle",
        ok=201,
        response="Membership",
    ),
    Endpoint(
        "POST",
        "/circles/{circle_id}/requests/{user_id}/approve",
        approve_circle_request,
        "Approve a request to join (facilitators); refused once the cap is reached",
        response="Membership",
    ),
    Endpoint(
        "POST",
        "/circles/{circle_id}/join",
        join_circle,
        "Accept the circle's current agreement (the invited person, or a member asked again)",
        response="Membership",
        body="Agreement",
    ),
    Endpoint(
        "GET",
        "/circles/{circle_id}/members",
        circle_member_list,
        "The members",
        response="MemberList",
    ),
    Endpoint(
        "POST",
        "/circles/{circle_id}/leave",
        leave_circle,
        "Leave the circle (or decline an invitation, or withdraw a request)",
        response="Membership",
    ),
    Endpoint(
        "DELETE",
        "/circles/{circle_id}/members/{user_id}",
        remove_circle_member,
        "Remove someone (facilitators); their access ends at once",
        response="Membership",
    ),
    Endpoint(
        "POST",
        "/circles/{circle_id}/threads",
        start_circle_thread,
        "Start a thread (members); Markdown, sanitised when shown",
        ok=201,
        response="Thread",
        body="NewThread",
    ),
    Endpoint(
        "GET",
        "/circles/{circle_id}/threads",
        list_circle_threads,
        "The circle's threads, latest activity first",
        response="ThreadPage",
        query=("page",),
    ),
    Endpoint(
        "POST",
        "/circles/{circle_id}/checkins",
        record_circle_checkin,
        "Record how you are doing (1 to 5); the note is read by you alone",
        ok=201,
        response="CheckIn",
        body="NewCheckIn",
    ),
    Endpoint(
        "GET",
        "/circles/{circle_id}/checkins/summary",
        circle_checkin_summary,
        "Closed periods with at least 5 members who checked in: count and mean only (facilitators)",
        response="CheckInSummary",
    ),
)

_STATE = {"enum": [s.value for s in MembershipState] + ["none", "agreement_changed"]}

SCHEMAS: dict[str, Any] = {
    "NewCircle": {
        "type": "object",
        "required": ["name", "facilitator"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "purpose": {"type": "string"},
            "kind": enum_of(CircleKind),
            "facilitator": {"type": "string", "description": "email of the first facilitator"},
            "cap": {"type": "integer", "minimum": circles.MIN_CAP, "maximum": circles.MAX_CAP},
            "timezone": {"type": "string", "description": "IANA zone of check-in periods"},
            "checkin_period": enum_of(CheckInPeriod),
        },
    },
    "NewCircleCreated": {
        "type": "object",
        "required": ["id", "name", "kind", "cap"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "purpose": {"type": "string"},
            "kind": enum_of(CircleKind),
            "cap": {"type": "integer"},
            "checkin_period": enum_of(CheckInPeriod),
            "timezone": {"type": "string"},
        },
    },
    "Circle": {
        "type": "object",
        "required": ["id", "name", "purpose", "kind", "your_state"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "purpose": {"type": "string"},
            "kind": enum_of(CircleKind),
            "your_state": _STATE,
            "agreement": {
                "type": "object",
                "properties": {"version": {"type": "integer"}, "text": {"type": "string"}},
            },
            "cap": {"type": "integer"},
            "facilitator": {"type": "boolean"},
            "support_resources": {"type": "string"},
            "checkin_period": enum_of(CheckInPeriod),
            "timezone": {"type": "string"},
        },
    },
    "CirclePage": page_of("Circle"),
    "CircleInvitation": {
        "type": "object",
        "required": ["email"],
        "additionalProperties": False,
        "properties": {"email": {"type": "string"}},
    },
    "Agreement": {
        "type": "object",
        "required": ["agreement_version"],
        "additionalProperties": False,
        "properties": {"agreement_version": {"type": "integer"}},
    },
    "Membership": {
        "type": "object",
        "required": ["state"],
        "properties": {
            "user_id": {"type": "integer"},
            "state": _STATE,
            "agreement_version": {"type": "integer"},
        },
    },
    "MemberList": {
        "type": "object",
        "required": ["members"],
        "properties": {
            "members": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "user_id": {"type": "integer"},
                        "name": {"type": "string"},
                        "facilitator": {"type": "boolean"},
                    },
                },
            }
        },
    },
    "NewThread": {
        "type": "object",
        "required": ["title", "body"],
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string"},
            "body": {"type": "string", "description": "Markdown"},
        },
    },
    "Thread": {
        "type": "object",
        "required": ["id", "title"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "author": {"type": ["string", "null"]},
            "created_at": TIME,
            "last_post_at": TIME,
        },
    },
    "ThreadPage": page_of("Thread"),
    "NewCheckIn": {
        "type": "object",
        "required": ["score"],
        "additionalProperties": False,
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "note": {"type": "string", "description": "read by you alone"},
        },
    },
    "CheckIn": {
        "type": "object",
        "required": ["id", "score"],
        "properties": {
            "id": {"type": "integer"},
            "score": {"type": "integer"},
            "note": {"type": "string"},
            "created_at": TIME,
        },
    },
    "CheckInSummary": {
        "type": "object",
        "required": ["period", "periods"],
        "properties": {
            "period": enum_of(CheckInPeriod),
            "periods": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["period", "members", "mean"],
                    "properties": {
                        "period": {"type": "string", "examples": ["2027-W11", "2027-03"]},
                        "members": {"type": "integer", "minimum": 5},
                        "mean": {"type": "number"},
                    },
                },
            },
        },
    },
}
