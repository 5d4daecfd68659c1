"""Pages of briefs (the library, a brief and its versions, exports, the workflow) and of
findings (recorded on a dialogue)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.i18n import gettext as _
from exchange.models.briefs import Attribution, BriefVisibility
from exchange.services import brief_export, briefs, findings
from exchange.services.briefs import BriefInput, LibraryFilters, PublishRefused
from exchange.services.cities import challenge_options
from exchange.services.errors import Conflict, ValidationError
from exchange.services.labels import region_label
from exchange.services.pagination import page_number
from exchange.web.auth import current_user, require_user, signed_in, staff_only
from exchange.web.forms import path_id, read_form, text
from exchange.web.member_pages import kept_for_members
from exchange.web.rendering import flash, redirect, render
from exchange.web.visitor_pages import kept_for_visitors

NETWORK = "Exchange"


def _visibility_label(value: str) -> str:
    labels = {
        BriefVisibility.PUBLIC.value: _("Public: anyone, in the public library and feed"),
        BriefVisibility.MEMBERS.value: _("Members: any signed-in user"),
        BriefVisibility.PARTICIPANTS.value: _(
            "Participants: those who took part in its dialogues, and staff"
        ),
    }
    return labels.get(value, value)


def _ids(form: FormData, name: str) -> list[int]:
    return [int(v) for v in form.getlist(name) if isinstance(v, str) and v.isdigit()]


def brief_input(form: FormData) -> BriefInput:
    return BriefInput(
        title=text(form, "title", 400),
        summary=text(form, "summary", 60_000),
        recommendations=text(form, "recommendations", 60_000),
        disclaimer=text(form, "disclaimer", 10_000),
        visibility=text(form, "visibility", 16),
        findings=_ids(form, "findings"),
        challenges=[v for v in form.getlist("challenges") if isinstance(v, str)],
        reviewers=text(form, "reviewers", 5000).replace(",", " ").split(),
    )


# ------------------------------------------------------------------ reading


async def brief_list(request: Request) -> Response:
    params = request.query_params
    year = params.get("year", "")
    filters = LibraryFilters(
        challenge=params.get("challenge", "")[:64],
        year=int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else None,
        region=params.get("region", "")[:32],
        city=params.get("city", "")[:80],
    )
    user = current_user(request)
    page = await briefs.list_briefs(user, filters, page_number(params.get("page")))
    return render(
        request,
        "briefs/list.html",
        {
            "page": page,
            "filters": filters,
            "drafts": await briefs.drafts_for(user),
            "challenge_options": await challenge_options(),
            "city_options": await briefs.mentioned_city_options(user),
            "region_label": region_label,
            "years": list(range(datetime.now(UTC).year, 2019, -1)),
        },
    )


@kept_for_visitors
@kept_for_members
async def brief_show(request: Request) -> Response:
    user = current_user(request)
    number = request.path_params.get("number")
    view = await briefs.brief_detail(user, path_id(request, "brief_id"), number)
    context: dict[str, object] = {"view": view, "visibility_label": _visibility_label}
    if view.can_edit or view.can_review:
        context["comments"] = await briefs.review_comments(require_user(request), view.brief.id)
        context["reviewers"] = await briefs.reviewers_of(view.brief)
        context["blocking"] = await briefs.blocking(view.brief)
    return render(request, "briefs/show.html", context)


async def brief_diff(request: Request) -> Response:
    params = request.query_params
    old, new = params.get("from", ""), params.get("to", "")
    brief_id = path_id(request, "brief_id")
    if not (old.isdigit() and new.isdigit()):
        view = await briefs.brief_detail(current_user(request), brief_id)  # 404 first
        return redirect(f"/briefs/{view.brief.id}")
    diff = await brief_export.diff_versions(current_user(request), brief_id, int(old), int(new))
    labels = {
        "title": _("Title"),
        "summary": _("Summary"),
        "findings": _("Findings"),
        "recommendations": _("Recommendations"),
    }
    return render(request, "briefs/diff.html", {"diff": diff, "labels": labels})


async def brief_markdown(request: Request) -> Response:
    view = await briefs.brief_detail(current_user(request), path_id(request, "brief_id"))
    if view.version is None:
        return redirect(f"/briefs/{view.brief.id}")
    url = request.app.state.settings.base_url + f"/briefs/{view.brief.id}"
    body = brief_export.markdown_of(view.version, NETWORK, url)
    return Response(
        body,
        media_type="text/markdown; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="brief-{view.brief.id}'
            f'-v{view.version.number}.md"'
        },
    )


async def brief_print(request: Request) -> Response:
    view = await briefs.brief_detail(current_user(request), path_id(request, "brief_id"))
    if view.version is None:
        return redirect(f"/briefs/{view.brief.id}")
    return render(request, "briefs/print.html", {"view": view, "network": NETWORK})


async def brief_feed(request: Request) -> Response:
    base = request.app.state.settings.base_url
    items = [(b, f"{base}/briefs/{b.id}") for b in await briefs.public_feed()]
    updated = items[0][0].published_at if items and items[0][0].published_at else datetime.now(UTC)
    body = brief_export.atom_feed(items, f"{base}/briefs/feed.atom", NETWORK, updated)
    return Response(body, media_type="application/atom+xml")


# ------------------------------------------------------------------ writing


async def _form_context() -> dict[str, object]:
    return {
        "challenge_options": await challenge_options(),
        "visibility_options": [(v.value, _visibility_label(v.value)) for v in BriefVisibility],
        "finding_options": await findings.findings_to_choose(),
    }


@staff_only
async def brief_new(request: Request) -> Response:
    user = require_user(request)
    context = await _form_context()
    if request.method == "GET":
        context.update(values={"visibility": "members"}, chosen=[], chosen_findings=[])
        return render(request, "briefs/form.html", context)
    form = await read_form(request)
    data = brief_input(form)
    try:
        brief = await briefs.check_create_brief(user, data)
    except ValidationError as exc:
        context.update(
            errors=exc.fields,
            values={
                n: text(form, n)
                for n in (
                    "title",
                    "summary",
                    "recommendations",
                    "disclaimer",
                    "visibility",
                    "reviewers",
                )
            },
            chosen=list(data.challenges),
            chosen_findings=list(data.findings),
        )
        return render(request, "briefs/form.html", context, status_code=400)
    response = redirect(f"/briefs/{brief.id}")
    flash(request, response, _("The brief is saved as a draft."), "success")
    return response


@signed_in
async def brief_edit(request: Request) -> Response:
    user = require_user(request)
    brief_id = path_id(request, "brief_id")
    brief = await briefs.access_brief_to_edit(user, brief_id)
    context = await _form_context()
    context["brief"] = brief
    if request.method == "GET":
        view = await briefs.brief_detail(user, brief_id)
        reviewers = await briefs.reviewers_of(brief)
        context.update(
            values={
                "title": brief.title,
                "summary": brief.summary,
                "recommendations": brief.recommendations,
                "disclaimer": brief.disclaimer,
                "visibility": brief.visibility.value,
                "reviewers": " ".join(r.user.email for r in reviewers),
            },
            chosen=await briefs.challenge_slugs(brief),
            chosen_findings=[row.finding.id for row in view.draft_findings],
        )
        return render(request, "briefs/form.html", context)
    form = await read_form(request)
    data = brief_input(form)
    try:
        await briefs.check_update_brief(user, brief_id, data)
    except ValidationError as exc:
        context.update(
            errors=exc.fields,
            values={
                n: text(form, n)
                for n in (
                    "title",
                    "summary",
                    "recommendations",
                    "disclaimer",
                    "visibility",
                    "reviewers",
                )
            },
            chosen=list(data.challenges),
            chosen_findings=list(data.findings),
        )
        return render(request, "briefs/form.html", context, status_code=400)
    response = redirect(f"/briefs/{brief_id}")
    flash(request, response, _("The draft is saved."), "success")
    return response


async def brief_action(request: Request, action: str) -> Response:
    """The workflow's buttons: review, comment, approve, publish."""
    user = require_user(request)
    settings = request.app.state.settings
    brief_id = path_id(request, "brief_id")
    form = await read_form(request)
    response = redirect(f"/briefs/{brief_id}")
    try:
        if action == "review":
            await briefs.check_submit_for_review(settings, user, brief_id)
            message = _("The brief is in review; the reviewers are told.")
        elif action == "comment":
            finding = text(form, "finding", 12)
            await briefs.check_comment(
                user,
                brief_id,
                text(form, "body", 6000),
                int(finding) if finding.isdigit() else None,
            )
            message = _("Your comment is added.")
        elif action == "approve":
            await briefs.check_approve(user, brief_id)
            message = _("You approved the brief.")
        else:
            confirm = [v for v in form.getlist("confirm") if isinstance(v, str)]
            version = await briefs.check_publish(settings, user, brief_id, confirm)
            message = _("Version %(number)d is published.") % {"number": version.number}
    except PublishRefused:
        flash(request, response, _("Not published yet: see what is still needed below."), "error")
        return response
    except (ValidationError, Conflict) as exc:
        detail = "; ".join(exc.fields.values()) if isinstance(exc, ValidationError) else str(exc)
        flash(request, response, detail, "error")
        return response
    flash(request, response, message, "success")
    return response


