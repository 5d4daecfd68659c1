"""The challenge lexicon: multilingual phrases grouped into concepts, one challenge each.

The lexicon ships as `exchange/data/challenge_lexicon.txt`; `default_concepts` reads and
parses it once per process. docs/matching.md ("The lexicon") says how it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: The shipped lexicon, in the `exchange` package's data folder; its header explains the format.
LEXICON_FILE = "challenge_lexicon.txt"


@dataclass(frozen=True)
class Concept:
    """One multilingual group of lexicon phrases for one challenge."""

    id: int
    slug: str
    phrases: tuple[tuple[str, str], ...]  # (language, phrase)


def parse_lexicon(source: str) -> tuple[Concept, ...]:
    """Read lexicon blocks (a challenge slug, then indented "lang: phrase, phrase" lines)
    into concepts numbered in order. Blank lines and "#" comments are skipped."""
    blocks: list[tuple[str, list[tuple[str, str]]]] = []
    for line in source.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            blocks.append((line.strip(), []))
            continue
        if not blocks:
            raise ValueError(f"lexicon phrases before any challenge: {line!r}")
        language, sep, words = line.strip().partition(":")
        if not sep:
            raise ValueError(f"lexicon phrases without a language: {line!r}")
        blocks[-1][1].extend(
            (language.strip(), phrase.strip()) for phrase in words.split(",") if phrase.strip()
        )
    return tuple(
        Concept(id=i, slug=slug, phrases=tuple(phrases)) for i, (slug, phrases) in enumerate(blocks)
    )


def read_lexicon() -> str:
    """The text of the shipped lexicon, `exchange/data/challenge_lexicon.txt`."""
    return (resources.files("exchange") / "data" / LEXICON_FILE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_concepts() -> tuple[Concept, ...]:
    """The shipped lexicon, read and parsed once per process."""
    return parse_lexicon(read_lexicon())
