"""A readable difference between two versions of a text, word by word.

Readers compare any two published versions of a brief; a word-level diff shows what
changed inside a sentence, where a line diff would flag whole paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

# Words with the space after them, so joining the pieces gives the text back.
_TOKEN = re.compile(r"\S+\s*|\s+")

Op = Literal["same", "added", "removed"]


@dataclass(frozen=True)
class Piece:
    op: Op
    text: str


def word_diff(old: str, new: str) -> list[Piece]:
    """`old` turned into `new` as pieces of unchanged, removed and added text."""
    before, after = _TOKEN.findall(old), _TOKEN.findall(new)
    pieces: list[Piece] = []
    matcher = SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pieces.append(Piece("same", "".join(before[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("removed", "".join(before[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("added", "".join(after[j1:j2])))
    return pieces


def changed(pieces: list[Piece]) -> bool:
    return any(piece.op != "same" for piece in pieces)
