"""The Jinja2 environment shared by pages and emails: autoescape on, i18n wired in."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from exchange import i18n

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
    env.globals["current_locale"] = i18n.current_locale
    return env


def format_local_datetime(
    value: datetime | None, timezone: str = "UTC", fmt: str = "medium"
) -> str:
    """A UTC datetime shown in the reader's zone and locale."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone))
    return babel_format_datetime(local, format=fmt, locale=i18n.current_locale())


def render_template(name: str, context: dict[str, object]) -> str:
    return environment().get_template(name).render(context)
