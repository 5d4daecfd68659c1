"""The challenge taxonomy in the reader's language.

Each term keeps its English name and description in `name` and `description` and the
others in `translations` ({locale: {"name", "description"}}, for `i18n.CONTENT_LOCALES`).
Every place that shows a term reads it here, in the current locale, falling back to the
English when a translation is missing or blank.

A term at hand (a `Challenge` row) is read directly (`name_of`, `description_of`). Pages
that hold only slugs (requests, reasons, dashboards, filters) ask `current()`: the whole
taxonomy (a few dozen rows) kept in memory per worker and read again only when the
catalogue version moves, so a lookup costs one small query per call, never one per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from exchange import i18n
from exchange.i18n import gettext as _
from exchange.models.cities import Challenge
from exchange.services import catalogue_version
from exchange.services.validation import Checker, check_text

Translations = Mapping[str, Mapping[str, str]]
# The locales a term is translated into (English is the term's own name and description).
OTHER_LOCALES = tuple(code for code in i18n.CONTENT_LOCALES if code != i18n.DEFAULT_LOCALE)
MAX_NAME = 120
MAX_DESCRIPTION = 5000


def _translated(translations: Any, locale: str, key: str, english: str) -> str:
    if locale == i18n.DEFAULT_LOCALE or not isinstance(translations, Mapping):
        return english
    entry = translations.get(locale)
    text = entry.get(key) if isinstance(entry, Mapping) else None
    return text.strip() if isinstance(text, str) and text.strip() else english


def name_of(term: Challenge, locale: str = "") -> str:
    """The term's name in `locale` (the current one by default), else its English name."""
    return _translated(term.translations, locale or i18n.current_locale(), "name", term.name)


def description_of(term: Challenge, locale: str = "") -> str:
    return _translated(
        term.translations, locale or i18n.current_locale(), "description", term.description
    )


def check_translations(
    checker: Checker, given: Mapping[str, tuple[str, str]]
) -> dict[str, dict[str, str]]:
    """The translations to store from (name, description) per locale: fields
    `name_<locale>` and `description_<locale>`; blank ones are left out (English shows)."""
    kept: dict[str, dict[str, str]] = {}
    for locale in OTHER_LOCALES:
        name, description = (part.strip() for part in given.get(locale, ("", "")))
        if len(name) > MAX_NAME:
            checker.fail(f"name_{locale}", _("Must be at most %(n)d characters.") % {"n": MAX_NAME})
        check_text(checker, f"name_{locale}", name)
        if len(description) > MAX_DESCRIPTION:
            checker.fail(
                f"description_{locale}",
                _("Must be at most %(n)d characters.") % {"n": MAX_DESCRIPTION},
            )
        check_text(checker, f"description_{locale}", description, multiline=True)
        entry = {key: text for key, text in (("name", name), ("description", description)) if text}
        if entry:
            kept[locale] = entry
    return kept


def translation_values(term: Challenge) -> dict[str, str]:
    """The edit form's values: `name_<locale>` and `description_<locale>`."""
    values: dict[str, str] = {}
    stored = term.translations or {}
    for locale in OTHER_LOCALES:
        entry = stored.get(locale) or {}
        values[f"name_{locale}"] = str(entry.get("name", ""))
        values[f"description_{locale}"] = str(entry.get("description", ""))
    return values


@dataclass(frozen=True)
class Term:
    slug: str
    name: str
    description: str
    translations: Translations = field(default_factory=dict)

    def name_in(self, locale: str) -> str:
        return _translated(self.translations, locale, "name", self.name)

    def description_in(self, locale: str) -> str:
        return _translated(self.translations, locale, "description", self.description)


@dataclass(frozen=True)
class Taxonomy:
    """Every term by slug, as of one catalogue version."""

    version: int
    terms: Mapping[str, Term]
    order: tuple[str, ...] = ()

    def name(self, slug: str, locale: str = "") -> str:
        """The term's name in `locale` (the current one by default); a slug no longer in
        the taxonomy reads as itself."""
        term = self.terms.get(slug)
        return term.name_in(locale or i18n.current_locale()) if term else slug

    def description(self, slug: str, locale: str = "") -> str:
        term = self.terms.get(slug)
        return term.description_in(locale or i18n.current_locale()) if term else ""

    def names(self, slugs: Iterable[str], locale: str = "") -> dict[str, str]:
        """{slug: name} for the slugs still in the taxonomy."""
        return {slug: self.name(slug, locale) for slug in slugs if slug in self.terms}

    def options(self, locale: str = "") -> list[tuple[str, str]]:
        """(slug, name) of every term, in taxonomy order, for filters and forms."""
        return [(slug, self.name(slug, locale)) for slug in self.order]


_cached: Taxonomy | None = None


async def current() -> Taxonomy:
    """The taxonomy as of the current catalogue version (read again when it moved)."""
    global _cached
    version = await catalogue_version.current()
    cached = _cached
    if cached is not None and cached.version == version:
        return cached
    rows = await Challenge.all().order_by("position", "slug")
    loaded = Taxonomy(
        version=version,
        terms={
            row.slug: Term(row.slug, row.name, row.description, dict(row.translations or {}))
            for row in rows
        },
        order=tuple(row.slug for row in rows),
    )
    _cached = loaded
    return loaded


def forget() -> None:
    """Drop the cached taxonomy (tests that change rows without a version bump)."""
    global _cached
    _cached = None
