"""Pages of dialogues: the list, a dialogue, answering, and the organiser's console."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.domain.calendar import feed_ics
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.dialogues import DialogueFormat, DialogueStatus, DialogueVisibility
from exchange.services import calendar_feed, dialogue_mail, dialogues, polls, rsvp
from exchange.services.cities import challenge_options, city_choices
from exchange.services.dialogues import AgendaItem, DialogueFilters, DialogueInput
from exchange.services.errors import Conflict, ValidationError
from exchange.services.labels import (
    dialogue_format_label,
    dialogue_status_label,
    seat_label,
    vote_label,
)
from exchange.services.pagination import page_number
from exchange.settings import Settings
from exchange.templating import format_local_datetime
from exchange.web.auth import current_user, require_user, signed_in, staff_only
from exchange.web.forms import path_id, read_form, text
from exchange.web.member_pages import kept_for_members
from exchange.web.options import timezone_options
from exchange.web.rendering import flash, redirect, render
from exchange.web.traffic import expensive

FORM_FIELDS = (
    "title",
    "description",
    "format",
    "host_city",
    "venue",
    "online_url",
    "start",
    "end",
    "timezone",
    "capacity",
    "visibility",
    "agenda",
    "reminder_hours",
)


def _labels() -> dict[str, object]:
    return {
        "format_label": dialogue_format_label,
        "status_label": dialogue_status_label,
        "visibility_label": _visibility_label,
        "seat_label": seat_label,
        "vote_label": vote_label,
    }


def _visibility_label(value: str) -> str:
    labels = {
        DialogueVisibility.PUBLIC.value: _(
            "Public: listed for everyone, without the list of participants or the link"
        ),
        DialogueVisibility.NETWORK.value: _("Network: every signed-in member"),
        DialogueVisibility.INVITED.value: _("Invited: only the people invited, and staff"),
    }
    return labels.get(value, value)


def agenda_from_text(raw: str) -> list[AgendaItem]:
    """One item a line: "title | minutes | speaker" (minutes and speaker optional)."""
    items = []
    for line in raw.splitlines():
        parts = [part.strip() for part in line.split("|")]
        if not any(parts):
            continue
        parts += ["", ""]
        items.append(AgendaItem(item=parts[0], minutes=parts[1] or 0, speaker=parts[2]))
    return items


def agenda_to_text(agenda: list[dict[str, object]]) -> str:
    return "\n".join(
        " | ".join(
            str(part)
            for part in (item["item"], item.get("minutes") or "", item.get("speaker") or "")
        ).rstrip(" |")
        for item in agenda
    )


def dialogue_input(form: FormData) -> DialogueInput:
    return DialogueInput(
        title=text(form, "title", 400),
        description=text(form, "description", 40_000),
        challenges=[v for v in form.getlist("challenges") if isinstance(v, str)],
        format=text(form, "format", 32),
        host_city=text(form, "host_city", 80),
        venue=text(form, "venue", 600),
        online_url=text(form, "online_url", 1000),
        start=text(form, "start", 40),
        end=text(form, "end", 40),
        timezone=text(form, "timezone", 64),
        capacity=text(form, "capacity", 12),
        visibility=text(form, "visibility", 16),
        agenda=agenda_from_text(text(form, "agenda", 20_000)),
        reminder_hours=text(form, "reminder_hours", 6),
    )


async def _form_context() -> dict[str, object]:
    return {
        "challenge_options": await challenge_options(),
        "city_options": await city_choices(),
        "format_options": [(f.value, dialogue_format_label(f.value)) for f in DialogueFormat],
        "visibility_options": [(v.value, _visibility_label(v.value)) for v in DialogueVisibility],
        "timezone_options": timezone_options(),
    }


def _local_input(moment: datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") if moment else ""


# ------------------------------------------------------------------ reading


@kept_for_members
async def dialogue_list(request: Request) -> Response:
    params = request.query_params
    filters = DialogueFilters(
        challenge=params.get("challenge", "")[:64],
        format=params.get("format", "")[:32],
        city=params.get("city", "")[:80],
        when="past" if params.get("when") == "past" else "upcoming",
    )
    user = current_user(request)
    page = await dialogues.list_dialogues(user, filters, page_number(params.get("page")))
    drafts = await dialogues.drafts_for(user) if filters.when == "upcoming" else []
    context = {
        "page": page,
        "filters": filters,
        "drafts": drafts,
        "challenge_options": await challenge_options(),
        "format_options": [(f.value, dialogue_format_label(f.value)) for f in DialogueFormat],
        "city_options": await dialogues.host_city_options(user),
        **_labels(),
    }
    return render(request, "dialogues/list.html", context)


@kept_for_members
async def dialogue_show(request: Request) -> Response:
    view = await dialogues.dialogue_detail(current_user(request), path_id(request, "dialogue_id"))
    return render(request, "dialogues/show.html", {"view": view, **_labels()})


async def dialogue_ics(request: Request) -> Response:
    """The dialogue as a calendar file, for "add to calendar"."""
    user = current_user(request)
    view = await dialogues.dialogue_detail(user, path_id(request, "dialogue_id"))
    dialogue = view.dialogue
    if dialogue.starts_at is None:
        return redirect(f"/dialogues/{dialogue.id}")
    settings = request.app.state.settings
    link = settings.base_url + f"/dialogues/{dialogue.id}"
    event = dialogue_mail.calendar_event(
        settings,
        dialogue,
        dialogue.organiser,
        [],
        link,
        dialogue.status == DialogueStatus.CANCELLED,
    )
    if not view.sees_details:
        # Those who are not taking part see neither the venue nor the meeting link.
        event = replace(event, location=None, url=None)
    return Response(
        feed_ics([event], dialogue.title),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="dialogue-{dialogue.id}.ics"'},
    )


@signed_in
async def dialogue_rsvp(request: Request) -> Response:
    user = require_user(request)
    dialogue_id = path_id(request, "dialogue_id")
    form = await read_form(request)
    response = redirect(f"/dialogues/{dialogue_id}")
    try:
        invitee = await rsvp.check_rsvp(
            request.app.state.settings, user, dialogue_id, text(form, "answer", 8)
        )
    except (ValidationError, Conflict) as exc:
        flash(
            request,
            response,
            str(exc) if isinstance(exc, Conflict) else _("Answer yes, no or maybe."),
            "error",
        )
        return response
    flash(request, response, _seat_message(invitee.seat.value), "success")
    return response


def _seat_message(seat: str) -> str:
    messages = {
        "confirmed": _("You are coming: your seat is confirmed."),
        "waiting": _(
            "The dialogue is full: you are on the waiting list "
            "and will be told when a seat is yours."
        ),
        "declined": _("You are not coming. Thank you for letting us know."),
        "maybe": _("You might come. You can change your answer at any time."),
    }
    return messages.get(seat, _("Your answer is recorded."))


async def invitation_link(request: Request) -> Response:
    """A personal link from an email: the dialogue, the answer buttons and the poll.

    Opening it changes nothing (mail scanners open links); answering is a form post.
    """
    settings = request.app.state.settings
    token = request.path_params["token"]
    invitee = await rsvp.invitee_for_link(settings, token)
    context: dict[str, object] = {"invitee": invitee, "dialogue": invitee.dialogue, "token": token}
    poll = None
    if invitee.dialogue.poll_open:
        poll = await polls.poll_for(invitee)
    context["poll"] = poll
    # A guest sees times in the zone given for them; the invitee's zone otherwise.
    viewer = current_user(request)
    context["zone"] = viewer.timezone if viewer is not None else invitee.timezone
    if request.method == "POST":
        form = await read_form(request)
        action = text(form, "action", 16)
        try:
            if action == "vote" and poll is not None:
                votes = {
                    option.id: text(form, f"option-{option.id}", 16)
                    for option in poll.options
                    if text(form, f"option-{option.id}", 16)
                }
                await polls.check_vote(settings, invitee, votes)
                message = _("Thank you: your times are recorded.")
            else:
                invitee = await rsvp.answer_as(settings, invitee.id, text(form, "answer", 8))
                message = _seat_message(invitee.seat.value)
        except (ValidationError, Conflict) as exc:
            context["form_error"] = (
                str(exc) if isinstance(exc, Conflict) else "; ".join(exc.fields.values())
            )
            return render(
                request, "dialogues/invitation.html", {**context, **_labels()}, status_code=400
            )
        response = redirect(f"/dialogues/invitation/{token}")
        flash(request, response, message, "success")
        return response
    return render(request, "dialogues/invitation.html", {**context, **_labels()})


@expensive("export")
async def calendar_feed_ics(request: Request) -> Response:
    settings = request.app.state.settings
    body = await calendar_feed.feed(settings, request.path_params["token"])
    return Response(body, media_type="text/calendar; charset=utf-8")


# ------------------------------------------------------------------ organising


@staff_only
async def dialogue_new(request: Request) -> Response:
    user = require_user(request)
    context = await _form_context()
    if request.method == "GET":
        context["values"] = {
            "timezone": user.timezone,
            "format": DialogueFormat.ONLINE.value,
            "visibility": DialogueVisibility.INVITED.value,
            "reminder_hours": "24",
        }
        context["chosen"] = []
        return render(request, "dialogues/form.html", context)
    form = await read_form(request)
    data = dialogue_input(form)
    try:
        dialogue = await dialogues.check_create_dialogue(request.app.state.settings, user, data)
    except ValidationError as exc:
        context.update(
            errors=exc.fields,
            values={name: text(form, name) for name in FORM_FIELDS},
            chosen=list(data.challenges),
        )
        return render(request, "dialogues/form.html", context, status_code=400)
    response = redirect(f"/dialogues/{dialogue.id}/organise")
    flash(request, response, _("The dialogue is created. Now invite people."), "success")
    return response


@signed_in
async def dialogue_edit(request: Request) -> Response:
    user = require_user(request)
    dialogue_id = path_id(request, "dialogue_id")
    view = await dialogues.dialogue_to_organise(user, dialogue_id)
    dialogue = view.dialogue
    context = await _form_context()
    context["dialogue"] = dialogue
    if request.method == "GET":
        context["values"] = {
            "title": dialogue.title,
            "description": dialogue.description,
            "format": dialogue.format.value,
            "host_city": dialogue.host_city.key if dialogue.host_city else "",
            "venue": dialogue.venue,
            "online_url": dialogue.online_url,
            "start": _local_input(dialogue.starts_at, dialogue.timezone),
            "end": _local_input(dialogue.ends_at, dialogue.timezone),
            "timezone": dialogue.timezone,
            "capacity": "" if dialogue.capacity is None else str(dialogue.capacity),
            "visibility": dialogue.visibility.value,
            "agenda": agenda_to_text(dialogue.agenda),
            "reminder_hours": str(dialogue.reminder_hours),
        }
        context["chosen"] = list(view.challenge_names)
        return render(request, "dialogues/form.html", context)
    form = await read_form(request)
    data = dialogue_input(form)
    try:
        await dialogues.check_update_dialogue(request.app.state.settings, user, dialogue_id, data)
    except (ValidationError, Conflict) as exc:
        context.update(
            errors=exc.fields if isinstance(exc, ValidationError) else {},
            form_error=str(exc) if isinstance(exc, Conflict) else "",
            values={name: text(form, name) for name in FORM_FIELDS},
            chosen=list(data.challenges),
        )
        return render(request, "dialogues/form.html", context, status_code=400)
    response = redirect(f"/dialogues/{dialogue_id}/organise")
    flash(
        request,
        response,
        _("The dialogue is saved; invitees are told of any change of time or place."),
        "success",
    )
    return response


@signed_in
async def organise(request: Request) -> Response:
    user = require_user(request)
    dialogue_id = path_id(request, "dialogue_id")
    view = await dialogues.dialogue_to_organise(user, dialogue_id)
    grid = await polls.poll_grid(user, dialogue_id)
    context: dict[str, object] = {
        "view": view,
        "dialogue": view.dialogue,
        "roster": await rsvp.roster(user, dialogue_id),
        "grid": grid,
        "pick_options": [
            (str(o.id), format_local_datetime(o.starts_at, user.timezone)) for o in grid.options
        ],
        "timezone_options": timezone_options(),
        "now": datetime.now(UTC),
        "suggestions": None,
        **_labels(),
    }
    params = request.query_params
    if params.get("from") and view.dialogue.status == DialogueStatus.DRAFT:
        try:
            context["suggestions"] = await polls.suggest_slots(
                user,
                dialogue_id,
                params.get("from", ""),
                params.get("to", ""),
                params.get("duration", "60"),
            )
        except ValidationError as exc:
            context["errors"] = exc.fields
    context["values"] = {k: params.get(k, "") for k in ("from", "to", "duration")}
    return render(request, "dialogues/organise.html", context)


async def _console_action(request: Request, action: str) -> Response:
    user = require_user(request)
    settings = request.app.state.settings
    dialogue_id = path_id(request, "dialogue_id")
    # Who may act decides first: a refused user learns nothing from form errors.
    await dialogues.access_dialogue_to_organise(user, dialogue_id)
    form = await read_form(request)
    response = redirect(f"/dialogues/{dialogue_id}/organise")
    try:
        message = await _run(action, settings, user, dialogue_id, form)
    except ValidationError as exc:
        flash(request, response, "; ".join(exc.fields.values()), "error")
        return response
    except Conflict as exc:
        flash(request, response, str(exc), "error")
        return response
    flash(request, response, message, "success")
    return response


async def _run(
    action: str, settings: Settings, user: User, dialogue_id: int, form: FormData
) -> str:
    """One organiser action from the console; returns what to tell them."""
    if action == "invite":
        emails = text(form, "emails", 50_000).replace(",", "\n").replace(";", "\n").split()
        invited = await rsvp.check_invite_people(
            settings, user, dialogue_id, emails, text(form, "timezone", 64)
        )
        return _("%(count)d people invited.") % {"count": len(invited)}
    if action == "remove":
        await rsvp.check_remove_invitee(settings, user, dialogue_id, _form_id(form, "invitee"))
        return _("Taken off the list; their calendar gets a cancellation.")
    if action == "resend":
        await rsvp.check_resend(settings, user, dialogue_id, _form_id(form, "invitee"))
        return _("The invitation is sent again.")
    if action == "cancel":
        if text(form, "confirm", 8) != "yes":
            raise ValidationError({"confirm": _("Tick the box to confirm the cancellation.")})
        await dialogues.cancel_dialogue(settings, user, dialogue_id)
        return _("The dialogue is cancelled; every invitee's calendar gets a cancellation.")
    if action == "attendance":
        present = [int(v) for v in form.getlist("attended") if isinstance(v, str) and v.isdigit()]
        await rsvp.check_attendance(settings, user, dialogue_id, present)
        return _("Attendance is recorded.")
    if action == "poll":
        starts = [
            moment
            for raw in form.getlist("option")
            if isinstance(raw, str) and (moment := dialogues.parse_moment(raw, "UTC")) is not None
        ]
        minutes = text(form, "duration", 6)
        await polls.check_open_poll(
            settings, user, dialogue_id, starts, int(minutes) if minutes.isdigit() else 0
        )
        return _("The poll is open; every invitee is asked by email.")
    if action == "pick":
        await polls.check_pick(settings, user, dialogue_id, _form_id(form, "option"))
        return _("The dialogue is scheduled; invitations are on their way.")
    raise ValidationError({"action": _("Unknown action.")})


def _form_id(form: FormData, name: str) -> int:
    raw = text(form, name, 12)
    if not raw.isdigit():
        raise ValidationError({name: _("Choose from the list.")})
    return int(raw)


def _console(action: str) -> Callable[[Request], Awaitable[Response]]:
    @signed_in
    async def handler(request: Request) -> Response:
        return await _console_action(request, action)

    handler.__name__ = f"dialogue_{action}"
    return handler


routes = [
    Route("/dialogues", dialogue_list, name="dialogues"),
    Route("/dialogues/new", dialogue_new, methods=["GET", "POST"], name="dialogue_new"),
    Route("/dialogues/invitation/{token}", invitation_link, methods=["GET", "POST"]),
    Route("/dialogues/{dialogue_id:id}", dialogue_show, name="dialogue"),
    Route("/dialogues/{dialogue_id:id}.ics", dialogue_ics),
    Route("/dialogues/{dialogue_id:id}/rsvp", dialogue_rsvp, methods=["POST"]),
    Route("/dialogues/{dialogue_id:id}/edit", dialogue_edit, methods=["GET", "POST"]),
    Route("/dialogues/{dialogue_id:id}/organise", organise),
    *[
        Route(f"/dialogues/{{dialogue_id:id}}/{action}", _console(action), methods=["POST"])
        for action in ("invite", "remove", "resend", "cancel", "attendance", "poll", "pick")
    ],
    Route("/calendar/{token}.ics", calendar_feed_ics),
]
