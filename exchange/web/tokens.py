"""The user's personal access tokens for the JSON API: create (shown once) and revoke."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.i18n import gettext as _
from exchange.services import errors, tokens
from exchange.services.errors import ValidationError
from exchange.services.pagination import page_number
from exchange.web.auth import require_user, signed_in
from exchange.web.forms import read_form, text
from exchange.web.rendering import flash, redirect, render


@signed_in
async def token_page(request: Request) -> Response:
    user = require_user(request)
    page = await tokens.list_tokens(user, page_number(request.query_params.get("page")))
    if request.method == "GET":
        return render(request, "matching/tokens.html", {"page": page})
    form = await read_form(request)
    try:
        created = await tokens.check_create_token(user, text(form, "name", 200))
    except ValidationError as exc:
        return render(
            request,
            "matching/tokens.html",
            {"page": page, "errors": exc.fields, "values": {"name": text(form, "name")}},
            status_code=400,
        )
    page = await tokens.list_tokens(user, 1)
    # The raw token is shown on this response only; it is never stored or shown again.
    return render(request, "matching/tokens.html", {"page": page, "created": created})


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
