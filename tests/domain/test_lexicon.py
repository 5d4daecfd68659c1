"""The challenge lexicon: its parser, and the data file shipped with the package."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from exchange.domain.matching import Concept, default_concepts, parse_lexicon, read_lexicon

ROOT = Path(__file__).resolve().parents[2]


def test_parser_reads_blocks_into_numbered_concepts() -> None:
    source = """
# a comment, then a blank line

post-attack-recovery
    en: terror attack, bombing
    fr: attentat
    # comments may sit between phrase lines
    en: attacker,
online-harms
    de: hass im netz
"""
    assert parse_lexicon(source) == (
        Concept(
            0,
            "post-attack-recovery",
            (("en", "terror attack"), ("en", "bombing"), ("fr", "attentat"), ("en", "attacker")),
        ),
        Concept(1, "online-harms", (("de", "hass im netz"),)),
    )


@pytest.mark.parametrize(
    "source",
    [
        "    en: phrases before any challenge\n",
        "post-attack-recovery\n    a line without its language\n",
    ],
)
def test_parser_refuses_lines_it_cannot_place(source: str) -> None:
    with pytest.raises(ValueError, match="lexicon phrases"):
        parse_lexicon(source)


def test_the_shipped_lexicon_is_read_once() -> None:
    concepts = default_concepts()
    assert concepts is default_concepts()
    assert concepts == parse_lexicon(read_lexicon() + "\n" + read_lexicon("need_lexicon.txt"))
    assert len(concepts) >= 60
    assert [c.id for c in concepts] == list(range(len(concepts)))


def test_the_lexicon_file_ships_with_the_package() -> None:
    lexicon = ROOT / "exchange" / "data" / "challenge_lexicon.txt"
    assert read_lexicon() == lexicon.read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["setuptools"]["package-data"]["exchange"]
    relative = lexicon.relative_to(ROOT / "exchange").as_posix()
    assert any(fnmatch(relative, pattern) for pattern in shipped)
