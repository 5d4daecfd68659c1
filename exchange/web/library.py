"""The library search page and the staff catalogue upload."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange.domain.markdown import render_markdown
from exchange.i18n import gettext as _
from exchange.models.cities import Region
from exchange.services import catalogue, cities, library_views, search
from exchange.services.catalogue import CatalogueError
from exchange.services.labels import region_label
from exchange.services.pagination import page_number
from exchange.web.auth import current_user, require_user, staff_only
from exchange.web.cities import region_options
from exchange.web.forms import read_form
from exchange.web.member_pages import kept_for_members
from exchange.web.rendering import flash, redirect, render
from exchange.web.traffic import expensive
from exchange.web.visitor_pages import kept_for_visitors

MAX_QUERY = 200
PROBLEMS_SHOWN = 200


@kept_for_visitors
@kept_for_members
@expensive("search")
async def library(request: Request) -> Response:
    params = request.query_params
    query = params.get("q", "")[:MAX_QUERY]
    region = params.get("region", "")
    region = region if region in Region._value2member_map_ else ""
    challenge = params.get("challenge", "")[:64]
    number = page_number(params.get("page"))
    results = await library_views.library_results(
        query, challenge=challenge, region=region, page=number
    )
    # Briefs come first, on the first page: a network's findings before single practices.
    briefs = (
        await search.search_briefs(current_user(request), query, per_page=5)
        if query and number == 1
        else None
    )
    return render(
        request,
        "library/search.html",
        {
            "q": query,
            "region": region,
            "challenge": challenge,
            "page": results,
            "briefs": briefs,
            "region_options": region_options(),
            "region_label": region_label,
            "challenge_options": await cities.challenge_options(),
        },
    )


@staff_only
async def import_page(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "library/import.html", {"problems": [], "problem_count": 0})
    form = await read_form(request)
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            return render(
                request,
                "library/import.html",
                {
                    "problems": [],
                    "problem_count": 0,
                    "errors": {"file": _("Choose a catalogue file to upload.")},
                },
                status_code=400,
            )
        report = await catalogue.import_upload(require_user(request), upload.file)
    except CatalogueError as exc:
        return render(
            request,
            "library/import.html",
            {
                "problems": exc.problems[:PROBLEMS_SHOWN],
                "problem_count": len(exc.problems),
                # The heading above the list gives the count; the field says what to do.
                "errors": {"file": _("Correct the problems listed above, then upload again.")},
            },
            status_code=400,
        )
    finally:
        await form.close()
    response = redirect("/import")
    flash(
        request,
        response,
        _("The catalogue is imported. %(summary)s") % {"summary": report.summary()},
        "success",
    )
    return response


@staff_only
async def import_format(request: Request) -> Response:
    guide = catalogue.format_guide(require_user(request))
    return render(
        request, "library/import_format.html", {"guide_html": render_markdown(guide, tables=True)}
    )


routes = [
    Route("/library", library, name="library"),
    Route("/import", import_page, methods=["GET", "POST"], name="import"),
    Route("/import/format", import_format, name="import_format"),
]
