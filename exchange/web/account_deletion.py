"""Deleting one's own account from the settings, with everything written in circles."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.i18n import gettext as _
from exchange.services import account_deletion
from exchange.services.errors import Conflict, ValidationError
from exchange.web.auth import clear_session_cookie, require_user, signed_in
from exchange.web.forms import checkbox, read_form, text
from exchange.web.rendering import flash, redirect, render


@signed_in
async def delete_account(request: Request) -> Response:
    user = require_user(request)
    if request.method == "GET":
        return render(request, "accounts/delete.html")
    form = await read_form(request)
    try:
        await account_deletion.check_delete_own_account(
            request.app.state.settings,
            user,
            text(form, "password", 2048),
            checkbox(form, "confirm"),
        )
    except ValidationError as exc:
        return render(request, "accounts/delete.html", {"errors": exc.fields}, status_code=400)
    except Conflict as exc:
        return render(request, "accounts/delete.html", {"form_error": str(exc)}, status_code=409)
    response = redirect("/")
    clear_session_cookie(request, response)
    flash(request, response, _("Your account and everything you wrote in circles are deleted."))
    return response


routes = [
    Route(
        "/settings/delete-account", delete_account, methods=["GET", "POST"], name="delete_account"
    ),
]
