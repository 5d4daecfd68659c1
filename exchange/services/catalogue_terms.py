"""The catalogue's `challenges` section: the taxonomy's translations, in and out.

A catalogue does not create or rename terms (the taxonomy ships with Exchange and staff
edit it); it carries each term's names and descriptions in the other content languages,
so a network moves its translations along with its cities and practices. An entry is
`{"slug": ..., "translations": {locale: {"name": ..., "description": ...}}}` and, like a
city or a practice entry, describes the whole record: the term's translations become
exactly the entry's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from exchange.i18n import gettext as _
from exchange.models.cities import Challenge
from exchange.services.library_rules import _text, unknown_fields
from exchange.services.taxonomy import MAX_DESCRIPTION, MAX_NAME, OTHER_LOCALES

Fail = Callable[[str, str], None]
TERM_FIELDS = ("slug", "translations")
TRANSLATION_FIELDS = ("name", "description")


@dataclass(frozen=True)
class TermData:
    slug: str
    translations: dict[str, dict[str, str]]


def check_term(entry: Mapping[str, Any], known: set[str], fail: Fail) -> TermData:
    """A `challenges` entry checked and normalised (blank texts left out)."""
    unknown_fields(entry, TERM_FIELDS, fail)
    slug = _text(entry.get("slug"), "slug", fail, required=True, max_length=64)
    if slug and slug not in known:
        fail("slug", _("unknown challenge '%(slug)s'") % {"slug": slug})
    given = entry.get("translations", {})
    translations: dict[str, dict[str, str]] = {}
    if not isinstance(given, dict):
        fail("translations", _("must be an object"))
        return TermData(slug, translations)
    for locale, texts in given.items():
        where = f"translations.{locale}"
        if locale not in OTHER_LOCALES:
            fail(
                where,
                _("unknown language; use one of %(codes)s") % {"codes": ", ".join(OTHER_LOCALES)},
            )
            continue
        if not isinstance(texts, dict):
            fail(where, _("must be an object"))
            continue
        for name in texts:
            if name not in TRANSLATION_FIELDS:
                fail(f"{where}.{name}", _("unknown field"))
        kept = {
            "name": _text(
                texts.get("name"), f"{where}.name", fail, required=False, max_length=MAX_NAME
            ),
            "description": _text(
                texts.get("description"),
                f"{where}.description",
                fail,
                required=False,
                max_length=MAX_DESCRIPTION,
                multiline=True,
            ),
        }
        kept = {key: text for key, text in kept.items() if text}
        if kept:
            translations[str(locale)] = kept
    return TermData(slug, translations)


def check_term_item(
    index: int, entry: Any, known: set[str], seen: set[str], problems: list[str]
) -> None:
    """The import's first pass over `challenges[index]`: every problem, with its place."""
    where = f"challenges[{index}]"
    if not isinstance(entry, dict):
        problems.append(_("%(where)s: must be an object") % {"where": where})
        return

    def fail(name: str, message: str) -> None:
        problems.append(f"{where}.{name}: {message}")

    data = check_term(entry, known, fail)
    if data.slug in seen:
        fail("slug", _("'%(key)s' appears twice in the file") % {"key": data.slug})
    seen.add(data.slug)


async def write_terms(batch: list[TermData]) -> tuple[int, int]:
    """Set each term's translations; returns (updated, unchanged)."""
    terms = {t.slug: t for t in await Challenge.filter(slug__in=[d.slug for d in batch])}
    changed: list[Challenge] = []
    for data in batch:
        term = terms[data.slug]
        if _ordered(term.translations or {}) != _ordered(data.translations):
            term.translations = _ordered(data.translations)
            changed.append(term)
    if changed:
        await Challenge.bulk_update(changed, fields=["translations"])
    return len(changed), len(batch) - len(changed)


def _ordered(translations: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Locales in `OTHER_LOCALES` order, name before description: one spelling per value."""
    ordered: dict[str, dict[str, str]] = {}
    for locale in OTHER_LOCALES:
        texts = translations.get(locale) or {}
        entry = {key: str(texts[key]) for key in TRANSLATION_FIELDS if texts.get(key)}
        if entry:
            ordered[locale] = entry
    return ordered


async def term_entries() -> list[dict[str, Any]]:
    """Every term, in taxonomy order, with its translations, for the export."""
    terms = await Challenge.all().order_by("position", "slug")
    return [
        {"slug": term.slug, "translations": _ordered(term.translations or {})} for term in terms
    ]
