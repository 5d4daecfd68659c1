"""City library pages: the directory, city profiles, practices and the challenge taxonomy."""

from __future__ import annotations

from datetime import date

from babel import Locale
from babel.dates import format_date
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from exchange import i18n
from exchange.domain.markdown import render_markdown
from exchange.i18n import gettext as _
from exchange.models.cities import Challenge, City, Practice, PracticeStatus, Region
from exchange.services import cities, library_views, taxonomy
from exchange.services.errors import ValidationError
from exchange.services.labels import language_label, region_label, sort_key
from exchange.services.library_rules import country_codes
from exchange.services.pagination import page_number
from exchange.web.auth import current_user, require_user, signed_in, staff_only
from exchange.web.forms import read_form, text, values
from exchange.web.member_pages import kept_for_members
from exchange.web.options import timezone_options
from exchange.web.rendering import flash, redirect, render
from exchange.web.visitor_pages import kept_for_visitors

CITY_FIELDS = (
    "name",
    "country",
    "region",
    "population",
    "languages",
    "timezone",
    "mentoring_capacity",
    "profile",
)
PRACTICE_FIELDS = ("title", "summary", "since", "outcomes", "links", "status", "last_reviewed")


def region_options() -> list[tuple[str, str]]:
    return [(region.value, region_label(region.value)) for region in Region]


def _locale() -> Locale:
    return i18n.babel_locale()


def country_name(code: str) -> str:
    return str(_locale().territories.get(code, code))


def country_options() -> list[tuple[str, str]]:
    return sorted(
        ((code, country_name(code)) for code in country_codes()), key=lambda o: sort_key(o[1])
    )


def language_options(codes: list[str]) -> list[tuple[str, str]]:
    return sorted(((code, language_label(code)) for code in codes), key=lambda o: o[1])


def status_options() -> list[tuple[str, str]]:
    return [
        (PracticeStatus.PUBLISHED.value, _("Published: everyone can read it")),
        (PracticeStatus.DRAFT.value, _("Draft: only this city's officials and staff")),
    ]


def reviewed_on(value: date | str | None) -> str:
    if not value:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(day, format="long", locale=i18n.babel_locale())


def _labels() -> dict[str, object]:
    """Helpers the library templates use to show codes as names."""
    return {
        "region_label": region_label,
        "country_name": country_name,
        "language_name": language_label,
    }


@kept_for_visitors
@kept_for_members
async def directory(request: Request) -> Response:
    params = request.query_params
    filters = cities.DirectoryFilters(
        region=params.get("region", ""),
        country=params.get("country", ""),
        challenge=params.get("challenge", ""),
        language=params.get("language", ""),
        sort=params.get("sort", "name") if params.get("sort") in cities.SORTS else "name",
    )
    page = await cities.list_cities(current_user(request), filters, page_number(params.get("page")))
    options = await cities.directory_options()
    return render(
        request,
        "library/directory.html",
        {
            "page": page,
            "filters": filters,
            **_labels(),
            "region_options": region_options(),
            "country_options": sorted(
                ((code, country_name(code)) for code in options.countries), key=lambda o: o[1]
            ),
            "language_options": language_options(options.languages),
            "challenge_options": options.challenges,
            "sort_options": [("name", _("Name")), ("population", _("Population, largest first"))],
        },
    )


@kept_for_visitors
@kept_for_members
async def city_page(request: Request) -> Response:
    view = await library_views.city_page(
        current_user(request),
        request.path_params["key"],
        page_number(request.query_params.get("page")),
    )
    return render(
        request,
        "library/city.html",
        {
            "view": view,
            "profile": view.profile,
            "city": view.city,
            "page": view.practices,
            "profile_html": render_markdown(view.city.profile),
            **_labels(),
        },
    )


def _city_form_context(city: City) -> dict[str, object]:
    return {
        "city": city,
        "region_options": region_options(),
        "country_options": country_options(),
        "timezone_options": timezone_options(),
    }


