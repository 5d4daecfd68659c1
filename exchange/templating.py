"""The Jinja2 environment shared by pages and emails: autoescape on, i18n wired in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, format_timedelta
from babel.dates import format_datetime as babel_format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from exchange import i18n
from exchange.domain.markdown import excerpt, render_markdown
from exchange.i18n import gettext as _
from exchange.models.cities import Challenge
from exchange.resources import resource_path
from exchange.services import labels, taxonomy

TEMPLATE_DIR = resource_path("templates")


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
    env.filters["day"] = format_local_day
    env.filters["language_name"] = labels.language_label
    env.filters["role_label"] = labels.role_label
    env.filters["number"] = labels.number_label
    env.filters["markdown"] = render_markdown
    env.filters["until"] = time_until
    env.filters["excerpt"] = excerpt
    env.filters["named_challenges"] = named_challenges
    env.filters["term_name"] = term_name
    env.filters["term_description"] = term_description
    env.globals["current_locale"] = i18n.current_locale
    env.globals["status_tone"] = status_tone
    env.globals["status_label"] = status_label
    env.globals["local_time"] = local_time
    return env


def format_local_datetime(value: datetime | None, timezone: str = "UTC", fmt: str = "") -> str:
    """A UTC datetime shown in the reader's zone and locale, naming the zone.

    Officials in different zones read the same page, so a time without its zone would
    mislead someone. `fmt` may name a Babel format ("short", "medium") to override.
    """
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(timezone))
    locale = i18n.babel_locale()
    if fmt:
        return babel_format_datetime(local, format=fmt, locale=locale)
    day = format_date(local, format="medium", locale=locale)
    time = format_time(local, format="short", locale=locale)
    return f"{day}, {time} ({timezone.replace('_', ' ')})"


def format_local_day(value: datetime | None, timezone: str = "UTC") -> str:
    """The date of a UTC datetime in the reader's zone: "Dec 1, 2026"."""
    if value is None:
        return ""
    return format_date(
        value.astimezone(ZoneInfo(timezone)), format="medium", locale=i18n.babel_locale()
    )


def render_template(name: str, context: dict[str, object]) -> str:
    return environment().get_template(name).render(context)


# The colour of a status badge, by state. The badge's text always names the state too,
# so colour is never the only signal. States of later kinds (dialogues, briefs, circles)
# join here; an unknown state is neutral.
STATUS_TONES = {
    # waiting for someone to act
    "open": "info",
    "inviting": "info",
    "pending": "warning",
    "in-review": "warning",
    "waiting": "warning",
    "invited": "info",
    "maybe": "info",
    "no-official": "warning",
    "preferred": "info",
    "scheduled": "info",
    "queued": "info",
    "sending": "info",
    # going well or done well
    "matched": "success",
    "accepted": "success",
    "active": "success",
    "published": "success",
    "held": "success",
    "confirmed": "success",
    "sent": "success",
    # turned down
    "declined": "danger",
    "failed": "danger",
    # over, or never happened
    "closed": "neutral",
    "concluded": "neutral",
    "withdrawn": "neutral",
    "expired": "neutral",
    "cancelled": "neutral",
    "removed": "neutral",
    "revoked": "neutral",
    "draft": "neutral",
}


def status_tone(kind: str, value: str) -> str:
    """The badge tone (info, success, warning, danger, neutral) of `kind`'s state `value`."""
    return STATUS_TONES.get(value, "neutral")


def status_label(kind: str, value: str) -> str:
    """A state's name in the reader's language, for the status badge."""
    if kind == "request":
        return labels.request_status_label(value)
    if kind == "invitation":
        return labels.invitation_status_label(value)
    named = {
        "active": _("Active"),
        "concluded": _("Concluded"),
        "draft": _("Draft"),
        "published": _("Published"),
    }
    return named.get(value, value.replace("-", " ").capitalize())


def local_time(timezone: str, now: datetime | None = None) -> str:
    """The time now in `timezone`, as a person there reads their clock: "Tuesday 14:05"."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone))
    locale = i18n.babel_locale()
    day = format_date(local, format="EEEE", locale=locale)
    return f"{day} {format_time(local, format='short', locale=locale)}"


def time_until(value: datetime | None, now: datetime | None = None) -> str:
    """How far away a deadline is, in words: "in 3 days", "2 hours ago"."""
    if value is None:
        return ""
    delta = value - (now or datetime.now(UTC))
    return format_timedelta(delta, add_direction=True, threshold=1.5, locale=i18n.babel_locale())


def named_challenges(slugs: Iterable[str], names: Mapping[str, str]) -> list[dict[str, str]]:
    """Challenge slugs with their names, for challenge chips (a slug no longer in the
    taxonomy shows as itself)."""
    return [{"slug": slug, "name": names.get(slug, slug)} for slug in slugs]


def term_name(term: object) -> str:
    """A challenge's name in the reader's language: a `Challenge` row is translated here;
    anything else (a count, a chip) already carries the name to show."""
    if isinstance(term, Challenge):
        return taxonomy.name_of(term)
    if isinstance(term, Mapping):
        return str(term.get("name", ""))
    return str(getattr(term, "name", ""))


def term_description(term: Challenge) -> str:
    return taxonomy.description_of(term)
