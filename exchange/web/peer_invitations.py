"""Pages of peer invitations: those addressed to one's city, and answering one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.i18n import gettext as _
from exchange.services import peer_invitations
from exchange.services.errors import Conflict, ValidationError
from exchange.services.pagination import page_number
from exchange.web.auth import require_user, signed_in
from exchange.web.forms import path_id, read_form, text
from exchange.web.labels import matching_labels
from exchange.web.rendering import flash, redirect, render


@signed_in
async def invitation_list(request: Request) -> Response:
    user = require_user(request)
    page = await peer_invitations.list_invitations(
        user, page_number(request.query_params.get("page"))
    )
    return render(request, "matching/invitations.html", {"page": page, **matching_labels()})


@signed_in
async def invitation_show(request: Request) -> Response:
    user = require_user(request)
    invitation_id = path_id(request, "invitation_id")
    detail = await peer_invitations.invitation_detail(user, invitation_id)
    context = {
        "invitation": detail.invitation,
        "exchange": detail.exchange,
        "mr": detail.invitation.request,
        "can_answer": detail.can_answer,
        "challenge_names": detail.challenge_names,
        "reasons": detail.reasons,
        **matching_labels(),
    }
    if request.method == "GET":
        return render(request, "matching/invitation.html", context)
    form = await read_form(request)
    answer = text(form, "answer", 16)
    # What was chosen and typed stays in the form when it comes back with an error.
    decline_reason = text(form, "decline_reason", 32)
    context["values"] = {
        "answer": answer,
        "reason": text(form, "reason", 4000),
        "decline_reason": decline_reason,
    }
    if answer not in ("accept", "decline"):
        context["errors"] = {"answer": _("Choose accept or decline.")}
        return render(request, "matching/invitation.html", context, status_code=400)
    try:
        await peer_invitations.check_answer(
            request.app.state.settings,
            user,
            invitation_id,
            answer == "accept",
            text(form, "reason", 4000),
            decline_reason,
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


routes = [
    Route("/peer-invitations", invitation_list, name="peer_invitations"),
    Route(
        "/peer-invitations/{invitation_id:id}",
        invitation_show,
        methods=["GET", "POST"],
        name="peer_invitation",
    ),
]