@signed_in
async def city_edit(request: Request) -> Response:
    user = require_user(request)
    key = request.path_params["key"]
    city = await cities.access_city_for_edit(user, key)
    context = _city_form_context(city)
    if request.method == "GET":
        context["values"] = {
            "name": city.name,
            "country": city.country,
            "region": city.region.value,
            "population": "" if city.population is None else str(city.population),
            "languages": ", ".join(await cities.city_languages(user, key)),
            "timezone": city.timezone,
            "mentoring_capacity": str(city.mentoring_capacity),
            "profile": city.profile,
        }
        return render(request, "library/city_edit.html", context)
    form = await read_form(request)
    submitted = values(form, *CITY_FIELDS)
    try:
        await cities.check_update_city(user, key, cities.CityInput(**submitted))
    except ValidationError as exc:
        context.update(values=submitted, errors=exc.fields)
        return render(request, "library/city_edit.html", context, status_code=400)
    response = redirect(f"/cities/{city.key}")
    flash(request, response, _("The city profile is saved."), "success")
    return response


async def _practice_form_context(city: City, practice: Practice | None) -> dict[str, object]:
    return {
        "city": city,
        "practice": practice,
        "status_options": status_options(),
        "challenge_options": await cities.challenge_options(),
    }


def _practice_input(form: FormData) -> tuple[cities.PracticeInput, dict[str, object]]:
    submitted: dict[str, object] = dict(values(form, *PRACTICE_FIELDS))
    chosen = tuple(str(v) for v in form.getlist("challenges") if isinstance(v, str))[:50]
    submitted["challenges"] = list(chosen)
    data = cities.PracticeInput(
        title=text(form, "title", 300),
        summary=text(form, "summary"),
        challenges=chosen,
        since=text(form, "since", 20),
        outcomes=text(form, "outcomes"),
        links=text(form, "links"),
        status=text(form, "status", 20),
        last_reviewed=text(form, "last_reviewed", 20),
    )
    return data, submitted


@signed_in
async def practice_new(request: Request) -> Response:
    user = require_user(request)
    city = await cities.access_city_for_edit(user, request.path_params["key"])
    context = await _practice_form_context(city, None)
    if request.method == "GET":
        context["values"] = {"status": PracticeStatus.PUBLISHED.value, "challenges": []}
        return render(request, "library/practice_edit.html", context)
    data, submitted = _practice_input(await read_form(request))
    try:
        practice = await cities.check_create_practice(user, city.key, data)
    except ValidationError as exc:
        context.update(values=submitted, errors=exc.fields)
        return render(request, "library/practice_edit.html", context, status_code=400)
    response = redirect(f"/practices/{practice.id}")
    flash(request, response, _("The practice is saved."), "success")
    return response


@kept_for_visitors
@kept_for_members
async def practice_page(request: Request) -> Response:
    page = await library_views.practice_page(
        current_user(request), request.path_params["practice_id"]
    )
    view = page.view
    return render(
        request,
        "library/practice.html",
        {
            "view": view,
            "practice_page": page,
            "practice": view.practice,
            "city": view.city,
            "summary_html": render_markdown(view.practice.summary),
            "outcomes_html": render_markdown(view.practice.outcomes),
            "reviewed": reviewed_on(view.practice.last_reviewed),
            **_labels(),
        },
    )


@signed_in
async def practice_edit(request: Request) -> Response:
    user = require_user(request)
    practice_id = request.path_params["practice_id"]
    practice = await cities.access_practice_for_edit(user, practice_id)
    context = await _practice_form_context(practice.city, practice)
    if request.method == "GET":
        context["values"] = {
            "title": practice.title,
            "summary": practice.summary,
            "since": "" if practice.since is None else str(practice.since),
            "outcomes": practice.outcomes,
            "links": "\n".join(practice.links),
            "status": practice.status.value,
            "last_reviewed": practice.last_reviewed.isoformat() if practice.last_reviewed else "",
            "challenges": await cities.practice_challenge_slugs(user, practice_id),
        }
        return render(request, "library/practice_edit.html", context)
    data, submitted = _practice_input(await read_form(request))
    try:
        await cities.check_update_practice(user, practice_id, data)
    except ValidationError as exc:
        context.update(values=submitted, errors=exc.fields)
        return render(request, "library/practice_edit.html", context, status_code=400)
    response = redirect(f"/practices/{practice.id}")
    flash(request, response, _("The practice is saved."), "success")
    return response


