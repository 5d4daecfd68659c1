"""Markdown written by officials and staff, turned into HTML that is safe to show."""

from __future__ import annotations

import html
import re
from functools import cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "strong",
        "em",
        "a",
        "ul",
        "ol",
        "li",
        "blockquote",
        "code",
        "pre",
        "hr",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    }
)
TABLE_TAGS = frozenset({"table", "thead", "tbody", "tr", "th", "td"})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@cache
def _parser(tables: bool) -> MarkdownIt:
    # Raw HTML in the source stays text. Images are dropped by the cleaner: they would
    # load from other hosts.
    parser = MarkdownIt("commonmark", {"html": False})
    return parser.enable("table") if tables else parser


def render_markdown(source: str, *, tables: bool = False) -> Markup:
    """HTML for `source`, cleaned with an allow-list even though raw HTML is already off.

    `tables` also renders pipe tables, which the project's own documents use.
    """
    html = _parser(tables).render(source or "")
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS | TABLE_TAGS) if tables else set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="nofollow noopener noreferrer",
    )
    return Markup(cleaned)  # noqa: S704 - cleaned by nh3 just above


EXCERPT_CHARS = 240


def excerpt(source: str, limit: int = EXCERPT_CHARS) -> str:
    """The opening of a Markdown text as plain text, cut at a word, at most `limit` long
    (cards show the first lines of a summary)."""
    text = html.unescape(nh3.clean(str(render_markdown(source)), tags=set()))
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:.-\u2013\u2014")
    return cut + "…"
