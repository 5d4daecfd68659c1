"""The rules a city or a practice must meet, shared by the edit forms and catalogue import.

Each check takes already-typed values (JSON values from a catalogue, or form text the
caller has converted) and reports problems through `fail(field, message)`, so a form can
put a message next to its field and an import can prefix the entry's location.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from babel import Locale
from babel.numbers import format_decimal

from exchange import i18n
from exchange.i18n import gettext as _
from exchange.i18n import ngettext
from exchange.models.cities import PracticeStatus, Region
from exchange.services.validation import is_clean, is_timezone, is_web_link

Fail = Callable[[str, str], None]

KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_RE = KEY_RE
# Codes in CLDR's territory list that ISO 3166-1 does not assign to a country.
# CLDR names some codes that ISO 3166-1 does not assign to a country: groupings, private
# use, and reserved codes such as CQ (Sark) or IC (Canary Islands).
NON_COUNTRY_CODES = frozenset(
    {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"}
)
MAX_POPULATION = 2_000_000_000
MAX_CAPACITY = 1000
MAX_TEXT = 20_000
MAX_LINKS = 20
MAX_LANGUAGES = 20
EARLIEST_YEAR = 1800

CITY_FIELDS = (
    "key",
    "name",
    "country",
    "region",
    "population",
    "languages",
    "timezone",
    "mentoring_capacity",
    "profile",
)
PRACTICE_FIELDS = (
    "city",
    "title",
    "summary",
    "challenges",
    "since",
    "outcomes",
    "links",
    "status",
    "last_reviewed",
)


@dataclass(frozen=True)
class CityData:
    key: str
    name: str
    country: str
    region: Region
    population: int | None
    languages: tuple[str, ...]
    timezone: str
    mentoring_capacity: int
    profile: str


@dataclass(frozen=True)
class PracticeData:
    city: str
    title: str
    summary: str
    challenges: tuple[str, ...]
    since: int | None
    outcomes: str
    links: tuple[str, ...]
    status: PracticeStatus
    last_reviewed: date | None


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, from CLDR's territory names."""
    codes = (str(code) for code in Locale("en").territories)
    return frozenset(
        code
        for code in codes
        if len(code) == 2 and code.isalpha() and code not in NON_COUNTRY_CODES
    )


@cache
def language_codes() -> frozenset[str]:
    """ISO 639-1 codes: the two-letter language codes CLDR knows."""
    codes = (str(code) for code in Locale("en").languages)
    return frozenset(code for code in codes if len(code) == 2)


def is_country(code: str) -> bool:
    return code in country_codes()


def is_language(code: str) -> bool:
    return code in language_codes()


def _text(
    value: Any,
    name: str,
    fail: Fail,
    *,
    required: bool,
    max_length: int,
    strip: bool = True,
    multiline: bool = False,
) -> str:
    """Text, or "" after reporting why not (so later checks do not report it again).

    One-line text refuses every control character; multi-line text keeps line breaks and
    tabs; neither may hold NUL (see `validation.is_clean`)."""
    if value is None:
        if required:
            fail(name, _("is required"))
        return ""
    if not isinstance(value, str):
        fail(name, _("must be text"))
        return ""
    text = value.strip() if strip else value
    if required and not text.strip():
        fail(name, _("is required"))
    elif len(text) > max_length:
        fail(name, _("must be at most %(n)d characters") % {"n": max_length})
        return ""
    if not is_clean(text, multiline=multiline):
        fail(
            name,
            _("must not contain control characters (line breaks and tabs are fine)")
            if multiline
            else _("must be one line, without line breaks, tabs or other control characters"),
        )
        return ""
    return text


