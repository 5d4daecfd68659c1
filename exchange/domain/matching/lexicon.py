"""The lexicons: multilingual phrases grouped into concepts.

The challenge lexicon (`exchange/data/challenge_lexicon.txt`) ties each concept to one
challenge; the need lexicon (`exchange/data/need_lexicon.txt`) holds synonyms and
translations of everyday words, concepts that suggest no challenge (`NO_CHALLENGE`).
`default_concepts` reads and parses both once per process. docs/matching.md ("The
lexicon") says how they are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: The shipped lexicon, in the `exchange` package's data folder; its header explains the format.
LEXICON_FILE = "challenge_lexicon.txt"
#: The shipped need lexicon: concepts of everyday words that suggest no challenge.
NEED_LEXICON_FILE = "need_lexicon.txt"
#: A block starting with "*" is a concept without a challenge; its slug is empty.
NO_CHALLENGE = ""


@dataclass(frozen=True)
class Concept:
    """One multilingual group of lexicon phrases for one challenge."""

    id: int
    slug: str  # NO_CHALLENGE for a concept of the need lexicon
    phrases: tuple[tuple[str, str], ...]  # (language, phrase)


def parse_lexicon(source: str) -> tuple[Concept, ...]:
    """Read lexicon blocks (a challenge slug, then indented "lang: phrase, phrase" lines)
    into concepts numbered in order. A block headed "*" suggests no challenge (its slug is
    `NO_CHALLENGE`). Blank lines and "#" comments are skipped."""
    blocks: list[tuple[str, list[tuple[str, str]]]] = []
    for line in source.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            head = line.strip()
            blocks.append((NO_CHALLENGE if head == "*" else head, []))
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


def read_lexicon(name: str = LEXICON_FILE) -> str:
    """The text of a shipped lexicon, by default `exchange/data/challenge_lexicon.txt`."""
    return (resources.files("exchange") / "data" / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_concepts() -> tuple[Concept, ...]:
    """Both shipped lexicons (challenges, then needs), read and parsed once per process."""
    return parse_lexicon(read_lexicon() + "\n" + read_lexicon(NEED_LEXICON_FILE))
