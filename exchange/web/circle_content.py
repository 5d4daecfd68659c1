"""Pages inside a circle, for its members only: the discussion, check-ins, the
facilitators' check-in summary, and meetings."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.i18n import gettext as _
from exchange.services import checkins, circle_meetings, circle_posts
from exchange.services.errors import Conflict, ValidationError
from exchange.services.pagination import page_number
from exchange.web.auth import require_user, signed_in
from exchange.web.circles import labels
from exchange.web.forms import path_id, read_form, text
from exchange.web.rendering import flash, redirect, render

# ------------------------------------------------------------------ the discussion


@signed_in
async def thread_new(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")
    member, _threads = await circle_posts.list_threads(user, circle_id, 1)
    context: dict[str, object] = {"member": member, **labels()}
    if request.method == "GET":
        return render(request, "circles/thread_new.html", context)
    form = await read_form(request)
    try:
        thread = await circle_posts.check_start_thread(
            request.app.state.settings,
            user,
            circle_id,
            text(form, "title", 400),
            text(form, "body", 40_000),
        )
    except ValidationError as exc:
        context.update(errors=exc.fields, values={n: text(form, n) for n in ("title", "body")})
        return render(request, "circles/thread_new.html", context, status_code=400)
    return redirect(circle_posts.thread_path(thread))


@signed_in
async def thread_show(request: Request) -> Response:
    """The thread and its replies; posting here adds a reply."""
    user, circle_id = require_user(request), path_id(request, "circle_id")
    thread_id = path_id(request, "thread_id")
    view = await circle_posts.thread_view(user, circle_id, thread_id)
    context: dict[str, object] = {"view": view, "member": view.member, **labels()}
    if request.method == "GET":
        return render(request, "circles/thread.html", context)
    form = await read_form(request)
    try:
        post = await circle_posts.check_reply(
            request.app.state.settings, user, circle_id, thread_id, text(form, "body", 40_000)
        )
    except ValidationError as exc:
        context.update(errors=exc.fields, values={"body": text(form, "body")})
        return render(request, "circles/thread.html", context, status_code=400)
    return redirect(f"{circle_posts.thread_path(view.thread)}#post-{post.id}")


@signed_in
async def post_edit(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")
    post_id = path_id(request, "post_id")
    try:
        found = await circle_posts.post_to_change(user, circle_id, post_id)
    except Conflict as exc:
        response = redirect(f"/circles/{circle_id}")
        flash(request, response, str(exc), "error")
        return response
    context: dict[str, object] = {"found": found, "member": found.member, **labels()}
    if request.method == "GET":
        context["values"] = {"body": found.post.body, "title": found.thread.title}
        return render(request, "circles/post_edit.html", context)
    form = await read_form(request)
    try:
        await circle_posts.check_edit_post(
            user, circle_id, post_id, text(form, "body", 40_000), text(form, "title", 400)
        )
    except ValidationError as exc:
        context.update(errors=exc.fields, values={n: text(form, n) for n in ("title", "body")})
        return render(request, "circles/post_edit.html", context, status_code=400)
    return redirect(f"{circle_posts.thread_path(found.thread)}#post-{post_id}")


@signed_in
async def post_delete(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")
    post_id = path_id(request, "post_id")
    await read_form(request)
    try:
        found = await circle_posts.post_to_change(user, circle_id, post_id)
        await circle_posts.delete_post(user, circle_id, post_id)
    except Conflict as exc:
        response = redirect(f"/circles/{circle_id}")
        flash(request, response, str(exc), "error")
        return response
    response = redirect(circle_posts.thread_path(found.thread))
    flash(request, response, _("Your post is deleted. Its text is gone for good."), "success")
    return response


@signed_in
async def post_hide(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")
    await read_form(request)
    post = await circle_posts.toggle_hidden(user, circle_id, path_id(request, "post_id"))
    response = redirect(f"/circles/{circle_id}/threads/{post.thread_id}#post-{post.id}")
    message = _("The post is hidden.") if post.hidden_at else _("The post is shown again.")
    flash(request, response, message, "success")
    return response


# ------------------------------------------------------------------ check-ins


@signed_in
async def checkin_page(request: Request) -> Response:
    """Record how you are doing; see your own check-ins (nobody else sees them)."""
    user, circle_id = require_user(request), path_id(request, "circle_id")
    own = await checkins.own_checkins(
        user, circle_id, page_number(request.query_params.get("page"))
    )
    context: dict[str, object] = {"own": own, "member": own.member, **labels()}
    if request.method == "GET":
        return render(request, "circles/checkins.html", context)
    form = await read_form(request)
    try:
        await checkins.check_record(
            user, circle_id, text(form, "score", 2), text(form, "note", 4000)
        )
    except ValidationError as exc:
        context.update(errors=exc.fields, values={n: text(form, n) for n in ("score", "note")})
        return render(request, "circles/checkins.html", context, status_code=400)
    response = redirect(f"/circles/{circle_id}/checkins")
    flash(request, response, _("Thank you. Your check-in is recorded."), "success")
    return response


@signed_in
async def checkin_summary(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")
    found = await checkins.summary(user, circle_id)
    return render(
        request, "circles/summary.html", {"summary": found, "member": found.member, **labels()}
    )


# ------------------------------------------------------------------ meetings


@signed_in
async def meetings_page(request: Request) -> Response:
    """The circle's meetings; facilitators find times and schedule here."""
    user, circle_id = require_user(request), path_id(request, "circle_id")
    view = await circle_meetings.meetings_view(user, circle_id)
    params = request.query_params
    context: dict[str, object] = {
        "view": view,
        "member": view.member,
        "times": None,
        "now": datetime.now(UTC),
        **labels(),
    }
    if view.may_schedule and params.get("from"):
        try:
            context["times"] = await circle_meetings.suggest_times(
                user,
                circle_id,
                params.get("from", ""),
                params.get("to", ""),
                params.get("duration", "60"),
            )
        except ValidationError as exc:
            context["errors"] = exc.fields
    context["values"] = {k: params.get(k, "") for k in ("from", "to", "duration")}
    if request.method == "GET":
        return render(request, "circles/meetings.html", context)
    form = await read_form(request)
    try:
        await circle_meetings.check_schedule(
            request.app.state.settings,
            user,
            circle_id,
            text(form, "start", 40),
            text(form, "duration", 6),
            text(form, "online_url", 1000),
        )
    except ValidationError as exc:
        context.update(
            errors=exc.fields,
            values={n: text(form, n) for n in ("start", "duration", "online_url")},
        )
        return render(request, "circles/meetings.html", context, status_code=400)
    response = redirect(f"/circles/{circle_id}/meetings")
    flash(
        request,
        response,
        _("The meeting is scheduled; every member gets an invitation."),
        "success",
    )
    return response


