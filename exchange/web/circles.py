"""Pages of circles: the list, creating one, a circle's outline or home, the agreement,
joining and leaving, members, the facilitators' settings, and the admins' totals.

Every page of a circle asks the services, which ask `services/visibility.py` on each
request: a non-member gets a 404 for any URL of an unlisted circle (and the same 404 for a
circle that does not exist), whoever they are.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.i18n import gettext as _
from exchange.i18n import gettext_noop as N_
from exchange.models.circles import CheckInPeriod, CircleKind, MembershipState
from exchange.services import circle_members, circles
from exchange.services.circles import CircleInput, CircleSettingsInput
from exchange.services.errors import Conflict, ValidationError
from exchange.services.pagination import page_number
from exchange.web.auth import admin_only, require_user, signed_in, staff_only
from exchange.web.forms import path_id, read_form, text
from exchange.web.member_pages import kept_for_members
from exchange.web.options import timezone_options
from exchange.web.rendering import flash, redirect, render

NEW_FIELDS = ("name", "purpose", "kind", "facilitator", "cap", "timezone", "checkin_period")
SETTINGS_FIELDS = ("name", "purpose", "kind", "cap", "agreement_text", "support_resources")


def kind_label(value: str) -> str:
    labels = {
        CircleKind.LISTED.value: _(
            "Listed: its name and purpose are shown to signed-in users, who may ask to join"
        ),
        CircleKind.UNLISTED.value: _("Unlisted: known only to its members"),
    }
    return labels.get(value, value)


def short_kind_label(value: str) -> str:
    labels = {CircleKind.LISTED.value: _("Listed"), CircleKind.UNLISTED.value: _("Unlisted")}
    return labels.get(value, value)


def state_label(value: str) -> str:
    labels = {
        MembershipState.INVITED.value: _("Invited: accept the agreement to join"),
        MembershipState.REQUESTED.value: _("You asked to join: waiting for a facilitator"),
        MembershipState.ACTIVE.value: _("Member"),
        "agreement_changed": _("The agreement has changed: accept it to come back in"),
    }
    return labels.get(value, value)


def period_label(value: str) -> str:
    labels = {CheckInPeriod.WEEK.value: _("By week"), CheckInPeriod.MONTH.value: _("By month")}
    return labels.get(value, value)


def score_label(value: int) -> str:
    labels = {
        1: _("1 — very hard"),
        2: _("2 — hard"),
        3: _("3 — getting by"),
        4: _("4 — fairly well"),
        5: _("5 — well"),
    }
    return labels.get(value, str(value))


def score_options() -> list[tuple[str, str]]:
    return [(str(value), score_label(value)) for value in range(1, 6)]


def labels() -> dict[str, object]:
    return {
        "score_label": score_label,
        "score_options": score_options,
        "kind_label": kind_label,
        "short_kind_label": short_kind_label,
        "state_label": state_label,
        "period_label": period_label,
    }


# ------------------------------------------------------------------ the list


@signed_in
@kept_for_members
async def circle_list(request: Request) -> Response:
    user = require_user(request)
    listing = await circles.list_circles(user, page_number(request.query_params.get("page")))
    return render(request, "circles/list.html", {"listing": listing, **labels()})


@staff_only
async def circle_new(request: Request) -> Response:
    user = require_user(request)
    context: dict[str, object] = {
        "kind_options": [(k.value, kind_label(k.value)) for k in CircleKind],
        "period_options": [(p.value, period_label(p.value)) for p in CheckInPeriod],
        "timezone_options": timezone_options(),
    }
    if request.method == "GET":
        context["values"] = {
            "kind": CircleKind.UNLISTED.value,
            "cap": str(circles.DEFAULT_CAP),
            "checkin_period": CheckInPeriod.WEEK.value,
        }
        return render(request, "circles/new.html", context)
    form = await read_form(request)
    data = CircleInput(
        name=text(form, "name", 400),
        purpose=text(form, "purpose", 10_000),
        kind=text(form, "kind", 16),
        facilitator=text(form, "facilitator", 300),
        cap=text(form, "cap", 6),
        timezone=text(form, "timezone", 64),
        checkin_period=text(form, "checkin_period", 8),
    )
    try:
        await circles.check_create_circle(request.app.state.settings, user, data)
    except ValidationError as exc:
        context.update(errors=exc.fields, values={n: text(form, n) for n in NEW_FIELDS})
        return render(request, "circles/new.html", context, status_code=400)
    response = redirect("/circles")
    flash(
        request,
        response,
        _(
            "The circle is created and its facilitator invited. Unless you are its "
            "facilitator, you will not see it again."
        ),
        "success",
    )
    return response


@signed_in
async def my_data(request: Request) -> Response:
    """Everything the user wrote in circles and their check-ins, as a JSON download."""
    data = await circles.my_circle_data(require_user(request))
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-circle-data.json"'},
    )


# ------------------------------------------------------------------ one circle


@signed_in
@kept_for_members
async def circle_show(request: Request) -> Response:
    """A member's home of the circle; for anyone else who may know of it, its outline:
    the agreement to accept, a request waiting, or a listed circle to ask to join."""
    user = require_user(request)
    circle_id = path_id(request, "circle_id")
    outline = await circles.circle_outline(user, circle_id)
    if not outline.is_member:
        return render(request, "circles/outline.html", {"outline": outline, **labels()})
    home = await circles.circle_home(user, circle_id, page_number(request.query_params.get("page")))
    return render(request, "circles/home.html", {"home": home, "member": home.member, **labels()})


async def _done_or_refused(
    request: Request, back: str, action: Callable[[], Awaitable[str]], refused_back: str = ""
) -> Response:
    """Run an action from a form and go `back` saying what happened, or to `refused_back`
    (`back` by default) saying why not."""
    try:
        message = await action()
    except (ValidationError, Conflict) as exc:
        error = "; ".join(exc.fields.values()) if isinstance(exc, ValidationError) else str(exc)
        response = redirect(refused_back or back)
        flash(request, response, error, "error")
        return response
    response = redirect(back)
    flash(request, response, message, "success")
    return response


@signed_in
async def circle_join(request: Request) -> Response:
    """Accept the agreement shown (its version travels with the form)."""
    user, circle_id = require_user(request), path_id(request, "circle_id")
    form = await read_form(request)
    raw = text(form, "agreement_version", 9)

    async def join() -> str:
        await circle_members.check_join(
            request.app.state.settings, user, circle_id, int(raw) if raw.isdigit() else -1
        )
        return _("You have accepted the agreement. Welcome to the circle.")

    return await _done_or_refused(request, f"/circles/{circle_id}", join)


@signed_in
async def circle_request(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")

    async def ask() -> str:
        await circle_members.check_request(request.app.state.settings, user, circle_id)
        return _("Your request is sent to the circle's facilitators.")

    return await _done_or_refused(request, f"/circles/{circle_id}", ask)


@signed_in
async def circle_leave(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")

    async def leave() -> str:
        await circle_members.check_leave(request.app.state.settings, user, circle_id)
        return _("You are no longer in the circle.")

    return await _done_or_refused(request, "/circles", leave, f"/circles/{circle_id}")


@signed_in
async def circle_members_page(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")
    view = await circle_members.member_list(user, circle_id)
    return render(
        request,
        "circles/members.html",
        {"view": view, "member": view.member, **labels()},
    )


@signed_in
async def circle_invite(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")
    # Who may act decides first: a refused user learns nothing from form errors.
    await circles.circle_to_facilitate(user, circle_id)
    form = await read_form(request)

    async def invite() -> str:
        await circle_members.check_invite(
            request.app.state.settings, user, circle_id, text(form, "email", 300)
        )
        return _("The invitation is sent. A place is held until it is answered.")

    return await _done_or_refused(request, f"/circles/{circle_id}/members", invite)


def _member_action(name: str) -> Callable[[Request], Awaitable[Response]]:
    """Approve or decline a request, remove someone, name a facilitator."""
    run = {
        "approve": (
            circle_members.check_approve,
            N_("Approved: they are asked to accept the agreement."),
        ),
        "decline": (circle_members.check_decline, N_("The request is declined.")),
        "remove": (circle_members.check_remove, N_("Removed: their access has ended.")),
        "facilitator": (
            circle_members.check_name_facilitator,
            N_("They are now a facilitator too."),
        ),
    }

    @signed_in
    async def handler(request: Request) -> Response:
        user, circle_id = require_user(request), path_id(request, "circle_id")
        target = path_id(request, "user_id")
        await circles.circle_to_facilitate(user, circle_id)
        await read_form(request)
        service, message = run[name]

        async def act() -> str:
            await service(request.app.state.settings, user, circle_id, target)
            return _(message)

        return await _done_or_refused(request, f"/circles/{circle_id}/members", act)

    handler.__name__ = f"circle_member_{name}"
    return handler


@signed_in
async def circle_settings(request: Request) -> Response:
    """The facilitators' page: name, purpose, kind, cap, agreement, support resources."""
    user, circle_id = require_user(request), path_id(request, "circle_id")
    member = await circles.circle_to_facilitate(user, circle_id)
    circle = member.circle
    context: dict[str, object] = {
        "member": member,
        "kind_options": [(k.value, kind_label(k.value)) for k in CircleKind],
        **labels(),
    }
    if request.method == "GET":
        context["values"] = {
            "name": circle.name,
            "purpose": circle.purpose,
            "kind": circle.kind.value,
            "cap": str(circle.cap),
            "agreement_text": circle.agreement_text,
            "support_resources": circle.support_resources,
        }
        return render(request, "circles/settings.html", context)
    form = await read_form(request)
    data = CircleSettingsInput(
        name=text(form, "name", 400),
        purpose=text(form, "purpose", 10_000),
        kind=text(form, "kind", 16),
        cap=text(form, "cap", 6),
        agreement_text=text(form, "agreement_text", 40_000),
        support_resources=text(form, "support_resources", 40_000),
    )
    try:
        await circles.check_update_circle(request.app.state.settings, user, circle_id, data)
    except (ValidationError, Conflict) as exc:
        context.update(
            errors=exc.fields if isinstance(exc, ValidationError) else {},
            form_error=str(exc) if isinstance(exc, Conflict) else "",
            values={n: text(form, n) for n in SETTINGS_FIELDS},
        )
        return render(request, "circles/settings.html", context, status_code=400)
    response = redirect(f"/circles/{circle_id}")
    flash(request, response, _("The circle is saved."), "success")
    return response


