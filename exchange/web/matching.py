"""Pages of the brokering workflow: match requests, peer invitations, exchanges, the
staff dashboard and in-app notices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import urlencode

from babel.dates import format_timedelta
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange import i18n
from exchange.domain.matching import REGIONS
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.matching import ExchangeFormat, MatchRequest, RequestStatus
from exchange.services import brokering, notices, permissions, request_views
from exchange.services.brokering import Conflict, RequestFormOptions, RequestInput
from exchange.services.labels import (
    format_label,
    invitation_status_label,
    rating_label,
    region_label,
    request_progress_label,
    request_status_label,
)
from exchange.services.pagination import page_number
from exchange.services.validation import ValidationError
from exchange.web.auth import require_user, signed_in, staff_only
from exchange.web.forms import read_form, text
from exchange.web.rendering import flash, redirect, render

REQUEST_FIELDS = ("city", "description", "format", "time_frame", "peers_wanted", "languages")


def waiting_label(waiting: timedelta) -> str:
    return format_timedelta(waiting, locale=i18n.current_locale(), threshold=1.5)


def _labels() -> dict[str, object]:
    return {
        "format_label": format_label,
        "request_status_label": request_status_label,
        "request_progress_label": request_progress_label,
        "invitation_status_label": invitation_status_label,
        "event_text": brokering.event_text,
        "notice_text": notices.notice_text,
        "region_label": region_label,
    }


def _int_path(request: Request, name: str) -> int:
    try:
        return int(request.path_params[name])
    except (KeyError, ValueError):
        raise permissions.NotFound from None


def _form_options(options: RequestFormOptions) -> dict[str, object]:
    """The request form's choices with translated labels."""
    return {
        "challenge_options": options.challenges,
        "city_options": options.cities,
        "region_options": [(code, region_label(code)) for code in REGIONS],
        "format_options": [(f.value, format_label(f.value)) for f in ExchangeFormat],
    }


def request_input(form: FormData) -> RequestInput:
    languages = text(form, "languages", 200).replace(";", ",").split(",")
    return RequestInput(
        city_key=text(form, "city", 80),
        challenges=[v for v in form.getlist("challenges") if isinstance(v, str)],
        description=text(form, "description", 20_000),
        languages=languages,
        regions=[v for v in form.getlist("regions") if isinstance(v, str)],
        format=text(form, "format", 32),
        time_frame=text(form, "time_frame", 400),
        peers_wanted=text(form, "peers_wanted", 8),
    )


# ------------------------------------------------------------------ requests


@signed_in
async def request_list(request: Request) -> Response:
    user = require_user(request)
    status = request.query_params.get("status", "")
    page = await brokering.list_request_rows(
        user, page_number(request.query_params.get("page")), status
    )
    return render(
        request,
        "matching/requests.html",
        {
            "page": page,
            "status": status,
            "statuses": list(RequestStatus),
            "status_options": [(s.value, request_status_label(s.value)) for s in RequestStatus],
            **_labels(),
        },
    )


@signed_in
async def request_new(request: Request) -> Response:
    user = require_user(request)
    form_data = await read_form(request) if request.method == "POST" else None
    peer = text(form_data, "peer", 80) if form_data else request.query_params.get("peer", "")
    form_view = await request_views.request_form(user, peer)
    options = form_view.options
    own_city = options.own_city
    context = _form_options(options)
    context.update(_labels())
    context["preferred"] = form_view.preferred
    if form_data is None:
        context["values"] = {
            "city": own_city.key if own_city else "",
            "peers_wanted": "1",
            "format": "online",
        }
        context["chosen"] = {"challenges": [], "regions": []}
        return render(request, "matching/request_new.html", context)
    data = request_input(form_data)
    try:
        created = await brokering.check_file_request(user, data)
    except ValidationError as exc:
        context.update(
            errors=exc.fields,
            values={name: text(form_data, name) for name in REQUEST_FIELDS},
            chosen={"challenges": list(data.challenges), "regions": list(data.regions)},
        )
        return render(request, "matching/request_new.html", context, status_code=400)
    preferred = form_view.preferred
    response = redirect(
        f"/requests/{created.id}" + (f"?{urlencode({'peer': preferred.key})}" if preferred else "")
    )
    flash(request, response, _("Your request is filed. Choose whom to invite."), "success")
    return response


@signed_in
async def request_show(request: Request) -> Response:
    user = require_user(request)
    view = await request_views.request_page(
        user, _int_path(request, "request_id"), request.query_params.get("peer", "")
    )
    detail = view.detail
    return render(
        request,
        "matching/request.html",
        {
            "view": view,
            "detail": detail,
            "mr": detail.request,
            "challenge_names": detail.challenge_names,
            **_labels(),
        },
    )


@signed_in
async def request_invite(request: Request) -> Response:
    user = require_user(request)
    request_id = _int_path(request, "request_id")
    form = await read_form(request)
    city_key = text(form, "city", 80)
    response = redirect(f"/requests/{request_id}")
    try:
        invitation = await brokering.check_invite(
            request.app.state.settings, user, request_id, city_key
        )
    except (ValidationError, Conflict) as exc:
        message = exc.message if isinstance(exc, Conflict) else "; ".join(exc.fields.values())
        flash(request, response, message, "error")
        return response
    flash(request, response, _("%(city)s is invited.") % {"city": invitation.city.name}, "success")
    return response


@signed_in
async def request_withdraw(request: Request) -> Response:
    return await _end(request, brokering.withdraw_request, _("The request is withdrawn."))