@signed_in
async def meeting_cancel(request: Request) -> Response:
    user, circle_id = require_user(request), path_id(request, "circle_id")
    await read_form(request)
    response = redirect(f"/circles/{circle_id}/meetings")
    try:
        await circle_meetings.check_cancel(
            request.app.state.settings, user, circle_id, path_id(request, "meeting_id")
        )
    except Conflict as exc:
        flash(request, response, str(exc), "error")
        return response
    flash(
        request,
        response,
        _("The meeting is cancelled; every member's calendar is told."),
        "success",
    )
    return response


routes = [
    Route("/circles/{circle_id:id}/threads/new", thread_new, methods=["GET", "POST"]),
    Route("/circles/{circle_id:id}/threads/{thread_id:id}", thread_show, methods=["GET", "POST"]),
    Route("/circles/{circle_id:id}/posts/{post_id:id}/edit", post_edit, methods=["GET", "POST"]),
    Route("/circles/{circle_id:id}/posts/{post_id:id}/delete", post_delete, methods=["POST"]),
    Route("/circles/{circle_id:id}/posts/{post_id:id}/hide", post_hide, methods=["POST"]),
    Route("/circles/{circle_id:id}/checkins", checkin_page, methods=["GET", "POST"]),
    Route("/circles/{circle_id:id}/checkins/summary", checkin_summary),
    Route("/circles/{circle_id:id}/meetings", meetings_page, methods=["GET", "POST"]),
    Route(
        "/circles/{circle_id:id}/meetings/{meeting_id:id}/cancel", meeting_cancel, methods=["POST"]
    ),
]
