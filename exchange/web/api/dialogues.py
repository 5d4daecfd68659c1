"""The API of dialogues: convene, change, cancel, invite, answer.

The same services as the pages decide everything, so a private dialogue is a 404 here
too, and participants alone see the list, the venue and the link.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.dialogues import (
    Answer,
    Dialogue,
    DialogueFormat,
    DialogueStatus,
    DialogueVisibility,
    Seat,
)
from exchange.services import dialogues, rsvp
from exchange.services.dialogues import AgendaItem, DialogueInput, DialogueView
from exchange.services.pagination import page_number
from exchange.web.api.base import PREFIX, Body, Endpoint, iso, page_json, read_body
from exchange.web.api.openapi import STRINGS, TIME, enum_of, page_of
from exchange.web.forms import path_id

DIALOGUE_FIELDS = (
    "title",
    "description",
    "challenges",
    "format",
    "host_city",
    "venue",
    "start",
    "end",
    "timezone",
    "capacity",
    "online_url",
    "visibility",
    "agenda",
    "reminder_hours",
)
AGENDA_KEYS = ("item", "minutes", "speaker")


def dialogue_json(view: DialogueView) -> dict[str, Any]:
    d = view.dialogue
    body: dict[str, Any] = {
        "id": d.id,
        "title": d.title,
        "description": d.description,
        "challenges": list(view.challenge_names),
        "format": d.format.value,
        "status": d.status.value,
        "visibility": d.visibility.value,
        "host_city": d.host_city.key if d.host_city else None,
        "start": iso(d.starts_at),
        "end": iso(d.ends_at),
        "timezone": d.timezone,
        "capacity": d.capacity,
        "seats_taken": d.seats_taken,
        "agenda": list(d.agenda),
        "reminder_hours": d.reminder_hours,
    }
    if view.own is not None:
        body["your_state"] = view.own.seat.value
    if view.sees_details:
        body["venue"] = d.venue
        body["online_url"] = d.online_url
        body["participants"] = [
            {"name": i.name or i.email, "state": i.seat.value} for i in view.participants
        ]
    return body


def _input(body: Body, current: Dialogue | None, current_slugs: list[str]) -> DialogueInput:
    """A DialogueInput from a JSON body; for PATCH, fields not given keep their value."""

    def text(name: str, value: str) -> str:
        return body.string(name, value) if name in body.data else value

    agenda = (
        [
            AgendaItem(
                item=str(item.get("item", "")),
                minutes=item.get("minutes") or 0,
                speaker=str(item.get("speaker", "")),
            )
            for item in body.objects("agenda", AGENDA_KEYS)
        ]
        if "agenda" in body.data
        else [AgendaItem(**item) for item in (current.agenda if current else [])]
    )
    capacity = current.capacity if current else None
    if "capacity" in body.data:
        capacity = body.optional_integer("capacity")
    reminder = current.reminder_hours if current else 24
    if "reminder_hours" in body.data:
        reminder = body.integer("reminder_hours", reminder)
    return DialogueInput(
        title=text("title", current.title if current else ""),
        description=text("description", current.description if current else ""),
        challenges=body.strings("challenges") if "challenges" in body.data else current_slugs,
        format=text("format", current.format.value if current else DialogueFormat.ONLINE.value),
        host_city=text("host_city", current.host_city.key if current and current.host_city else ""),
        venue=text("venue", current.venue if current else ""),
        online_url=text("online_url", current.online_url if current else ""),
        start=text("start", iso(current.starts_at) or "" if current else ""),
        end=text("end", iso(current.ends_at) or "" if current else ""),
        timezone=text("timezone", current.timezone if current else "UTC"),
        capacity=capacity,
        visibility=text(
            "visibility",
            current.visibility.value if current else DialogueVisibility.INVITED.value,
        ),
        agenda=agenda,
        reminder_hours=reminder,
    )


async def _show(request: Request, user: User, dialogue_id: int, status: int = 200) -> Response:
    view = await dialogues.dialogue_detail(user, dialogue_id)
    return JSONResponse(dialogue_json(view), status_code=status)


async def list_dialogues_api(request: Request, user: User) -> Response:
    params = request.query_params
    filters = dialogues.DialogueFilters(
        challenge=params.get("challenge", "")[:64],
        format=params.get("format", "")[:32],
        when="past" if params.get("when") == "past" else "upcoming",
    )
    page = await dialogues.list_dialogues(user, filters, page_number(params.get("page")))
    items = [
        {
            "id": d.id,
            "title": d.title,
            "format": d.format.value,
            "status": d.status.value,
            "start": iso(d.starts_at),
            "end": iso(d.ends_at),
        }
        for d in page.items
    ]
    return JSONResponse(page_json(page, items))


async def create_dialogue(request: Request, user: User) -> Response:
    body = await read_body(request, DIALOGUE_FIELDS)
    data = _input(body, None, [])
    body.check()
    created = await dialogues.check_create_dialogue(request.app.state.settings, user, data)
    response = await _show(request, user, created.id, 201)
    response.headers["Location"] = f"{PREFIX}/dialogues/{created.id}"
    return response


async def show_dialogue(request: Request, user: User) -> Response:
    return await _show(request, user, path_id(request, "dialogue_id"))


async def update_dialogue(request: Request, user: User) -> Response:
    dialogue_id = path_id(request, "dialogue_id")
    view = await dialogues.dialogue_detail(user, dialogue_id)
    body = await read_body(request, DIALOGUE_FIELDS)
    data = _input(body, view.dialogue, list(view.challenge_names))
    body.check()
    await dialogues.check_update_dialogue(request.app.state.settings, user, dialogue_id, data)
    return await _show(request, user, dialogue_id)


async def cancel_dialogue(request: Request, user: User) -> Response:
    dialogue_id = path_id(request, "dialogue_id")
    await dialogues.cancel_dialogue(request.app.state.settings, user, dialogue_id)
    return await _show(request, user, dialogue_id)


async def invite_to_dialogue(request: Request, user: User) -> Response:
    body = await read_body(request, ("emails", "timezone"))
    emails = body.strings("emails")
    zone = body.string("timezone")
    body.check()
    dialogue_id = path_id(request, "dialogue_id")
    invited = await rsvp.check_invite_people(
        request.app.state.settings, user, dialogue_id, emails, zone
    )
    return JSONResponse(
        {
            "invited": [
                {"email": i.email, "guest": i.user_id is None, "state": i.seat.value}
                for i in invited
            ]
        },
        status_code=201,
    )


async def answer_dialogue(request: Request, user: User) -> Response:
    body = await read_body(request, ("answer",))
    choice = body.string("answer")
    if "answer" not in body.fields and choice not in (Answer.YES, Answer.NO, Answer.MAYBE):
        body.fields["answer"] = _("Answer yes, no or maybe.")
    body.check()
    invitee = await rsvp.check_rsvp(
        request.app.state.settings, user, path_id(request, "dialogue_id"), choice
    )
    return JSONResponse({"answer": invitee.answer.value, "state": invitee.seat.value})


ENDPOINTS = (
    Endpoint(
        "GET",
        "/dialogues",
        list_dialogues_api,
        "Dialogues you may see, upcoming (or past with when=past)",
        response="DialoguePage",
        query=("page", "when", "challenge", "format"),
    ),
    Endpoint(
        "POST",
        "/dialogues",
        create_dialogue,
        "Convene a dialogue (staff); scheduled when start and end are given",
        ok=201,
        response="Dialogue",
        body="NewDialogue",
    ),
    Endpoint("GET", "/dialogues/{dialogue_id}", show_dialogue, "A dialogue", response="Dialogue"),
    Endpoint(
        "PATCH",
        "/dialogues/{dialogue_id}",
        update_dialogue,
        "Change a dialogue (staff); a new time or place sends every invitee an update",
        response="Dialogue",
        body="DialogueChange",
    ),
    Endpoint(
        "POST",
        "/dialogues/{dialogue_id}/cancel",
        cancel_dialogue,
        "Cancel a dialogue (staff); every invitee's calendar gets a cancellation",
        response="Dialogue",
    ),
    Endpoint(
        "POST",
        "/dialogues/{dialogue_id}/invitations",
        invite_to_dialogue,
        "Invite people by email (staff); addresses without an account become guests",
        ok=201,
        response="Invited",
        body="DialogueInvitations",
    ),
    Endpoint(
        "POST",
        "/dialogues/{dialogue_id}/rsvp",
        answer_dialogue,
        "Answer an invitation (the invitee): yes, no or maybe",
        response="Rsvp",
        body="RsvpAnswer",
    ),
)

_AGENDA = {
    "type": "array",
    "items": {
        "type": "object",
        "additionalProperties": False,
        "required": ["item"],
        "properties": {
            "item": {"type": "string"},
            "minutes": {"type": "integer", "minimum": 0},
            "speaker": {"type": "string"},
        },
    },
}
_CHANGE_PROPERTIES: dict[str, Any] = {
    "title": {"type": "string"},
    "description": {"type": "string"},
    "challenges": STRINGS,
    "format": enum_of(DialogueFormat),
    "host_city": {"type": "string", "description": "city key"},
    "venue": {"type": "string"},
    "start": {"type": "string", "format": "date-time", "description": "ISO 8601 with offset"},
    "end": {"type": "string", "format": "date-time", "description": "ISO 8601 with offset"},
    "timezone": {"type": "string", "description": "IANA zone the dialogue is planned in"},
    "capacity": {"type": ["integer", "null"], "minimum": 1},
    "online_url": {"type": "string"},
    "visibility": enum_of(DialogueVisibility),
    "agenda": _AGENDA,
    "reminder_hours": {"type": "integer", "minimum": 0},
}
_STATE = enum_of(Seat)

SCHEMAS: dict[str, Any] = {
    "NewDialogue": {
        "type": "object",
        "required": ["title"],
        "additionalProperties": False,
        "properties": _CHANGE_PROPERTIES,
    },
    "DialogueChange": {
        "type": "object",
        "additionalProperties": False,
        "properties": _CHANGE_PROPERTIES,
    },
    "Dialogue": {
        "type": "object",
        "required": ["id", "title", "status", "format", "visibility"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "challenges": STRINGS,
            "format": enum_of(DialogueFormat),
            "status": enum_of(DialogueStatus),
            "visibility": enum_of(DialogueVisibility),
            "host_city": {"type": ["string", "null"]},
            "start": TIME,
            "end": TIME,
            "timezone": {"type": "string"},
            "capacity": {"type": ["integer", "null"]},
            "seats_taken": {"type": "integer"},
            "agenda": _AGENDA,
            "reminder_hours": {"type": "integer"},
            "your_state": _STATE,
            "venue": {"type": "string"},
            "online_url": {"type": "string"},
            "participants": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "state": _STATE},
                },
            },
        },
    },
    "DialogueSummary": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "format": enum_of(DialogueFormat),
            "status": enum_of(DialogueStatus),
            "start": TIME,
            "end": TIME,
        },
    },
    "DialoguePage": page_of("DialogueSummary"),
    "DialogueInvitations": {
        "type": "object",
        "required": ["emails"],
        "additionalProperties": False,
        "properties": {
            "emails": STRINGS,
            "timezone": {"type": "string", "description": "IANA zone for guests"},
        },
    },
    "Invited": {
        "type": "object",
        "properties": {
            "invited": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "email": {"type": "string"},
                        "guest": {"type": "boolean"},
                        "state": _STATE,
                    },
                },
            }
        },
    },
    "RsvpAnswer": {
        "type": "object",
        "required": ["answer"],
        "additionalProperties": False,
        "properties": {"answer": {"enum": ["yes", "no", "maybe"]}},
    },
    "Rsvp": {
        "type": "object",
        "required": ["answer", "state"],
        "properties": {
            "answer": {"enum": ["yes", "no", "maybe"]},
            "state": {"enum": ["confirmed", "waiting", "declined", "maybe"]},
        },
    },
}
