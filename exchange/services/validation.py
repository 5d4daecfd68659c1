"""Checking user input. A failed check names each bad field, so forms can show why."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

from exchange.services.errors import ValidationError

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
