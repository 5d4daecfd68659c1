"""The city library's use cases: the directory, city and practice pages, their edits,
and the challenge taxonomy.

Cities, published practices and the taxonomy are public. A draft practice exists only for
those who may edit it (its city's officials and staff): for anyone else it is a 404.
Every change bumps the catalogue version in its transaction, so each worker's matching
index notices it.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Subquery
from tortoise.functions import Coalesce
from tortoise.queryset import QuerySet

from exchange import i18n
from exchange.i18n import gettext as _
from exchange.models.accounts import Role, User
from exchange.models.cities import (
    Challenge,
    City,
    CityLanguage,
    Practice,
    PracticeChallenge,
    PracticeStatus,
    Region,
)
from exchange.resources import resource_path
from exchange.services import catalogue_cache, permissions, taxonomy, visibility
from exchange.services.library_rules import SLUG_RE, check_city, check_practice
from exchange.services.pagination import Page, page_of_ids, paginate
from exchange.services.unit_of_work import unit_of_work
from exchange.services.validation import Checker, check_text

SORTS = ("name", "population")
MAX_OFFICIALS_SHOWN = 50


@dataclass(frozen=True)
class DirectoryFilters:
    region: str = ""
    country: str = ""
    challenge: str = ""
    language: str = ""
    sort: str = "name"


def clean_filters(filters: DirectoryFilters) -> DirectoryFilters:
    """Drop filter values that cannot name anything (from an edited or stale URL)."""
    regions = {region.value for region in Region}
    return DirectoryFilters(
        region=filters.region if filters.region in regions else "",
        country=filters.country if _is_code(filters.country) else "",
        challenge=filters.challenge if _fits_key(filters.challenge, 64) else "",
        language=filters.language if _is_code(filters.language) else "",
        sort=filters.sort if filters.sort in SORTS else "name",
    )


def _is_code(value: str) -> bool:
    return len(value) == 2 and value.isascii() and value.isalpha()


def _fits_key(value: str, max_length: int) -> bool:
    return 0 < len(value) <= max_length and SLUG_RE.fullmatch(value) is not None


async def list_cities(viewer: User | None, filters: DirectoryFilters, page: int) -> Page[City]:
    """The public city directory; each city comes with its languages fetched."""
    filters = clean_filters(filters)
    cities: QuerySet[City] = City.all()
    if filters.region:
        cities = cities.filter(region=filters.region)
    if filters.country:
        cities = cities.filter(country=filters.country.upper())
    if filters.language:
        cities = cities.filter(
            id__in=Subquery(CityLanguage.filter(code=filters.language).values("city_id"))
        )
    if filters.challenge:
        tagged = (
            visibility.public_practices()
            .filter(challenge_links__challenge__slug=filters.challenge)
            .values("city_id")
        )
        cities = cities.filter(id__in=Subquery(tagged))
    if filters.sort == "population":
        # Largest first; cities without a figure go last on both databases.
        cities = cities.annotate(size=Coalesce("population", -1)).order_by("-size", "name", "id")
    else:
        cities = cities.order_by("name", "id")
    # The count reads every city the filters select; it only changes with the catalogue.
    key = f"cities:{filters.region}:{filters.country}:{filters.challenge}:{filters.language}"
    total = await catalogue_cache.cached(key, cities.count)
    result = await paginate(cities, page, total=total)
    await City.fetch_for_list(result.items, "languages")
    return result


@dataclass(frozen=True)
class CityProfile:
    city: City
    languages: list[str]
    practices: Page[Practice]
    officials: list[User]
    can_edit: bool


async def city_profile(viewer: User | None, key: str, page: int) -> CityProfile:
    """A city with its practices: drafts too for those who may edit them."""
    city = await visibility.access_city(viewer, key)
    can_edit = permissions.can_edit_practices_of(viewer, city)
    practices = visibility.visible_practices_of(viewer, city)
    officials: list[User] = []
    if permissions.is_signed_in(viewer):
        officials = (
            await User.filter(city_id=city.id, role=Role.OFFICIAL, is_active=True)
            .order_by("name", "id")
            .limit(MAX_OFFICIALS_SHOWN)
        )
    return CityProfile(
        city=city,
        languages=await _language_codes(city),
        practices=await paginate(practices.order_by("title", "id"), page),
        officials=officials,
        can_edit=can_edit,
    )


async def _language_codes(city: City) -> list[str]:
    codes = (
        await CityLanguage.filter(city_id=city.id)
        .order_by("position", "id")
        .values_list("code", flat=True)
    )
    return [str(code) for code in codes]


@dataclass(frozen=True)
class PracticeView:
    practice: Practice
    city: City
    challenges: list[Challenge]
    can_edit: bool


async def practice_detail(viewer: User | None, practice_id: int) -> PracticeView:
    practice = await visibility.access_practice(viewer, practice_id)
    return PracticeView(
        practice=practice,
        city=practice.city,
        challenges=await _challenges_of(practice),
        can_edit=permissions.can_edit_practices_of(viewer, practice.city),
    )


async def _challenges_of(practice: Practice) -> list[Challenge]:
    return await Challenge.filter(practice_links__practice_id=practice.id).order_by(
        "practice_links__id"
    )


async def access_city_for_edit(user: User, key: str) -> City:
    city = await visibility.access_city(user, key)
    permissions.require(permissions.can_edit_city(user, city))
    return city


async def access_practice_for_edit(user: User, practice_id: int) -> Practice:
    practice = await visibility.access_practice(user, practice_id)
    permissions.require(permissions.can_edit_practices_of(user, practice.city))
    return practice


async def practice_challenge_slugs(user: User, practice_id: int) -> list[str]:
    practice = await access_practice_for_edit(user, practice_id)
    return [challenge.slug for challenge in await _challenges_of(practice)]


async def city_languages(viewer: User | None, key: str) -> list[str]:
    return await _language_codes(await visibility.access_city(viewer, key))


async def languages_of(city: City) -> list[str]:
    """The working languages of a city the caller has already read through an access
    rule (a practice's city, say), without reading the city again."""
    return await _language_codes(city)


# --- editing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CityInput:
    """A city's edit form as submitted: text, converted and checked by the service."""

    name: str
    country: str
    region: str
    population: str
    languages: str
    timezone: str
    mentoring_capacity: str
    profile: str


@dataclass(frozen=True)
class PracticeInput:
    title: str
    summary: str
    challenges: tuple[str, ...]
    since: str
    outcomes: str
    links: str
    status: str
    last_reviewed: str


def _form_checker() -> tuple[Checker, Any]:
    """A Checker, and a `fail` that files `languages[2]`-style names under their field."""
    checker = Checker()

    def fail(name: str, message: str) -> None:
        if message == _("is required"):
            message = _("This field is required.")
        checker.fail(name.split("[", 1)[0], message[:1].upper() + message[1:])

    return checker, fail


# Beyond this many digits a number is out of every range; its exact value no longer matters.
MAX_FORM_DIGITS = 30


def _number(raw: str) -> int | str | None:
    """A form number: None when blank, the text itself (rejected by the rules) when odd.

    Any run of digits is a number, however long, so that the rules can say it is too large.
    """
    text = raw.strip()
    if not text:
        return None
    match = re.fullmatch(r"([-+]?)(\d+)", text)
    if match is None:
        return text
    sign, digits = match.groups()
    digits = digits.lstrip("0") or "0"
    value = int(digits) if len(digits) <= MAX_FORM_DIGITS else 10**MAX_FORM_DIGITS
    return -value if sign == "-" else value


async def check_update_city(user: User, key: str, form: CityInput) -> City:
    city = await access_city_for_edit(user, key)
    checker, fail = _form_checker()
    capacity = _number(form.mentoring_capacity)
    entry = {
        "key": city.key,
        "name": form.name,
        "country": form.country,
        "region": form.region,
        "population": _number(form.population),
        "languages": [code for code in re.split(r"[\s,;]+", form.languages) if code],
        "timezone": form.timezone,
        "mentoring_capacity": 0 if capacity is None else capacity,
        "profile": form.profile,
    }
    data = check_city(entry, fail)
    checker.done()
    async with unit_of_work() as uow:
        city.name = data.name
        city.country = data.country
        city.region = data.region
        city.population = data.population
        city.timezone = data.timezone
        city.mentoring_capacity = data.mentoring_capacity
        city.profile = data.profile
        await city.save()
        await CityLanguage.filter(city_id=city.id).delete()
        await CityLanguage.bulk_create(
            [
                CityLanguage(city_id=city.id, code=code, position=position)
                for position, code in enumerate(data.languages)
            ]
        )
        uow.catalogue_changed()
    return city


async def check_create_practice(user: User, city_key: str, form: PracticeInput) -> Practice:
    city = await access_city_for_edit(user, city_key)
    practice = Practice(city_id=city.id)
    await _save_practice(practice, city, form)
    return practice


async def check_update_practice(user: User, practice_id: int, form: PracticeInput) -> Practice:
    practice = await access_practice_for_edit(user, practice_id)
    await _save_practice(practice, practice.city, form)
    return practice


async def _save_practice(practice: Practice, city: City, form: PracticeInput) -> None:
    challenges = dict(await Challenge.all().values_list("slug", "id"))
    checker, fail = _form_checker()
    entry = {
        "city": city.key,
        "title": form.title,
        "summary": form.summary,
        "challenges": list(form.challenges),
        "since": _number(form.since),
        "outcomes": form.outcomes,
        "links": [line.strip() for line in form.links.splitlines() if line.strip()],
        "status": form.status or PracticeStatus.PUBLISHED.value,
        "last_reviewed": form.last_reviewed.strip() or None,
    }
    data = check_practice(entry, challenges, fail)
    if (
        data.title
        and await Practice.filter(city_id=city.id, title=data.title)
        .exclude(id=practice.id or 0)
        .exists()
    ):
        fail("title", _("This city already has a practice with this title."))
    checker.done()
    practice.title = data.title
    practice.summary = data.summary
    practice.since = data.since
    practice.outcomes = data.outcomes
    practice.links = list(data.links)
    practice.status = data.status
    practice.last_reviewed = data.last_reviewed
    try:
        async with unit_of_work() as uow:
            await practice.save()
            await PracticeChallenge.filter(practice_id=practice.id).delete()
            await PracticeChallenge.bulk_create(
                [
                    PracticeChallenge(practice_id=practice.id, challenge_id=challenges[slug])
                    for slug in data.challenges
                ]
            )
            uow.catalogue_changed()
    except IntegrityError:
        # Another edit took the title between the check and the save.
        checker.fail("title", _("This city already has a practice with this title."))
        checker.done()


# --- the challenge taxonomy ------------------------------------------------------------

TAXONOMY_FILE = resource_path("data/taxonomy.json")


async def load_shipped_taxonomy() -> int:
    """Add the shipped terms that are missing (the migration does this on a new database);
    terms that exist are left as staff edited them. Returns how many were added."""
    terms = json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    existing = {str(s) for s in await Challenge.all().values_list("slug", flat=True)}
    missing = [
        Challenge(
            slug=term["slug"],
            name=term["name"],
            description=term["description"],
            related=list(term.get("related", [])),
            translations=dict(term.get("translations", {})),
            position=position,
        )
        for position, term in enumerate(terms)
        if term["slug"] not in existing
    ]
    if missing:
        async with unit_of_work() as uow:
            await Challenge.bulk_create(missing)
            uow.catalogue_changed()
    return len(missing)


async def list_challenges(viewer: User | None, page: int) -> Page[Challenge]:
    return await paginate(Challenge.all().order_by("position", "slug", "id"), page, per_page=50)


@dataclass(frozen=True)
class ChallengeView:
    challenge: Challenge
    related: list[Challenge]
    practices: Page[Practice]
    cities: Page[City]
    can_edit: bool

    @property
    def city_count(self) -> int:
        return self.cities.total


async def challenge_page(
    viewer: User | None, slug: str, page: int, cities_page: int = 1
) -> ChallengeView:
    """A term with its published practices and the cities that have them, each paged on
    its own. Both lists, in page order, are kept per worker until the catalogue changes
    (`catalogue_cache`), so a page reads only its own rows, by primary key."""
    challenge = await visibility.access_challenge(viewer, slug)
    practice_ids, city_ids = await catalogue_cache.cached(
        f"challenge:{challenge.id}", lambda: _challenge_lists(challenge.id)
    )
    practices = page_of_ids(practice_ids, page)
    cities = page_of_ids(city_ids, cities_page)
    practice_rows = await Practice.filter(id__in=practices.items).select_related("city")
    city_rows = await City.filter(id__in=cities.items)
    return ChallengeView(
        challenge=challenge,
        related=await _related(challenge),
        practices=practices.replace(practice_rows),
        cities=cities.replace(city_rows),
        can_edit=permissions.can_edit_taxonomy(viewer),
    )


async def _challenge_lists(challenge_id: int) -> tuple[array[int], array[int]]:
    """The ids of a term's published practices (by title) and of their cities (by name)."""
    practices = visibility.public_practices().filter(challenge_links__challenge_id=challenge_id)
    practice_ids = await practices.order_by("title", "id").values_list("id", flat=True)
    city_ids = (
        await City.filter(id__in=Subquery(practices.values("city_id")))
        .order_by("name", "id")
        .values_list("id", flat=True)
    )
    return array("i", (int(str(i)) for i in practice_ids)), array(
        "i", (int(str(i)) for i in city_ids)
    )


async def _related(challenge: Challenge) -> list[Challenge]:
    terms = {term.slug: term for term in await Challenge.filter(slug__in=challenge.related)}
    return [terms[slug] for slug in challenge.related if slug in terms]


@dataclass(frozen=True)
class ChallengeInput:
    name: str
    description: str
    related: tuple[str, ...]
    # (name, description) per locale of `taxonomy.OTHER_LOCALES`; blank ones read as English.
    translations: Mapping[str, tuple[str, str]] = field(default_factory=dict)


async def access_challenge_for_edit(user: User, slug: str) -> Challenge:
    challenge = await visibility.access_challenge(user, slug)
    permissions.require(permissions.can_edit_taxonomy(user))
    return challenge


async def check_update_challenge(user: User, slug: str, form: ChallengeInput) -> Challenge:
    challenge = await access_challenge_for_edit(user, slug)
    checker = Checker()
    name = form.name.strip()
    description = form.description.strip()
    if not name:
        checker.fail("name", _("This field is required."))
    elif len(name) > 120:
        checker.fail("name", _("Must be at most %(n)d characters.") % {"n": 120})
    check_text(checker, "name", name)
    if len(description) > 5000:
        checker.fail("description", _("Must be at most %(n)d characters.") % {"n": 5000})
    check_text(checker, "description", description, multiline=True)
    known = {str(s) for s in await Challenge.all().values_list("slug", flat=True)}
    related = list(dict.fromkeys(form.related))
    if any(not SLUG_RE.match(s) or s not in known or s == slug for s in related):
        checker.fail("related", _("Choose related terms from the list."))
    translations = taxonomy.check_translations(checker, form.translations)
    checker.done()
    async with unit_of_work() as uow:
        challenge.name = name
        challenge.description = description
        challenge.related = related
        challenge.translations = translations
        await challenge.save()
        uow.catalogue_changed()
    return challenge


@dataclass(frozen=True)
class DirectoryOptions:
    """The filter choices that can find something: countries and languages in use."""

    countries: list[str]
    languages: list[str]
    challenges: list[tuple[str, str]]


async def directory_options() -> DirectoryOptions:
    """The same for everyone reading one language until the catalogue changes (see
    `catalogue_cache`)."""
    return await catalogue_cache.cached(
        f"directory_options:{i18n.current_locale()}", _directory_options
    )


async def _directory_options() -> DirectoryOptions:
    countries = await City.all().order_by("country").distinct().values_list("country", flat=True)
    languages = await CityLanguage.all().order_by("code").distinct().values_list("code", flat=True)
    return DirectoryOptions(
        countries=sorted(str(code) for code in countries),
        languages=sorted(str(code) for code in languages),
        challenges=await challenge_options(),
    )


async def challenge_options() -> list[tuple[str, str]]:
    """(slug, name) of every term, in taxonomy order and the current locale, for filters
    and forms."""
    return (await taxonomy.current()).options()


async def city_choices() -> list[tuple[str, str]]:
    """(key, name) of every city, by name, for forms."""
    rows = await City.all().order_by("name", "id").values_list("key", "name")
    return [(str(key), str(name)) for key, name in rows]


def region_values() -> list[str]:
    return [region.value for region in Region]


async def home_city(user: User | None) -> City | None:
    """The city an official works for (none for visitors, staff and admins)."""
    if user is None or user.city_id is None:
        return None
    return await City.get_or_none(id=user.city_id)
