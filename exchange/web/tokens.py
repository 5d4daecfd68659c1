"""The user's personal access tokens for the JSON API: create (shown once) and revoke."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.i18n import gettext as _
from exchange.i18n import ngettext
from exchange.models.matching import PersonalAccessToken
from exchange.services import errors, tokens
from exchange.services.errors import ValidationError
from exchange.services.pagination import Page, page_number
from exchange.web.auth import client_ip, require_user, signed_in
from exchange.web.forms import read_form, text, values
from exchange.web.rendering import flash, redirect, render


def _context(page: Page[PersonalAccessToken]) -> dict[str, Any]:
    return {
        "page": page,
        "is_expired": tokens.is_expired,
        "lifetimes": [
            (str(days), ngettext("%(num)d day", "%(num)d days", days) % {"num": days})
            for days in tokens.LIFETIME_CHOICES
        ],
        "values": {"expires_days": str(tokens.DEFAULT_LIFETIME_DAYS)},
    }


@signed_in
async def token_page(request: Request) -> Response:
    user = require_user(request)
    page = await tokens.list_tokens(user, page_number(request.query_params.get("page")))
    if request.method == "GET":
        return render(request, "matching/tokens.html", _context(page))
    form = await read_form(request)
    try:
        created = await tokens.check_create_token(
            request.app.state.settings,
            user,
            text(form, "name", 200),
            text(form, "password", 2048),
            text(form, "expires_days", 16),
            ip=client_ip(request),
        )
    except ValidationError as exc:
        context = _context(page)
        context.update(errors=exc.fields, values=values(form, "name", "expires_days"))
        return render(request, "matching/tokens.html", context, status_code=400)
    # The raw token is shown on this response only; it is never stored or shown again.
    context = _context(await tokens.list_tokens(user, 1))
    context.update(created=created)
    return render(request, "matching/tokens.html", context)


@signed_in
async def token_revoke(request: Request) -> Response:
    user = require_user(request)
    try:
        token_id = int(request.path_params["token_id"])
    except ValueError:
        raise errors.NotFound from None
    await tokens.revoke_token(user, token_id)
    response = redirect("/settings/tokens")
    flash(request, response, _("The token is revoked."), "success")
    return response


routes = [
    Route("/settings/tokens", token_page, methods=["GET", "POST"], name="tokens"),
    Route("/settings/tokens/{token_id:id}/revoke", token_revoke, methods=["POST"]),
]