def _workflow(action: str) -> Callable[[Request], Awaitable[Response]]:
    @signed_in
    async def handler(request: Request) -> Response:
        return await brief_action(request, action)

    handler.__name__ = f"brief_{action}"
    return handler


# ------------------------------------------------------------------ findings


def finding_input(form: FormData) -> findings.FindingInput:
    return findings.FindingInput(
        title=text(form, "title", 400),
        body=text(form, "body", 40_000),
        challenges=[v for v in form.getlist("challenges") if isinstance(v, str)],
        attribution=text(form, "attribution", 20),
        cities=[v for v in form.getlist("cities") if isinstance(v, str)],
        practices=_ids(form, "practices"),
    )


@signed_in
async def dialogue_findings(request: Request) -> Response:
    user = require_user(request)
    dialogue_id = path_id(request, "dialogue_id")
    rows = await findings.findings_of(user, dialogue_id)
    context: dict[str, object] = {
        "rows": rows,
        "dialogue_id": dialogue_id,
        "challenge_options": await challenge_options(),
        "consenting": await findings.consenting_city_options(user, dialogue_id),
        "attribution_options": [
            (Attribution.NON_ATTRIBUTED.value, _("Non-attributed: no city or person is named")),
            (Attribution.ATTRIBUTED.value, _("Attributed: cities that consented are named")),
        ],
        "values": {"attribution": Attribution.NON_ATTRIBUTED.value},
        "chosen": [],
    }
    if request.method == "GET":
        return render(request, "briefs/findings.html", context)
    form = await read_form(request)
    data = finding_input(form)
    try:
        saved = await findings.check_record_finding(user, dialogue_id, data)
    except ValidationError as exc:
        context.update(
            errors=exc.fields,
            values={n: text(form, n) for n in ("title", "body", "attribution")},
            chosen=list(data.challenges),
        )
        return render(request, "briefs/findings.html", context, status_code=400)
    response = redirect(f"/dialogues/{dialogue_id}/findings")
    if saved.names:
        flash(
            request,
            response,
            _("Saved. The text names %(words)s: rewrite, or confirm before publishing.")
            % {"words": ", ".join(saved.names)},
            "error",
        )
    else:
        flash(request, response, _("The finding is saved."), "success")
    return response