@kept_for_visitors
@kept_for_members
async def challenge_list(request: Request) -> Response:
    page = await cities.list_challenges(
        current_user(request), page_number(request.query_params.get("page"))
    )
    return render(request, "library/challenges.html", {"page": page})


# The challenge page pages its cities and its practices separately.
CITIES_PAGE = "cities_page"


@kept_for_visitors
@kept_for_members
async def challenge_detail(request: Request) -> Response:
    view = await cities.challenge_page(
        current_user(request),
        request.path_params["slug"],
        page_number(request.query_params.get("page")),
        page_number(request.query_params.get(CITIES_PAGE)),
    )
    return render(
        request,
        "library/challenge.html",
        {
            "view": view,
            "challenge": view.challenge,
            "page": view.practices,
            "cities_page": view.cities,
            "cities_param": CITIES_PAGE,
            "description_html": render_markdown(taxonomy.description_of(view.challenge)),
            **_labels(),
        },
    )


_TERM_FIELDS = ("name", "description")


@staff_only
async def challenge_edit(request: Request) -> Response:
    user = require_user(request)
    slug = request.path_params["slug"]
    challenge: Challenge = await cities.access_challenge_for_edit(user, slug)
    context: dict[str, object] = {
        "challenge": challenge,
        "related_options": [o for o in await cities.challenge_options() if o[0] != slug],
        "translation_locales": [
            (locale, language_label(locale)) for locale in taxonomy.OTHER_LOCALES
        ],
    }
    if request.method == "GET":
        context["values"] = {
            "name": challenge.name,
            "description": challenge.description,
            "related": list(challenge.related),
            **taxonomy.translation_values(challenge),
        }
        return render(request, "library/challenge_edit.html", context)
    form = await read_form(request)
    related = tuple(str(v) for v in form.getlist("related") if isinstance(v, str))[:50]
    translated = [f"{key}_{locale}" for locale in taxonomy.OTHER_LOCALES for key in _TERM_FIELDS]
    submitted: dict[str, object] = {
        **values(form, "name", "description", *translated),
        "related": related,
    }
    try:
        await cities.check_update_challenge(
            user,
            slug,
            cities.ChallengeInput(
                name=text(form, "name", 200),
                description=text(form, "description"),
                related=related,
                translations={
                    locale: (text(form, f"name_{locale}", 200), text(form, f"description_{locale}"))
                    for locale in taxonomy.OTHER_LOCALES
                },
            ),
        )
    except ValidationError as exc:
        context.update(values=submitted, errors=exc.fields)
        return render(request, "library/challenge_edit.html", context, status_code=400)
    response = redirect(f"/challenges/{slug}")
    flash(request, response, _("The challenge term is saved."), "success")
    return response


routes = [
    Route("/cities", directory, name="cities"),
    Route("/cities/{key}", city_page, name="city"),
    Route("/cities/{key}/edit", city_edit, methods=["GET", "POST"], name="city_edit"),
    Route(
        "/cities/{key}/practices/new", practice_new, methods=["GET", "POST"], name="practice_new"
    ),
    Route("/practices/{practice_id:id}", practice_page, name="practice"),
    Route(
        "/practices/{practice_id:id}/edit",
        practice_edit,
        methods=["GET", "POST"],
        name="practice_edit",
    ),
    Route("/challenges", challenge_list, name="challenges"),
    Route("/challenges/{slug}", challenge_detail, name="challenge"),
    Route(
        "/challenges/{slug}/edit", challenge_edit, methods=["GET", "POST"], name="challenge_edit"
    ),
]
