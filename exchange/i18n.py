"""Translations: the Babel catalogues, locale negotiation and the current request's locale.

Templates and code call `gettext`/`ngettext`; which catalogue answers is decided per
request (or per email) through a context variable, so nothing passes a translator around.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations

from exchange.resources import resource_path

LOCALE_DIR = resource_path("locale")
DEFAULT_LOCALE = "en"
# Locales we ship a catalogue for; the English one is the source text, compiled anyway so
# that a missing compile step shows up in English too.
SUPPORTED_LOCALES = ("en", "fr", "es", "de", "uk")
# Languages the network's own content is kept in (the challenge taxonomy's names and
# descriptions). English first: it is the source every other falls back to.
CONTENT_LOCALES = ("en", "fr", "es", "de", "uk")

_current_locale: ContextVar[str] = ContextVar("exchange_locale", default=DEFAULT_LOCALE)


def gettext_noop(message: str) -> str:
    """Mark a string for extraction without translating it now.

    Domain code builds messages before it knows the reader's locale; the web layer
    translates them when it renders.
    """
    return message


@cache
def translations(locale: str) -> NullTranslations:
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")


def gettext(message: str) -> str:
    return translations(_current_locale.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current_locale.get()).ungettext(singular, plural, n)


_ = gettext


def current_locale() -> str:
    return _current_locale.get()


def babel_locale() -> Locale:
    """The current locale as Babel's object, parsed once per locale: Babel parses a
    locale name on every call given one (a list of dates would parse it per date)."""
    return _parsed(_current_locale.get())


@cache
def _parsed(locale: str) -> Locale:
    return Locale.parse(locale)


@contextlib.contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Translate with `locale` inside the block (an email to a user, say)."""
    token = _current_locale.set(normalise_locale(locale))
    try:
        yield
    finally:
        _current_locale.reset(token)


def set_locale(locale: str) -> None:
    _current_locale.set(normalise_locale(locale))


def normalise_locale(locale: str) -> str:
    short = locale.replace("-", "_").split("_", 1)[0].lower()
    return short if short in SUPPORTED_LOCALES else DEFAULT_LOCALE


def negotiate_locale(accept_language: str) -> str:
    """Pick the best supported locale from an Accept-Language header."""
    preferred: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        lang, _sep, params = part.strip().partition(";")
        if not lang:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        preferred.append((quality, lang))
    for _quality, lang in sorted(preferred, key=lambda item: -item[0]):
        short = lang.replace("-", "_").split("_", 1)[0].lower()
        if short in SUPPORTED_LOCALES:
            return short
    return DEFAULT_LOCALE


def is_valid_locale(locale: str) -> bool:
    return locale in SUPPORTED_LOCALES


def locale_display_name(locale: str) -> str:
    try:
        name = Locale.parse(locale).get_display_name(locale)
    except (ValueError, UnknownLocaleError):
        return locale
    return name.capitalize() if name else locale