@signed_in
async def finding_confirm(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    words = [v for v in form.getlist("confirm") if isinstance(v, str)]
    await findings.check_confirm_words(user, path_id(request, "finding_id"), words)
    response = redirect(f"/dialogues/{path_id(request, 'dialogue_id')}/findings")
    flash(request, response, _("The words you checked are kept."), "success")
    return response


@signed_in
async def dialogue_consent(request: Request) -> Response:
    user = require_user(request)
    dialogue_id = path_id(request, "dialogue_id")
    form = await read_form(request)
    response = redirect(f"/dialogues/{dialogue_id}")
    try:
        if text(form, "consent", 8) == "yes":
            await findings.give_consent(user, dialogue_id)
            message = _("Findings of this dialogue may now name your city.")
        else:
            await findings.revoke_consent(user, dialogue_id)
            message = _("Findings of this dialogue will not name your city.")
    except Conflict as exc:
        flash(request, response, str(exc), "error")
        return response
    flash(request, response, message, "success")
    return response


@signed_in
async def dialogue_rapporteur(request: Request) -> Response:
    user = require_user(request)
    dialogue_id = path_id(request, "dialogue_id")
    form = await read_form(request)
    raw = text(form, "invitee", 12)
    response = redirect(f"/dialogues/{dialogue_id}/organise")
    try:
        await findings.check_set_rapporteur(
            user, dialogue_id, int(raw) if raw.isdigit() else 0, text(form, "on", 4) == "yes"
        )
    except ValidationError as exc:
        flash(request, response, "; ".join(exc.fields.values()), "error")
        return response
    flash(request, response, _("Rapporteurs are updated."), "success")
    return response


routes = [
    Route("/briefs", brief_list, name="briefs"),
    Route("/briefs/feed.atom", brief_feed),
    Route("/briefs/new", brief_new, methods=["GET", "POST"]),
    Route("/briefs/{brief_id:id}", brief_show, name="brief"),
    Route("/briefs/{brief_id:id}.md", brief_markdown),
    Route("/briefs/{brief_id:id}/print", brief_print),
    Route("/briefs/{brief_id:id}/diff", brief_diff),
    Route("/briefs/{brief_id:id}/versions/{number:id}", brief_show),
    Route("/briefs/{brief_id:id}/edit", brief_edit, methods=["GET", "POST"]),
    *[
        Route(f"/briefs/{{brief_id:id}}/{action}", _workflow(action), methods=["POST"])
        for action in ("review", "comment", "approve", "publish")
    ],
    Route("/dialogues/{dialogue_id:id}/findings", dialogue_findings, methods=["GET", "POST"]),
    Route(
        "/dialogues/{dialogue_id:id}/findings/{finding_id:id}/confirm",
        finding_confirm,
        methods=["POST"],
    ),
    Route("/dialogues/{dialogue_id:id}/consent", dialogue_consent, methods=["POST"]),
    Route("/dialogues/{dialogue_id:id}/rapporteur", dialogue_rapporteur, methods=["POST"]),
]