def _whole_number(value: Any, name: str, fail: Fail, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        fail(name, _("must be a whole number"))
        return None
    if value < low:
        fail(name, _("is too small: the least allowed is %(low)s") % {"low": _limit(low)})
        return None
    if value > high:
        fail(name, _("is too large: the most allowed is %(high)s") % {"high": _limit(high)})
        return None
    return value


def _limit(number: int) -> str:
    """A limit as people read it: 2,000,000,000 grouped, but a year such as 1800 not."""
    if abs(number) < 10_000:
        return str(number)
    return format_decimal(number, locale=i18n.babel_locale())


def _string_list(value: Any, name: str, fail: Fail, max_items: int) -> list[tuple[int, str]]:
    """The strings of a list with their indexes; wrong types are reported."""
    if value is None:
        return []
    if not isinstance(value, list):
        fail(name, _("must be a list"))
        return []
    if len(value) > max_items:
        fail(name, _("must have at most %(n)d entries") % {"n": max_items})
        return []
    items: list[tuple[int, str]] = []
    for index, item in enumerate(value):
        if isinstance(item, str):
            items.append((index, item.strip()))
        else:
            fail(f"{name}[{index}]", _("must be text"))
    return items


def unknown_fields(entry: Mapping[str, Any], allowed: Collection[str], fail: Fail) -> None:
    for name in entry:
        if name not in allowed:
            fail(name, _("unknown field"))


def check_city(entry: Mapping[str, Any], fail: Fail) -> CityData:
    """A city's values checked and normalised. Missing optional fields take defaults."""
    key = _text(entry.get("key"), "key", fail, required=True, max_length=80)
    if key and not KEY_RE.match(key):
        fail("key", _("must be lower-case letters, digits and single hyphens, like 'lyon-fr'"))
    name = _text(entry.get("name"), "name", fail, required=True, max_length=120)
    country = _text(entry.get("country"), "country", fail, required=True, max_length=2).upper()
    if country and not is_country(country):
        fail(
            "country",
            _("unknown country code '%(code)s' (ISO 3166-1 alpha-2, like 'GB')")
            % {"code": country},
        )
    region_text = _text(entry.get("region"), "region", fail, required=True, max_length=32)
    region = Region.EUROPE
    if region_text:
        if region_text in Region._value2member_map_:
            region = Region(region_text)
        else:
            fail(
                "region",
                _("unknown region '%(region)s' (one of %(choices)s)")
                % {"region": region_text, "choices": ", ".join(r.value for r in Region)},
            )
    population = _whole_number(entry.get("population"), "population", fail, 0, MAX_POPULATION)
    languages: list[str] = []
    unknown: list[str] = []
    for index, code in _string_list(entry.get("languages"), "languages", fail, MAX_LANGUAGES):
        code = code.lower()
        if not is_language(code):
            unknown.append(code)
        elif code in languages:
            fail(f"languages[{index}]", _("'%(code)s' is listed twice") % {"code": code})
        else:
            languages.append(code)
    if unknown:
        # One message naming every bad code: a form shows one message per field.
        fail(
            "languages",
            ngettext(
                "unknown language code %(codes)s (ISO 639-1, like 'en')",
                "unknown language codes %(codes)s (ISO 639-1, like 'en')",
                len(unknown),
            )
            % {"codes": ", ".join(f"'{code}'" for code in unknown)},
        )
    timezone = "UTC"
    if entry.get("timezone") is not None:
        timezone = _text(entry.get("timezone"), "timezone", fail, required=True, max_length=64)
        if timezone and not is_timezone(timezone):
            fail(
                "timezone",
                _("unknown time zone '%(zone)s' (IANA, like 'Europe/London')") % {"zone": timezone},
            )
    capacity = _whole_number(
        entry.get("mentoring_capacity"), "mentoring_capacity", fail, 0, MAX_CAPACITY
    )
    profile = _text(
        entry.get("profile"), "profile", fail, required=False, max_length=MAX_TEXT, multiline=True
    )
    return CityData(
        key=key,
        name=name,
        country=country,
        region=region,
        population=population,
        languages=tuple(languages),
        timezone=timezone,
        mentoring_capacity=capacity or 0,
        profile=profile,
    )


def check_practice(
    entry: Mapping[str, Any], known_challenges: Collection[str], fail: Fail
) -> PracticeData:
    """A practice's values checked and normalised. The city key is checked by the caller."""
    city = _text(entry.get("city"), "city", fail, required=True, max_length=80)
    title = _text(entry.get("title"), "title", fail, required=True, max_length=200)
    summary = _text(
        entry.get("summary"), "summary", fail, required=True, max_length=MAX_TEXT, multiline=True
    )
    challenges: list[str] = []
    raw_challenges = entry.get("challenges")
    items = _string_list(raw_challenges, "challenges", fail, len(known_challenges) or 1)
    if isinstance(raw_challenges, list | type(None)) and not raw_challenges:
        fail("challenges", _("name at least one challenge"))
    for index, slug in items:
        if slug not in known_challenges:
            fail(f"challenges[{index}]", _("unknown challenge '%(slug)s'") % {"slug": slug})
        elif slug in challenges:
            fail(f"challenges[{index}]", _("'%(slug)s' is listed twice") % {"slug": slug})
        else:
            challenges.append(slug)
    this_year = datetime.now(UTC).year
    since = _whole_number(entry.get("since"), "since", fail, EARLIEST_YEAR, this_year + 1)
    outcomes = _text(
        entry.get("outcomes"), "outcomes", fail, required=False, max_length=MAX_TEXT, multiline=True
    )
    links: list[str] = []
    for index, url in _string_list(entry.get("links"), "links", fail, MAX_LINKS):
        if len(url) > 500 or not is_web_link(url):
            fail(f"links[{index}]", _("must be a web address starting with https:// or http://"))
        else:
            links.append(url)
    status = PracticeStatus.PUBLISHED
    if entry.get("status") is not None:
        raw_status = entry.get("status")
        if raw_status in PracticeStatus._value2member_map_:
            status = PracticeStatus(str(raw_status))
        else:
            fail("status", _("must be 'draft' or 'published'"))
    last_reviewed = _date(entry.get("last_reviewed"), "last_reviewed", fail)
    return PracticeData(
        city=city,
        title=title,
        summary=summary,
        challenges=tuple(challenges),
        since=since,
        outcomes=outcomes,
        links=tuple(links),
        status=status,
        last_reviewed=last_reviewed,
    )


def _date(value: Any, name: str, fail: Fail) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    fail(name, _("must be a date like 2024-05-31"))
    return None
