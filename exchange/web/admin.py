"""Admin pages: users, the audit log and the mail outbox."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.i18n import gettext as _
from exchange.models.accounts import Role
from exchange.models.mail import MailStatus
from exchange.services import audit, outbox, user_admin
from exchange.services.errors import ValidationError
from exchange.services.pagination import page_number
from exchange.web import IdConvertor
from exchange.web.auth import admin_only, client_ip, require_user
from exchange.web.forms import checkbox, read_form, text
from exchange.web.options import city_options, role_label, role_options
from exchange.web.rendering import flash, redirect, render


def _int_param(raw: str | None) -> int | None:
    """A database id from the query string, by the same rule as `{name:id}` in paths."""
    if not raw or not re.fullmatch(IdConvertor.regex, raw):
        return None
    return IdConvertor().convert(raw)


def event_labels() -> dict[str, str]:
    return {
        audit.Event.SIGN_IN: _("Signed in"),
        audit.Event.SIGN_IN_FAILED: _("Failed sign-in"),
        audit.Event.SIGN_IN_THROTTLED: _("Sign-in refused (too many attempts)"),
        audit.Event.SIGN_OUT: _("Signed out"),
        audit.Event.INVITATION_SENT: _("Invitation sent"),
        audit.Event.INVITATION_ACCEPTED: _("Invitation accepted"),
        audit.Event.PASSWORD_RESET_REQUESTED: _("Password reset requested"),
        audit.Event.PASSWORD_RESET: _("Password reset"),
        audit.Event.PASSWORD_CHANGED: _("Password changed"),
        audit.Event.ROLE_CHANGED: _("Role changed"),
        audit.Event.CITY_CHANGED: _("City changed"),
        audit.Event.DEACTIVATED: _("Deactivated"),
        audit.Event.REACTIVATED: _("Reactivated"),
        audit.Event.USER_CREATED: _("Account created"),
        audit.Event.MAIL_RESENT: _("Mail queued again"),
        audit.Event.TOKEN_CREATED: _("API token created"),
        audit.Event.SESSION_ENDED: _("Session ended from settings"),
        audit.Event.ACCOUNT_DELETED: _("Account deleted"),
        audit.Event.CIRCLE_CREATED: _("Circle created"),
        audit.Event.CIRCLE_INVITED: _("Invited to a circle"),
        audit.Event.CIRCLE_JOIN_REQUESTED: _("Asked to join a circle"),
        audit.Event.CIRCLE_JOIN_APPROVED: _("Request to join a circle approved"),
        audit.Event.CIRCLE_JOIN_DECLINED: _("Request to join a circle declined"),
        audit.Event.CIRCLE_JOINED: _("Joined a circle"),
        audit.Event.CIRCLE_AGREEMENT_ACCEPTED: _("Circle agreement accepted"),
        audit.Event.CIRCLE_LEFT: _("Left a circle"),
        audit.Event.CIRCLE_REMOVED: _("Removed from a circle"),
        audit.Event.CIRCLE_FACILITATOR_NAMED: _("Named circle facilitator"),
    }


def mail_status_labels() -> dict[str, str]:
    return {
        MailStatus.PENDING: _("Waiting"),
        MailStatus.SENDING: _("Sending"),
        MailStatus.SENT: _("Sent"),
        MailStatus.FAILED: _("Failed"),
    }


@admin_only
async def users(request: Request) -> Response:
    query = request.query_params.get("q", "")
    page = await user_admin.list_users(
        require_user(request), page_number(request.query_params.get("page")), query
    )
    labels = {role.value: role_label(role) for role in Role}
    return render(request, "admin/users.html", {"page": page, "q": query, "role_labels": labels})


@admin_only
async def user_edit(request: Request) -> Response:
    admin = require_user(request)
    user_id: int = request.path_params["user_id"]
    user = await user_admin.user_for_admin(admin, user_id)
    context: dict[str, object] = {
        "subject": user,
        "role_options": role_options(),
        "city_options": await city_options(),
    }
    if request.method == "GET":
        return render(request, "admin/user_edit.html", context)
    form = await read_form(request)
    try:
        await user_admin.check_admin_update_user(
            request.app.state.settings,
            admin,
            user.id,
            role=text(form, "role", 16),
            city_key=text(form, "city", 80),
            is_active=checkbox(form, "is_active"),
            ip=client_ip(request),
        )
    except ValidationError as exc:
        context["errors"] = exc.fields
        return render(request, "admin/user_edit.html", context, status_code=400)
    response = redirect(f"/admin/users/{user.id}")
    flash(request, response, _("The user is updated."), "success")
    return response


@admin_only
async def audit_log(request: Request) -> Response:
    user_id = _int_param(request.query_params.get("user"))
    event = request.query_params.get("event", "")
    page = await audit.list_events(
        require_user(request), page_number(request.query_params.get("page")), user_id, event
    )
    return render(
        request,
        "admin/audit.html",
        {
            "page": page,
            "event_labels": event_labels(),
            "event": event,
            "user_filter": user_id,
        },
    )


@admin_only
async def mail(request: Request) -> Response:
    status = request.query_params.get("status", "")
    page = await outbox.list_messages(
        require_user(request), page_number(request.query_params.get("page")), status
    )
    return render(
        request,
        "admin/mail.html",
        {"page": page, "status_labels": mail_status_labels(), "status": status},
    )


@admin_only
async def mail_resend(request: Request) -> Response:
    message_id: int = request.path_params["message_id"]
    await outbox.resend(require_user(request), message_id, client_ip(request))
    response = redirect("/admin/mail?status=failed")
    flash(request, response, _("The message is queued again."), "success")
    return response


routes = [
    Route("/admin/users", users, name="admin_users"),
    Route("/admin/users/{user_id:id}", user_edit, methods=["GET", "POST"], name="admin_user"),
    Route("/admin/audit", audit_log, name="admin_audit"),
    Route("/admin/mail", mail, name="admin_mail"),
    Route(
        "/admin/mail/{message_id:id}/resend",
        mail_resend,
        methods=["POST"],
        name="admin_mail_resend",
    ),
]
