"""Checking user input. A failed check names each bad field, so forms can show why."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import available_timezones

from exchange.i18n import gettext as _

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class ValidationError(Exception):
    """Bad input; nothing was changed. `fields` maps a field name to its message."""

    fields: dict[str, str] = field(default_factory=dict)
    message: str = ""

    def __post_init__(self) -> None:
        if not self.message:
            self.message = _("Please correct the errors below.")

    def __str__(self) -> str:
        return self.message


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
    return len(value) <= 254 and EMAIL_RE.match(value) is not None


@cache
def timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(value: str) -> bool:
    return value in timezones()
