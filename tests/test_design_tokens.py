"""The colour tokens meet WCAG AA for every text/background pair the components use, in
the light theme and the dark one (docs/design.md lists the same pairs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parent.parent / "static" / "css"

# (text or mark, background, minimum ratio). Text needs 4.5:1; borders of form
# controls, bar fills and focus indicators need 3:1 (WCAG 1.4.11).
PAIRS = [
    # body text, secondary text, links, on every surface
    *[
        (fg, bg, 4.5)
        for fg in ("ink", "ink-muted", "accent", "accent-strong", "danger")
        for bg in ("surface", "surface-subtle")
    ],
    ("ink", "surface-sunken", 4.5),
    ("ink-muted", "surface-sunken", 4.5),  # neutral badges
    # chips, info badges and callouts, and the links inside them
    ("accent-strong", "accent-subtle", 4.5),
    ("accent", "accent-subtle", 4.5),
    ("ink", "accent-subtle", 4.5),
    # buttons
    ("on-accent", "accent", 4.5),
    ("on-accent", "accent-strong", 4.5),
    # the header band and its notice count
    ("on-header", "header", 4.5),
    ("header", "on-header", 4.5),
    # status badges and callouts of each tone
    ("success", "success-subtle", 4.5),
    ("warning", "warning-subtle", 4.5),
    ("danger", "danger-subtle", 4.5),
    ("ink", "success-subtle", 4.5),
    ("ink", "warning-subtle", 4.5),
    ("ink", "danger-subtle", 4.5),
    # matched words, focused links
    ("ink", "highlight", 4.5),
    ("focus-ink", "focus", 4.5),
    # non-text: control borders, bar fills against their track
    ("border-strong", "surface", 3.0),
    ("border-strong", "surface-subtle", 3.0),
    ("accent", "surface-sunken", 3.0),
    ("success", "surface-sunken", 3.0),
]


def themes() -> dict[str, dict[str, str]]:
    """The colour tokens of each theme: the dark one overrides the light one."""
    text = (CSS / "tokens.css").read_text(encoding="utf-8")
    light_block = text.split("@media (prefers-color-scheme: dark)", 1)[0]
    dark_block = text.split("@media (prefers-color-scheme: dark)", 1)[1].split("@media", 1)[0]

    def colours(block: str) -> dict[str, str]:
        return dict(re.findall(r"--color-([a-z-]+):\s*(#[0-9a-fA-F]{6})\s*;", block))

    light = colours(light_block)
    return {"light": light, "dark": {**light, **colours(dark_block)}}


def luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_pair_in_use_meets_aa(theme: str) -> None:
    colours = themes()[theme]
    failures = [
        f"{fg} on {bg}: {contrast(colours[fg], colours[bg]):.2f} < {minimum}"
        for fg, bg, minimum in PAIRS
        if contrast(colours[fg], colours[bg]) < minimum
    ]
    assert not failures, failures


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_focus_ring_shows_on_every_surface(theme: str) -> None:
    """The ring is yellow inside ink: one of the two stands out on any surface."""
    colours = themes()[theme]
    for surface in ("surface", "surface-subtle", "header"):
        best = max(
            contrast(colours["focus"], colours[surface]),
            contrast(colours["focus-ink"], colours[surface]),
        )
        assert best >= 3.0, surface


def test_components_use_tokens_not_raw_colours() -> None:
    """Colours are chosen once, in tokens.css (print.css sets its own for paper)."""
    for name in ("main.css", "components.css"):
        text = (CSS / name).read_text(encoding="utf-8")
        raw = re.findall(r"#[0-9a-fA-F]{3,6}\b|rgba?\(", text)
        assert not raw, f"{name} uses raw colours {raw}: add a token"
