"""The page of an exchange between two cities: its people, their messages, the request
behind it, and each side's feedback."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.i18n import gettext as _
from exchange.services import dialogues, exchanges
from exchange.services.errors import Conflict, ValidationError
from exchange.services.labels import rating_label
from exchange.web.auth import require_user, signed_in
from exchange.web.forms import path_id, read_form, text
from exchange.web.labels import matching_labels
from exchange.web.rendering import flash, redirect, render


async def _context(request: Request, exchange_id: int) -> dict[str, object]:
    detail = await exchanges.exchange_detail(require_user(request), exchange_id)
    return {
        "exchange": detail.exchange,
        "detail": detail,
        "feedback_given_by": detail.feedback_given_by,
        "feedback_sides": detail.sides,
        "can_give_feedback": detail.can_give_feedback,
        "on_behalf_options": detail.on_behalf_options,
        "rating_options": [(str(n), rating_label(n)) for n in range(exchanges.MAX_RATING, 0, -1)],
        **matching_labels(),
    }


@signed_in
async def exchange_show(request: Request) -> Response:
    user = require_user(request)
    exchange_id = path_id(request, "exchange_id")
    context = await _context(request, exchange_id)
    if request.method == "GET":
        return render(request, "matching/exchange.html", context)
    form = await read_form(request)
    try:
        await exchanges.check_conclude(
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


@signed_in
async def post_message(request: Request) -> Response:
    """Write on the exchange's thread; the other city hears of it."""
    user = require_user(request)
    exchange_id = path_id(request, "exchange_id")
    form = await read_form(request)
    try:
        message = await exchanges.check_post_message(
            request.app.state.settings, user, exchange_id, text(form, "body", 20_000)
        )
    except ValidationError as exc:
        context = await _context(request, exchange_id)
        context.update(message_errors=exc.fields, message_body=text(form, "body"))
        return render(request, "matching/exchange.html", context, status_code=400)
    response = redirect(f"/exchanges/{exchange_id}#message-{message.id}")
    flash(request, response, _("Your message is posted."), "success")
    return response


@signed_in
async def close_exchange(request: Request) -> Response:
    """Staff close an exchange without waiting for the feedback still awaited."""
    exchange_id = path_id(request, "exchange_id")
    try:
        await exchanges.check_close(request.app.state.settings, require_user(request), exchange_id)
    except Conflict as exc:
        context = await _context(request, exchange_id)
        context["form_error"] = exc.message
        return render(request, "matching/exchange.html", context, status_code=409)
    response = redirect(f"/exchanges/{exchange_id}")
    flash(request, response, _("The exchange is closed."), "success")
    return response


@signed_in
async def schedule_call(request: Request) -> Response:
    """Set up a call between the exchange's two cities, then find a time for it."""
    dialogue = await dialogues.check_schedule_call(
        request.app.state.settings, require_user(request), path_id(request, "exchange_id")
    )
    response = redirect(f"/dialogues/{dialogue.id}/organise")
    flash(request, response, _("Both cities' officials are on the list: find a time."), "success")
    return response


routes = [
    Route("/exchanges/{exchange_id:id}", exchange_show, methods=["GET", "POST"], name="exchange"),
    Route("/exchanges/{exchange_id:id}/call", schedule_call, methods=["POST"]),
    Route("/exchanges/{exchange_id:id}/messages", post_message, methods=["POST"]),
    Route("/exchanges/{exchange_id:id}/close", close_exchange, methods=["POST"]),
]
