"""Text analysis for matching: tokens, stop words, stemming, language guessing, phrases.

Everything here is language-aware but deliberately small: words are split on letters,
lower-cased, stop words of the text's language are dropped, the rest is stemmed with the
Snowball stemmer of that language (PyStemmer) and finally stripped of accents, so that
"réfugiés" and "refugies" meet. Stop word lists come from the `stop-words` package.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import Stemmer
from stop_words import StopWordError, get_stop_words

DEFAULT_LANGUAGE = "en"

#: ISO 639-1 code -> Snowball algorithm shipped with PyStemmer.
STEMMER_ALGORITHMS: dict[str, str] = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}

#: Codes the stop word package knows under another name.
_STOP_WORD_ALIASES = {"no": "nb"}

#: Languages a text is guessed among when nothing narrower is given. Each has a stop list.
DETECTABLE_LANGUAGES: tuple[str, ...] = (
    "en",
    "fr",
    "es",
    "de",
    "it",
    "pt",
    "nl",
    "sv",
    "nb",
    "da",
    "fi",
    "pl",
    "cs",
    "sk",
    "hu",
    "ro",
    "ca",
    "uk",
    "ru",
    "el",
    "tr",
)

# The generic stop lists (English especially) include words that carry meaning in this
# domain ("young", "state", "women", "trust"); they are never dropped.
_DOMAIN_WORDS = frozenset(
    {
        "young",
        "younger",
        "youngest",
        "youth",
        "old",
        "older",
        "oldest",
        "women",
        "men",
        "woman",
        "man",
        "state",
        "states",
        "trust",
        "help",
        "home",
        "fire",
        "free",
        "open",
        "group",
        "groups",
        "work",
        "working",
        "world",
        "information",
        "public",
        "place",
        "places",
        "member",
        "members",
        "problem",
        "problems",
        "interest",
        "order",
        "line",
        "system",
        "area",
        "areas",
        "large",
        "small",
        "new",
        "face",
        "needs",
        "welcome",
        "together",
        "affected",
        "research",
        "early",
        "right",
        "rights",
        "estado",
        "état",
        "personnes",
        "nuevos",
        "nouveaux",
        "staat",
        "gruppe",
        "jeunes",
        "jóvenes",
        "junge",
    }
)

_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
_MIN_WORD_LENGTH = 2


def fold(text: str) -> str:
    """Lower-case and strip accents so spelling variants of one word compare equal."""
    lowered = text.casefold()
    if lowered.isascii():
        return lowered
    return _fold_non_ascii(lowered)


@lru_cache(maxsize=200_000)
def _fold_non_ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Split text into lower-case words of letters only; elided articles (l', d') drop out."""
    return [w for w in _WORD_RE.findall(text.casefold()) if len(w) >= _MIN_WORD_LENGTH]


def has_stemmer(language: str) -> bool:
    """True when a stemmer exists for this ISO 639-1 code (Snowball, or our Ukrainian one)."""
    return language in STEMMER_ALGORITHMS or language == "uk"


#: Ukrainian inflection endings, longest first. Snowball has no Ukrainian stemmer, and the
#: Russian one leaves most Ukrainian endings on; stripping these alone lets the forms of
#: one word meet, which is all BM25 and the lexicon need.
_UK_ENDINGS = (
    "ями ами ові еві єві ого ому ими іми ією ою ею єю ії ія ію ій ий их іх ої "  # noqa: RUF001
    "ом ем ам ям ах ях ів їв ей а я у ю і и е о ь ї є"  # noqa: RUF001
)
_UK_SUFFIXES = tuple(sorted(_UK_ENDINGS.split(), key=len, reverse=True))
_UK_MIN_STEM = 3


@lru_cache(maxsize=50_000)
def _stem_ukrainian(word: str) -> str:
    for suffix in _UK_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _UK_MIN_STEM:
            return word[: -len(suffix)]
    return word


@cache
def stop_words(language: str) -> frozenset[str]:
    """The stop words of a language (both accented and folded forms), empty if unknown."""
    code = _STOP_WORD_ALIASES.get(language, language)
    try:
        words = get_stop_words(code)
    except StopWordError:
        return frozenset()
    lowered = {w.casefold() for w in words}
    return frozenset((lowered | {fold(w) for w in lowered}) - _DOMAIN_WORDS)


@cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    algorithm = STEMMER_ALGORITHMS.get(language, STEMMER_ALGORITHMS[DEFAULT_LANGUAGE])
    return Stemmer.Stemmer(algorithm, 50_000)


def stem_words(words: Sequence[str], language: str) -> list[str]:
    """Stem words with the language's stemmer (English if none), then fold accents."""
    if not words:
        return []
    if language == "uk":
        return [fold(_stem_ukrainian(w)) for w in words]
    return [fold(s) for s in _stemmer(language).stemWords(list(words))]


