"""Sign in, sign out, invitations, password resets and the user's own settings."""

from __future__ import annotations

import functools
from collections.abc import Callable

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange import i18n
from exchange.i18n import gettext as _
from exchange.i18n import ngettext
from exchange.models.accounts import Role, User
from exchange.services import accounts, calendar_feed, errors, permissions, sessions
from exchange.services.errors import ValidationError
from exchange.settings import Settings
from exchange.web import csrf
from exchange.web.auth import (
    Endpoint,
    clear_session_cookie,
    client_ip,
    current_user,
    require_user,
    safe_next,
    set_session_cookie,
    signed_in,
    staff_only,
)
from exchange.web.errors import log
from exchange.web.forms import path_id, read_form, text, values
from exchange.web.options import city_options, role_label, timezone_options, weekday_options
from exchange.web.rendering import flash, redirect, render


def _signed_in_response(request: Request, target: str, session_id: str) -> Response:
    response = redirect(target)
    set_session_cookie(request, response, session_id)
    csrf.rotate_token(response, request.app.state.settings.is_production)
    return response


async def login(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if current_user(request) is not None:
            return redirect(next_url)
        return render(request, "accounts/login.html", {"next": next_url})
    form = await read_form(request)
    next_url = safe_next(text(form, "next"))
    try:
        signed = await accounts.check_sign_in(
            request.app.state.settings,
            text(form, "email", 254),
            text(form, "password", 1024),
            client_ip(request),
            request.headers.get("user-agent", ""),
        )
    except accounts.SignInThrottled:
        return render(
            request,
            "accounts/login.html",
            {
                "next": next_url,
                "values": values(form, "email"),
                "form_error": _("Too many failed attempts. Please wait 15 minutes and try again."),
            },
            status_code=429,
        )
    except accounts.SignInFailed:
        return render(
            request,
            "accounts/login.html",
            {
                "next": next_url,
                "values": values(form, "email"),
                "form_error": _("That email and password do not match an account."),
            },
            status_code=400,
        )
    return _signed_in_response(request, next_url, signed.session_id)


async def logout(request: Request) -> Response:
    state = request.scope.get("state", {})
    await accounts.sign_out(current_user(request), state.get("session_id", ""), client_ip(request))
    response = redirect("/")
    clear_session_cookie(request, response)
    csrf.rotate_token(response, request.app.state.settings.is_production)
    flash(request, response, _("You are signed out."))
    return response


async def password_reset_request(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "accounts/reset_request.html")
    form = await read_form(request)
    email = text(form, "email", 254)
    if not email.strip():
        errors = {"email": _("Enter the email address of your account.")}
        return render(request, "accounts/reset_request.html", {"errors": errors}, status_code=400)
    response = render(request, "accounts/reset_requested.html")
    # The answer goes out first and the work after it, so how long the answer takes
    # cannot tell whether the address has an account.
    response.background = BackgroundTask(
        _request_reset, request.app.state.settings, email, client_ip(request)
    )
    return response


async def _request_reset(settings: Settings, email: str, ip: str) -> None:
    try:
        await accounts.request_password_reset(settings, email, ip)
    except Exception:  # the answer is gone: nobody else would hear of the failure
        log.exception("A password-reset request failed")


def explains_dead_links(kind: str) -> Callable[[Endpoint], Endpoint]:
    """A used, expired or mistyped emailed link gets a page that says what to do next."""

    def decorator(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            try:
                return await endpoint(request)
            except errors.NotFound:
                return render(request, "accounts/link_unusable.html", {"kind": kind}, 404)

        return wrapper

    return decorator


@explains_dead_links("reset")
async def password_reset_confirm(request: Request) -> Response:
    token = request.path_params["token"]
    await accounts.open_password_reset(token)
    if request.method == "GET":
        return render(request, "accounts/reset_confirm.html", {"token": token})
    form = await read_form(request)
    try:
        await accounts.check_reset_password(
            request.app.state.settings,
            token,
            text(form, "password", 2048),
            text(form, "password_confirm", 2048),
            client_ip(request),
        )
    except ValidationError as exc:
        return render(
            request,
            "accounts/reset_confirm.html",
            {"token": token, "errors": exc.fields},
            status_code=400,
        )
    response = redirect("/login")
    flash(request, response, _("Your password is changed. Please sign in."), "success")
    return response


@staff_only
async def invitation_new(request: Request) -> Response:
    user = require_user(request)
    context: dict[str, object] = {
        "role_options": [(role.value, role_label(role)) for role in _invitable_roles(user)],
        "city_options": await city_options(),
    }
    if request.method == "GET":
        return render(request, "accounts/invite.html", context)
    form = await read_form(request)
    try:
        invitation = await accounts.check_invite(
            request.app.state.settings,
            user,
            email=text(form, "email", 254),
            name=text(form, "name", 200),
            role=text(form, "role", 16),
            city_key=text(form, "city", 80),
            ip=client_ip(request),
        )
    except ValidationError as exc:
        context.update(errors=exc.fields, values=values(form, "email", "name", "role", "city"))
        return render(request, "accounts/invite.html", context, status_code=400)
    response = redirect("/invitations/new")
    flash(
        request,
        response,
        _("Invitation sent to %(email)s.") % {"email": invitation.email},
        "success",
    )
    return response


def _invitable_roles(user: User) -> list[Role]:
    return [role for role in Role if permissions.can_invite_role(user, role)]


@explains_dead_links("invitation")
async def invitation_accept(request: Request) -> Response:
    token = request.path_params["token"]
    invitation = await accounts.open_invitation(token)
    context: dict[str, object] = {
        "invitation": invitation,
        "token": token,
        "timezones": timezone_options(),
        # An official most likely lives in their city's zone.
        "values": {"timezone": invitation.city.timezone if invitation.city else "UTC"},
    }
    if request.method == "GET":
        return render(request, "accounts/accept.html", context)
    form = await read_form(request)
    try:
        signed = await accounts.check_accept_invitation(
            token,
            text(form, "password", 2048),
            text(form, "password_confirm", 2048),
            text(form, "timezone", 64),
            client_ip(request),
            request.headers.get("user-agent", ""),
        )
    except ValidationError as exc:
        context.update(errors=exc.fields, values=values(form, "timezone"))
        return render(request, "accounts/accept.html", context, status_code=400)
    response = _signed_in_response(request, "/", signed.session_id)
    flash(
        request,
        response,
        _("Welcome to Exchange, %(name)s.") % {"name": signed.user.name},
        "success",
    )
    return response


def _current_session(request: Request) -> str:
    session_id: str = request.scope.get("state", {}).get("session_id", "")
    return session_id


@signed_in
async def settings_page(request: Request) -> Response:
    user = require_user(request)
    settings = request.app.state.settings
    context: dict[str, object] = {
        "timezones": timezone_options(),
        "locales": [(code, i18n.locale_display_name(code)) for code in i18n.SUPPORTED_LOCALES],
        "values": {"name": user.name, "timezone": user.timezone, "locale": user.locale},
        "hours": {"work_start": user.work_start, "work_end": user.work_end},
        "work_days": list(user.work_days),
        "weekdays": weekday_options(),
        "feed_url": settings.base_url + calendar_feed.feed_path(settings, user),
        "sessions": await sessions.list_sessions(
            request.app.state.settings, user, _current_session(request)
        ),
    }
    if request.method == "GET":
        return render(request, "accounts/settings.html", context)
    form = await read_form(request)
    if text(form, "action") == "feed":
        await calendar_feed.reset_feed(user)
        response: Response = redirect("/settings#calendar-heading")
        flash(
            request,
            response,
            _("Your calendar has a new address; the old one no longer works."),
            "success",
        )
        return response
    if text(form, "action") == "exchanges":
        await accounts.update_exchange_preferences(
            user,
            share_email=text(form, "share_email", 8) == "on",
            email_on_exchange_message=text(form, "email_on_exchange_message", 8) == "on",
        )
        response = redirect("/settings#exchanges-heading")
        flash(request, response, _("Your exchange preferences are saved."), "success")
        return response
    if text(form, "action") == "hours":
        days = [v for v in form.getlist("work_days") if isinstance(v, str)]
        try:
            await accounts.check_update_working_hours(
                user, start=text(form, "work_start", 8), end=text(form, "work_end", 8), days=days
            )
        except ValidationError as exc:
            context.update(
                hours_errors=exc.fields,
                hours=values(form, "work_start", "work_end"),
                work_days=days,
            )
            return render(request, "accounts/settings.html", context, status_code=400)
        response = redirect("/settings")
        flash(request, response, _("Your working hours are saved."), "success")
        return response
    if text(form, "action") == "password":
        try:
            session_id = await accounts.check_change_password(
                request.app.state.settings,
                user,
                text(form, "current_password", 2048),
                text(form, "password", 2048),
                text(form, "password_confirm", 2048),
                client_ip(request),
                request.headers.get("user-agent", ""),
            )
        except ValidationError as exc:
            context.update(password_errors=exc.fields)
            return render(request, "accounts/settings.html", context, status_code=400)
        response = _signed_in_response(request, "/settings", session_id)
        flash(
            request,
            response,
            _("Your password is changed. Other browsers are signed out."),
            "success",
        )
        return response
    try:
        await accounts.check_update_profile(
            user,
            name=text(form, "name", 200),
            timezone=text(form, "timezone", 64),
            locale=text(form, "locale", 16),
        )
    except ValidationError as exc:
        context.update(errors=exc.fields, values=values(form, "name", "timezone", "locale"))
        return render(request, "accounts/settings.html", context, status_code=400)
    response = redirect("/settings")
    with i18n.use_locale(user.locale):
        flash(request, response, _("Your settings are saved."), "success")
    return response


@signed_in
async def session_end(request: Request) -> Response:
    user = require_user(request)
    await sessions.end_own_session(user, path_id(request, "session_id"), client_ip(request))
    response = redirect("/settings")
    flash(request, response, _("That session is ended: the browser is signed out."), "success")
    return response


@signed_in
async def sessions_end_others(request: Request) -> Response:
    user = require_user(request)
    ended = await sessions.end_other_sessions(user, _current_session(request), client_ip(request))
    response = redirect("/settings")
    message = ngettext(
        "%(count)d other session is ended.", "%(count)d other sessions are ended.", ended
    ) % {"count": ended}
    flash(request, response, message, "success")
    return response


routes = [
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route(
        "/password/reset", password_reset_request, methods=["GET", "POST"], name="password_reset"
    ),
    Route(
        "/password/reset/{token}",
        password_reset_confirm,
        methods=["GET", "POST"],
        name="password_reset_confirm",
    ),
    Route("/invitations/new", invitation_new, methods=["GET", "POST"], name="invitation_new"),
    Route(
        "/invitations/{token}", invitation_accept, methods=["GET", "POST"], name="invitation_accept"
    ),
    Route("/settings", settings_page, methods=["GET", "POST"], name="settings"),
    Route("/settings/sessions/{session_id:id}/end", session_end, methods=["POST"]),
    Route("/settings/sessions/end-others", sessions_end_others, methods=["POST"]),
]
