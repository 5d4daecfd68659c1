"""Pages of match requests: the list, the request form, a request with its candidates,
inviting a peer, withdrawing or closing, and the staff's brokering dashboard."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import urlencode

from babel.dates import format_timedelta
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange import i18n
from exchange.i18n import gettext as _
from exchange.models.accounts import User
from exchange.models.cities import Region
from exchange.models.matching import ExchangeFormat, MatchRequest, RequestStatus
from exchange.services import brokering_report, match_requests, peer_invitations, request_views
from exchange.services.errors import Conflict, ValidationError
from exchange.services.labels import format_label, region_label, request_status_label
from exchange.services.match_requests import RequestFormOptions, RequestInput
from exchange.services.pagination import page_number
from exchange.web.auth import require_user, signed_in, staff_only
from exchange.web.forms import path_id, read_form, text
from exchange.web.labels import matching_labels
from exchange.web.rendering import flash, redirect, render
from exchange.web.traffic import expensive

REQUEST_FIELDS = ("city", "description", "format", "time_frame", "peers_wanted", "languages")


def waiting_label(waiting: timedelta) -> str:
    return format_timedelta(waiting, locale=i18n.babel_locale(), threshold=1.5)


def _form_options(options: RequestFormOptions) -> dict[str, object]:
    """The request form's choices with translated labels."""
    return {
        "challenge_options": options.challenges,
        "city_options": options.cities,
        "region_options": [(code, region_label(code)) for code in Region],
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
        auto_fallback=text(form, "auto_fallback", 8) == "on",
    )


@signed_in
async def request_list(request: Request) -> Response:
    user = require_user(request)
    status = request.query_params.get("status", "")
    page = await match_requests.list_request_rows(
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
            **matching_labels(),
        },
    )


@signed_in
async def request_new(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request) if request.method == "POST" else None
    peer = text(form, "peer", 80) if form else request.query_params.get("peer", "")
    form_view = await request_views.request_form(user, peer)
    options = form_view.options
    own_city = options.own_city
    context = _form_options(options)
    context.update(matching_labels())
    context["preferred"] = form_view.preferred
    if form is None:
        context["values"] = {
            "city": own_city.key if own_city else "",
            "peers_wanted": "1",
            "format": "online",
        }
        context["chosen"] = {"challenges": [], "regions": []}
        return render(request, "matching/request_new.html", context)
    data = request_input(form)
    try:
        created = await match_requests.check_file_request(user, data)
    except ValidationError as exc:
        context.update(
            errors=exc.fields,
            values={name: text(form, name) for name in REQUEST_FIELDS},
            chosen={"challenges": list(data.challenges), "regions": list(data.regions)},
        )
        return render(request, "matching/request_new.html", context, status_code=400)
    preferred = form_view.preferred
    query = f"?{urlencode({'peer': preferred.key})}" if preferred else ""
    response = redirect(f"/requests/{created.id}{query}")
    flash(request, response, _("Your request is filed. Choose whom to invite."), "success")
    return response


@signed_in
@expensive("matching")
async def request_show(request: Request) -> Response:
    user = require_user(request)
    view = await request_views.request_page(
        user, path_id(request, "request_id"), request.query_params.get("peer", "")
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
            **matching_labels(),
        },
    )


@signed_in
async def request_invite(request: Request) -> Response:
    user = require_user(request)
    request_id = path_id(request, "request_id")
    form = await read_form(request)
    city_key = text(form, "city", 80)
    response = redirect(f"/requests/{request_id}")
    try:
        invitation = await peer_invitations.check_invite_peer(
            request.app.state.settings,
            user,
            request_id,
            city_key,
            text(form, "override_reason", 2000),
        )
    except (ValidationError, Conflict) as exc:
        message = exc.message if isinstance(exc, Conflict) else "; ".join(exc.fields.values())
        flash(request, response, message, "error")
        return response
    flash(request, response, _("%(city)s is invited.") % {"city": invitation.city.name}, "success")
    return response


@signed_in
async def request_withdraw(request: Request) -> Response:
    """Withdrawing cannot be undone: the form's confirm box must be ticked."""
    form = await read_form(request)
    confirmed = text(form, "confirm", 8) == "on"
    try:
        return await _end(
            request,
            functools.partial(match_requests.withdraw_request, confirmed=confirmed),
            _("The request is withdrawn."),
        )
    except ValidationError as exc:
        response = redirect(f"/requests/{path_id(request, 'request_id')}#end-heading")
        flash(request, response, "; ".join(exc.fields.values()), "error")
        return response


@signed_in
async def request_close(request: Request) -> Response:
    return await _end(request, match_requests.close_request, _("The request is closed."))


async def _end(
    request: Request, action: Callable[[User, int], Awaitable[MatchRequest]], done: str
) -> Response:
    user = require_user(request)
    request_id = path_id(request, "request_id")
    response = redirect(f"/requests/{request_id}")
    try:
        await action(user, request_id)
    except Conflict as exc:
        flash(request, response, exc.message, "error")
        return response
    flash(request, response, done, "success")
    return response


@staff_only
async def dashboard(request: Request) -> Response:
    page = await match_requests.brokering_dashboard(
        require_user(request), page_number(request.query_params.get("page"))
    )
    overrides = await brokering_report.recent_overrides(require_user(request))
    return render(
        request,
        "matching/brokering.html",
        {
            "page": page,
            "overrides": overrides,
            "waiting_label": waiting_label,
            **matching_labels(),
        },
    )


@staff_only
async def report(request: Request) -> Response:
    """Per challenge: how often the first-ranked peer was invited, accepted, rated well."""
    rows = await brokering_report.first_ranked_report(require_user(request))
    return render(
        request,
        "matching/brokering_report.html",
        {"rows": rows, "rated_well": brokering_report.RATED_WELL},
    )


routes = [
    Route("/requests", request_list, name="requests"),
    Route("/requests/new", request_new, methods=["GET", "POST"], name="request_new"),
    Route("/requests/{request_id:id}", request_show, name="request"),
    Route("/requests/{request_id:id}/invite", request_invite, methods=["POST"]),
    Route("/requests/{request_id:id}/withdraw", request_withdraw, methods=["POST"]),
    Route("/requests/{request_id:id}/close", request_close, methods=["POST"]),
    Route("/brokering", dashboard, name="brokering"),
    Route("/brokering/report", report, name="brokering_report"),
]