@lru_cache(maxsize=1)
def _stop_word_languages() -> dict[str, tuple[str, ...]]:
    """Word -> detectable languages whose stop list holds it, built once for speed."""
    index: dict[str, list[str]] = {}
    for language in DETECTABLE_LANGUAGES:
        for word in stop_words(language):
            index.setdefault(word, []).append(language)
    return {word: tuple(langs) for word, langs in index.items()}


def is_stop_word(word: str) -> bool:
    """Whether a word is a stop word in any language a text may be written in."""
    lowered = word.casefold()
    index = _stop_word_languages()
    return lowered in index or fold(lowered) in index


def guess_language(
    words: Sequence[str],
    hints: Sequence[str] = (),
    default: str = DEFAULT_LANGUAGE,
) -> str:
    """Guess a text's language from its stop words.

    Most hits wins; on a tie the first matching hint wins, then the default, then the
    alphabetically first code, so the answer never depends on set ordering.
    """
    index = _stop_word_languages()
    hits: dict[str, int] = {}
    for word in words:
        for language in index.get(word, ()):
            hits[language] = hits.get(language, 0) + 1
    if not hits:
        return _normalise_code(hints[0]) if hints else default
    best = max(hits.values())
    tied = {language for language, count in hits.items() if count == best}
    for preferred in (*hints, default):
        if _STOP_WORD_ALIASES.get(preferred, preferred) in tied:
            return _normalise_code(preferred)
    return _normalise_code(min(tied))


def _normalise_code(language: str) -> str:
    """Report Norwegian Bokmål as "no", the code cities declare."""
    return "no" if language == "nb" else language


@dataclass(frozen=True)
class Analysis:
    """A text reduced to index terms, keeping the surface word behind each stem."""

    language: str
    words: tuple[str, ...]
    stems: tuple[str, ...]


def analyse(text: str, language: str | None = None, hints: Sequence[str] = ()) -> Analysis:
    """Tokenise, guess the language unless given, drop its stop words, stem the rest."""
    tokens = tokenize(text)
    lang = language or guess_language(tokens, hints)
    stops = stop_words(lang)
    kept = tuple(t for t in tokens if t not in stops)
    return Analysis(language=lang, words=kept, stems=tuple(stem_words(kept, lang)))


@dataclass(frozen=True)
class PhraseHit:
    """A known phrase found in a text: its concept id and the span of stems it covers."""

    concept: int
    start: int
    end: int


class PhraseMatcher:
    """Finds known multilingual phrases in analysed text, whatever the text's language.

    Every phrase is stemmed with every stemmer a text may be analysed with, so a French
    phrase is also found in a text that was (mis)guessed as English, and cognates meet.
    Tables are built lazily per language and then reused.
    """

    def __init__(self, phrases: Iterable[tuple[int, str, str]]) -> None:
        """phrases: (concept id, ISO 639-1 language of the phrase, phrase text)."""
        self._phrases = tuple(phrases)
        self._tables: dict[str, dict[tuple[str, ...], tuple[int, ...]]] = {}
        self._starts: dict[str, frozenset[str]] = {}
        self._max_len = 1

    def _table(self, language: str) -> dict[tuple[str, ...], tuple[int, ...]]:
        table = self._tables.get(language)
        if table is not None:
            return table
        building: dict[tuple[str, ...], set[int]] = {}
        for concept, phrase_language, phrase in self._phrases:
            stops = stop_words(language) | stop_words(phrase_language)
            tokens = tokenize(phrase)
            words = [w for w in tokens if w not in stops]
            # "welcome centre" must not shrink to a bare, generic "centre"
            if len(tokens) > 1 and len(words) < 2:
                continue
            for variant in {
                tuple(stem_words(words, language)),
                tuple(stem_words([fold(w) for w in words], language)),
            }:
                if variant:
                    building.setdefault(variant, set()).add(concept)
                    self._max_len = max(self._max_len, len(variant))
        table = {key: tuple(sorted(ids)) for key, ids in building.items()}
        self._tables[language] = table
        self._starts[language] = frozenset(key[0] for key in table)
        return table

    def find(self, stems: Sequence[str], language: str) -> list[PhraseHit]:
        """Longest phrases first, left to right, without overlaps."""
        table = self._table(language)
        starts = self._starts[language]
        hits: list[PhraseHit] = []
        i = 0
        while i < len(stems):
            if stems[i] not in starts:
                i += 1
                continue
            step = 1
            for length in range(min(self._max_len, len(stems) - i), 0, -1):
                concepts = table.get(tuple(stems[i : i + length]))
                if concepts:
                    hits.extend(PhraseHit(c, i, i + length) for c in concepts)
                    step = length
                    break
            i += step
        return hits