@admin_only
async def admin_totals(request: Request) -> Response:
    totals = await circles.circle_totals(require_user(request))
    return render(request, "admin/circles.html", {"totals": totals})


MEMBER_ACTIONS = ("approve", "decline", "remove", "facilitator")

routes = [
    Route("/circles", circle_list, name="circles"),
    Route("/circles/new", circle_new, methods=["GET", "POST"], name="circle_new"),
    Route("/circles/my-data", my_data, name="circle_my_data"),
    Route("/circles/{circle_id:id}", circle_show, name="circle"),
    Route("/circles/{circle_id:id}/join", circle_join, methods=["POST"]),
    Route("/circles/{circle_id:id}/request", circle_request, methods=["POST"]),
    Route("/circles/{circle_id:id}/leave", circle_leave, methods=["POST"]),
    Route("/circles/{circle_id:id}/members", circle_members_page),
    Route("/circles/{circle_id:id}/invite", circle_invite, methods=["POST"]),
    *[
        Route(
            f"/circles/{{circle_id:id}}/members/{{user_id:id}}/{action}",
            _member_action(action),
            methods=["POST"],
        )
        for action in MEMBER_ACTIONS
    ],
    Route("/circles/{circle_id:id}/settings", circle_settings, methods=["GET", "POST"]),
    Route("/admin/circles", admin_totals, name="admin_circles"),
]
