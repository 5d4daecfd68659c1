"""What a text says, as the index reads it: stems, lexicon concepts, and query terms.

Practices and requests go through the same analysis (`exchange.domain.text`); concepts
found by the lexicon become language-neutral terms, and every query word is also read in
the pivot language so that cognates meet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from exchange.domain.matching.model import PIVOT_LANGUAGE, PracticeDoc
from exchange.domain.text import (
    Analysis,
    PhraseHit,
    PhraseMatcher,
    analyse,
    fold,
    stem_words,
    stop_words,
)

CONCEPT_PREFIX = "~"  # concept terms cannot collide with words (tokens are letters only)


@dataclass(frozen=True)
class QueryTerm:
    """One query word (or concept) and the index terms that can stand for it."""

    surface: str
    variants: tuple[str, ...]


@dataclass(frozen=True)
class TextFeatures:
    """A text's BM25 terms and the challenges its wording points at."""

    analysis: Analysis
    terms: tuple[str, ...]
    concept_hits: tuple[PhraseHit, ...]


def concept_term(concept: int) -> str:
    return f"{CONCEPT_PREFIX}{concept}"


def text_features(
    text: str, matcher: PhraseMatcher, language: str | None = None, hints: Sequence[str] = ()
) -> TextFeatures:
    """Stems plus one concept term per lexicon phrase found."""
    analysis = analyse(text, language, hints)
    hits = tuple(matcher.find(analysis.stems, analysis.language))
    terms = analysis.stems + tuple(concept_term(h.concept) for h in hits)
    return TextFeatures(analysis=analysis, terms=terms, concept_hits=hits)


def query_terms(features: TextFeatures) -> list[QueryTerm]:
    """One entry per distinct word or concept, each word also read in the pivot language.

    A French "intégration" is searched both as the French stem and as the English stem
    of "integration", and scores with whichever matches better, never both.
    """
    analysis = features.analysis
    pivot_stops = stop_words(PIVOT_LANGUAGE)
    words = [fold(w) for w in analysis.words]
    pivot = stem_words(words, PIVOT_LANGUAGE) if analysis.language != PIVOT_LANGUAGE else []
    seen: set[tuple[str, ...]] = set()
    result: list[QueryTerm] = []
    for i, (word, stem) in enumerate(zip(analysis.words, analysis.stems, strict=True)):
        variants = [stem]
        if pivot and words[i] not in pivot_stops and pivot[i] != stem:
            variants.append(pivot[i])
        key = tuple(variants)
        if key not in seen:
            seen.add(key)
            result.append(QueryTerm(surface=word, variants=key))
    for hit in features.concept_hits:
        key = (concept_term(hit.concept),)
        if key not in seen:
            seen.add(key)
            surface = " ".join(analysis.words[hit.start : hit.end])
            result.append(QueryTerm(surface=surface, variants=key))
    return result


def practice_text(practice: PracticeDoc, title_repeat: int) -> str:
    """The text a practice is searched by; the title counts more than the body."""
    return " ".join([practice.title] * title_repeat + [practice.summary, practice.outcomes])


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    """A text's sentences, split after ".", "!" or "?" followed by space; blanks dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def is_concept(term: QueryTerm) -> bool:
    """True for a lexicon concept found in the request, False for one of its own words."""
    return term.variants[0].startswith(CONCEPT_PREFIX)
