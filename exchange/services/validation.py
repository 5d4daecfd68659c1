"""Checking user input. A failed check names each bad field, so forms can show why."""

from __future__ import annotations

import re
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from exchange.i18n import gettext as _
from exchange.services.errors import ValidationError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Control characters (C0, DEL, C1) and Unicode's line and paragraph separators: none of
# them belongs in a one-line field (a CR or LF in a name breaks every email header that
# carries it), and NUL belongs nowhere (PostgreSQL cannot even store it).
ONE_LINE_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Multi-line fields keep their line breaks (LF, CR) and tabs.
MULTI_LINE_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


class Checker:
    """Collects field errors so a form reports every problem at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def done(self) -> None:
        if self.errors:
            raise ValidationError(dict(self.errors))


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def is_email(value: str) -> bool:
    return len(value) <= 254 and EMAIL_RE.match(value) is not None and is_clean(value)


def is_clean(value: str, *, multiline: bool = False) -> bool:
    """Whether `value` is free of control characters (see `ONE_LINE_FORBIDDEN`).

    Also the guard before a lookup by a typed-in value: a value that is not clean can
    name nothing, and must not reach the database.
    """
    forbidden = MULTI_LINE_FORBIDDEN if multiline else ONE_LINE_FORBIDDEN
    return forbidden.search(value) is None


def is_web_link(url: str) -> bool:
    """An http or https address naming a host, one line without spaces: what a link on a
    page or in an invitation may be (never `javascript:` or a local file)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # such as an unclosed "[" of an IPv6 address
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and " " not in url
        and is_clean(url)
    )


def control_character_message(multiline: bool = False) -> str:
    if multiline:
        return _("Remove the control characters from this text (line breaks and tabs are fine).")
    return _("Use one line of text, without line breaks, tabs or other control characters.")


def printable(value: str) -> str:
    """`value` with each control character replaced by U+FFFD: for a typed-in value that is
    looked up (an email at sign-in, say) and may be logged, but is never stored as data."""
    return ONE_LINE_FORBIDDEN.sub("\ufffd", value)


def check_text(checker: Checker, name: str, value: str, *, multiline: bool = False) -> None:
    """Fail `name` when its text holds characters it may not (see `is_clean`)."""
    if not is_clean(value, multiline=multiline):
        checker.fail(name, control_character_message(multiline))


@cache
def timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(value: str) -> bool:
    return value in timezones()
