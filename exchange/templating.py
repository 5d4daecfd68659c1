"""The Jinja2 environment shared by pages and emails: autoescape on, i18n wired in."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.dates import format_datetime as babel_format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from exchange import i18n
from exchange.services import labels

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters["datetime"] = format_local_datetime
    env.filters["language_name"] = labels.language_label
    env.filters["role_label"] = labels.role_label
    env.filters["number"] = labels.number_label
    env.globals["current_locale"] = i18n.current_locale
    return env


def format_local_datetime(value: datetime | None, timezone: str = "UTC", fmt: str = "") -> str:
    """A UTC datetime shown in the reader's zone and locale, naming the zone.

    Officials in different zones read the same page, so a time without its zone would
    mislead someone. `fmt` may name a Babel format ("short", "medium") to override.
    """
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone))
    locale = i18n.current_locale()
    if fmt:
        return babel_format_datetime(local, format=fmt, locale=locale)
    day = format_date(local, format="medium", locale=locale)
    time = format_time(local, format="short", locale=locale)
    return f"{day}, {time} ({timezone.replace('_', ' ')})"


def render_template(name: str, context: dict[str, object]) -> str:
    return environment().get_template(name).render(context)
