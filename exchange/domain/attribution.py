"""Non-attribution that holds: find where a text names someone it must not.

Under the Chatham House Rule a finding may say what was said, never who said it. When a
non-attributed finding's text contains the name of a participating city, a participant
or their organisation, the author is shown the words so they can rewrite or confirm
them. Names are matched whole-word, whatever the case and with or without diacritics
("Kyiv" finds "KYIV"; "Malmö" finds "Malmo"); a person's name also matches by its
parts of four letters or more, so "Olena" is found in "as Olena said".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from exchange.domain.text import fold

# Parts of a person's name shorter than this are too often ordinary words ("Li", "Ng").
MIN_NAME_PART = 4
_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> list[tuple[str, str]]:
    """(folded word, word as written) for every word of `text`."""
    return [(fold(match.group()), match.group()) for match in _WORD.finditer(text)]


def name_forms(names: Iterable[str], people: Iterable[str]) -> list[tuple[str, ...]]:
    """The word sequences to look for: each name whole, and each long part of a person's."""
    forms: set[tuple[str, ...]] = set()
    for name in names:
        words = tuple(fold(w) for w in _WORD.findall(name))
        if words:
            forms.add(words)
    for person in people:
        words = tuple(fold(w) for w in _WORD.findall(person))
        if words:
            forms.add(words)
            forms.update((w,) for w in words if len(w) >= MIN_NAME_PART)
    return sorted(forms, key=lambda f: (-len(f), f))


def names_found(text: str, names: Iterable[str], people: Iterable[str] = ()) -> list[str]:
    """The words of `text` (as written) that name one of `names` (cities, organisations)
    or `people`, in order of first appearance, each once."""
    words = _words(text)
    forms = name_forms(names, people)
    found: dict[str, None] = {}
    for start in range(len(words)):
        for form in forms:
            end = start + len(form)
            if tuple(w for w, _ in words[start:end]) == form:
                found.setdefault(" ".join(original for _, original in words[start:end]), None)
                break
    return list(found)


def unconfirmed(found: Iterable[str], confirmed: Iterable[str]) -> list[str]:
    """The found words the author has not confirmed (compared folded)."""
    ok = {fold(word) for word in confirmed}
    return [word for word in found if fold(word) not in ok]