@signed_in
async def request_close(request: Request) -> Response:
    return await _end(request, brokering.close_request, _("The request is closed."))


async def _end(
    request: Request, action: Callable[[User, int], Awaitable[MatchRequest]], done: str
) -> Response:
    user = require_user(request)
    request_id = _int_path(request, "request_id")
    response = redirect(f"/requests/{request_id}")
    try:
        await action(user, request_id)
    except Conflict as exc:
        flash(request, response, exc.message, "error")
        return response
    flash(request, response, done, "success")
    return response


# ------------------------------------------------------------------ invitations


@signed_in
async def invitation_list(request: Request) -> Response:
    user = require_user(request)
    page = await brokering.list_invitations(user, page_number(request.query_params.get("page")))
    return render(request, "matching/invitations.html", {"page": page, **_labels()})


@signed_in
async def invitation_show(request: Request) -> Response:
    user = require_user(request)
    invitation_id = _int_path(request, "invitation_id")
    detail = await brokering.invitation_detail(user, invitation_id)
    context = {
        "invitation": detail.invitation,
        "exchange": detail.exchange,
        "mr": detail.invitation.request,
        "can_answer": detail.can_answer,
        "challenge_names": detail.challenge_names,
        **_labels(),
    }
    if request.method == "GET":
        return render(request, "matching/invitation.html", context)
    form = await read_form(request)
    answer = text(form, "answer", 16)
    if answer not in ("accept", "decline"):
        context["errors"] = {"answer": _("Choose accept or decline.")}
        return render(request, "matching/invitation.html", context, status_code=400)
    try:
        await brokering.check_answer(
            request.app.state.settings,
            user,
            invitation_id,
            answer == "accept",
            text(form, "reason", 4000),
        )
    except ValidationError as exc:
        context["errors"] = exc.fields
        return render(request, "matching/invitation.html", context, status_code=400)
    except Conflict as exc:
        context["form_error"] = exc.message
        return render(request, "matching/invitation.html", context, status_code=409)
    response = redirect(f"/peer-invitations/{invitation_id}")
    message = (
        _("You accepted. The exchange has started.")
        if answer == "accept"
        else _("You declined. The requesting city is told.")
    )
    flash(request, response, message, "success")
    return response


# ------------------------------------------------------------------ exchanges


@signed_in
async def exchange_show(request: Request) -> Response:
    user = require_user(request)
    exchange_id = _int_path(request, "exchange_id")
    detail = await brokering.exchange_detail(user, exchange_id)
    context: dict[str, object] = {
        "exchange": detail.exchange,
        "feedback_given_by": detail.feedback_given_by,
        "feedback_sides": detail.sides,
        "can_give_feedback": detail.can_give_feedback,
        "on_behalf_options": detail.on_behalf_options,
        "rating_options": [(str(n), rating_label(n)) for n in range(brokering.MAX_RATING, 0, -1)],
        **_labels(),
    }
    if request.method == "GET":
        return render(request, "matching/exchange.html", context)
    form = await read_form(request)
    try:
        await brokering.check_conclude(
            request.app.state.settings,
            user,
            exchange_id,
            text(form, "rating", 4),
            text(form, "learned", 20_000),
            on_behalf_of=text(form, "on_behalf_of", 200),
        )
    except ValidationError as exc:
        context.update(
            errors=exc.fields,
            values={
                "rating": text(form, "rating", 4),
                "learned": text(form, "learned"),
                "on_behalf_of": text(form, "on_behalf_of", 200),
            },
        )
        return render(request, "matching/exchange.html", context, status_code=400)
    except Conflict as exc:
        context["form_error"] = exc.message
        return render(request, "matching/exchange.html", context, status_code=409)
    response = redirect(f"/exchanges/{exchange_id}")
    flash(request, response, _("Thank you: your feedback is recorded."), "success")
    return response


# ------------------------------------------------------------------ staff and notices


@staff_only
async def dashboard(request: Request) -> Response:
    page = await brokering.brokering_dashboard(
        require_user(request), page_number(request.query_params.get("page"))
    )
    return render(
        request,
        "matching/brokering.html",
        {"page": page, "waiting_label": waiting_label, **_labels()},
    )


@signed_in
async def notice_list(request: Request) -> Response:
    user = require_user(request)
    if request.method == "POST":
        await notices.mark_all_read(user)
        return redirect("/notices")
    page = await notices.list_notices(user, page_number(request.query_params.get("page")))
    return render(request, "matching/notices.html", {"page": page, **_labels()})


routes = [
    Route("/requests", request_list, name="requests"),
    Route("/requests/new", request_new, methods=["GET", "POST"], name="request_new"),
    Route("/requests/{request_id:id}", request_show, name="request"),
    Route("/requests/{request_id:id}/invite", request_invite, methods=["POST"]),
    Route("/requests/{request_id:id}/withdraw", request_withdraw, methods=["POST"]),
    Route("/requests/{request_id:id}/close", request_close, methods=["POST"]),
    Route("/peer-invitations", invitation_list, name="peer_invitations"),
    Route(
        "/peer-invitations/{invitation_id:id}",
        invitation_show,
        methods=["GET", "POST"],
        name="peer_invitation",
    ),
    Route("/exchanges/{exchange_id:id}", exchange_show, methods=["GET", "POST"], name="exchange"),
    Route("/brokering", dashboard, name="brokering"),
    Route("/notices", notice_list, methods=["GET", "POST"], name="notices"),
]
