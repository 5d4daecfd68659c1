"""Catalogue keys of cities, such as "medellin-co"."""

from __future__ import annotations

import re

from exchange.domain.text import fold

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def city_key(name: str, country: str) -> str:
    """The catalogue key of a city: folded name slug plus lower-case country code."""
    slug = _SLUG_RE.sub("-", fold(name)).strip("-")
    return f"{slug}-{country.lower()}"
