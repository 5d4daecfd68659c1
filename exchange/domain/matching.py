"""Peer matching: rank the cities best placed to help a requesting city with a challenge.

The model, in one line::

    score = fit * (floor + (1 - floor) * context)

``fit`` says whether a peer has lived through the problem (taxonomy coverage of its
practices, plus BM25 relevance of their text to the description); ``context`` says how
easy and rewarding the exchange would be (shared language, preferred region, similar
size, free capacity, past response and feedback). Multiplying keeps a city that fits
badly from climbing on context alone, while context still decides between good fits.
Every signal lies in [0, 1], so the score does too. The weights live in `Weights`;
docs/matching.md explains each one.

The index is built once from plain data and answers requests without I/O. A requesting
city must be part of the index: its languages, region and size are the context.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from importlib import resources

import numpy as np
import numpy.typing as npt

from exchange.domain.regions import REGIONS
from exchange.domain.text import (
    Analysis,
    PhraseHit,
    PhraseMatcher,
    analyse,
    fold,
    stem_words,
    stop_words,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Challenges where a peer of a similar size has more transferable experience.
SIZE_SENSITIVE_CHALLENGES = frozenset(
    {
        "urban-design-cohesion",
        "migration-integration",
        "protest-management",
        "community-engagement",
        "national-local-cooperation",
    }
)

#: Language every text is also read in, so that cognates reach the (mostly English) library.
PIVOT_LANGUAGE = "en"


@dataclass(frozen=True)
class Weights:
    """Every tunable number of the ranking, in one place (see docs/matching.md)."""

    # fit: how well a peer's practices answer the request
    taxonomy: float = 0.6  # share of fit from challenge coverage
    text: float = 0.4  # share of fit from BM25 relevance to the description
    related_credit: float = 0.5  # a practice on a related challenge counts this much
    inferred_query_challenge: float = 0.5  # challenge read from the text vs one declared
    inferred_practice_challenge: float = 0.6  # practice mentions vs declares a challenge
    text_saturation: float = 0.35  # query idf mass a practice must cover to score 1.0
    # context: how good the exchange would be
    floor: float = 0.6  # part of fit that context cannot take away
    language: float = 0.30
    region: float = 0.20  # only when the request names preferred regions
    size: float = 0.10  # halved unless a requested challenge is size-sensitive
    capacity: float = 0.10
    reputation: float = 0.30
    # small parts of the signals
    fallback_language_credit: float = 0.5  # shares the city's language, not a preferred one
    size_decades_to_zero: float = 1.5  # population ratio (log10) at which size scores 0
    capacity_saturation: int = 3  # free places at which the capacity signal is full
    response_prior: float = 0.7  # assumed response quality without history
    feedback_prior: float = 0.75  # assumed feedback (0..1) without history
    prior_strength: float = 3.0  # how many observations the priors are worth
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    title_repeat: int = 2  # title words count this many times in a practice's text


WEIGHTS = Weights()


# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ChallengeTerm:
    """A taxonomy entry as the ranking needs it."""

    slug: str
    name: str
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class PracticeDoc:
    """One practice of a city: what it did, about which challenges, since when."""

    id: int
    title: str
    summary: str
    challenges: tuple[str, ...]
    since: int | None
    outcomes: str = ""


@dataclass(frozen=True)
class PeerHistory:
    """How a city answered past invitations, and how its exchanges were rated (1..5)."""

    accepted: int = 0
    declined: int = 0
    expired: int = 0
    feedback: tuple[int, ...] = ()


@dataclass(frozen=True)
class PeerCity:
    """A city as the ranking sees it: a possible peer, or the city asking for peers."""

    key: str
    name: str
    country: str
    region: str
    population: int | None
    languages: tuple[str, ...]
    free_capacity: int
    practices: tuple[PracticeDoc, ...]
    history: PeerHistory = PeerHistory()


@dataclass(frozen=True)
class MatchQuery:
    """A request for peers. Languages are ISO 639-1 codes, regions from `REGIONS`."""

    city_key: str
    challenges: tuple[str, ...]
    text: str = ""
    languages: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    limit: int = 5


# ---------------------------------------------------------------------------- outputs


class ReasonCode(StrEnum):
    """What a reason says; the parameters each one carries are listed in `Reason`."""

    PRACTICE_CHALLENGE = "practice_challenge"
    PRACTICE_TEXT_CHALLENGE = "practice_text_challenge"
    PRACTICE_RELATED = "practice_related"
    PRACTICE_TEXT = "practice_text"
    PRACTICE_TEXT_THEME = "practice_text_theme"
    SHARED_LANGUAGE = "shared_language"
    PREFERRED_REGION = "preferred_region"
    SIMILAR_SIZE = "similar_size"
    CAPACITY = "capacity"
    RESPONSE_HISTORY = "response_history"
    FEEDBACK = "feedback"


ReasonValue = str | int | float | bool | tuple[str, ...]


@dataclass(frozen=True)
class Reason:
    """Why a candidate is proposed: a code and the raw facts behind it, never text.

    Sentences, number formats, list joining and the names of languages and regions
    belong to the reader's locale, chosen above the domain (`services/reasons.py`).
    Parameters by code:

    - practice_challenge, practice_text_challenge: ``title``, ``year`` (only when
      known), ``challenges`` (taxonomy names)
    - practice_related: ``title``, ``year`` (only when known), ``challenge`` (the
      practice's), ``requested`` (the related one asked for)
    - practice_text: ``title``, ``words`` (the request's own words the practice uses)
    - practice_text_theme: ``title``, ``challenges``
    - shared_language: ``languages`` (ISO 639-1 codes), ``preferred`` (True when they
      are languages the request asks for, False when the requesting city's own)
    - preferred_region: ``region`` (a region code)
    - similar_size: ``population``
    - capacity: ``count`` (free places)
    - response_history: ``accepted``, ``total`` (answered or expired invitations)
    - feedback: ``average`` (1..5, unrounded), ``count`` (ratings)
    """

    code: ReasonCode
    params: Mapping[str, ReasonValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A ranked peer: score in [0, 1], reasons to show, raw signals to inspect."""

    city_key: str
    score: float
    reasons: tuple[Reason, ...]
    signals: dict[str, float]


class MatchError(ValueError):
    """A request the index cannot answer."""


class UnknownCity(MatchError):
    """The requesting city is not in the index."""


class UnknownChallenge(MatchError):
    """A challenge slug is not in the taxonomy."""


# --------------------------------------------------------------------------- lexicon

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


# -------------------------------------------------------------------- text features


_CONCEPT_PREFIX = "~"  # concept terms cannot collide with words (tokens are letters only)


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


def _concept_term(concept: int) -> str:
    return f"{_CONCEPT_PREFIX}{concept}"


def text_features(
    text: str, matcher: PhraseMatcher, language: str | None = None, hints: Sequence[str] = ()
) -> TextFeatures:
    """Stems plus one concept term per lexicon phrase found."""
    analysis = analyse(text, language, hints)
    hits = tuple(matcher.find(analysis.stems, analysis.language))
    terms = analysis.stems + tuple(_concept_term(h.concept) for h in hits)
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
        key = (_concept_term(hit.concept),)
        if key not in seen:
            seen.add(key)
            surface = " ".join(analysis.words[hit.start : hit.end])
            result.append(QueryTerm(surface=surface, variants=key))
    return result


def practice_text(practice: PracticeDoc, title_repeat: int) -> str:
    """The text a practice is searched by; the title counts more than the body."""
    return " ".join([practice.title] * title_repeat + [practice.summary, practice.outcomes])


# ---------------------------------------------------------------------------- index


@dataclass(frozen=True)
class _Postings:
    """Compressed inverted index: postings of term t are docs[offsets[t]:offsets[t+1]]."""

    vocabulary: dict[str, int]
    offsets: IntArray
    docs: npt.NDArray[np.int32]
    impacts: npt.NDArray[np.float32]  # precomputed BM25 weight of the term in that doc
    idf: npt.NDArray[np.float32]


class MatchIndex:
    """An immutable, in-memory index over cities and their practices.

    Cities are held in key order and their practices contiguously, so per-city maxima
    are one `np.maximum.reduceat` and ties resolve by key for free.
    """

    def __init__(
        self,
        cities: list[PeerCity],
        taxonomy: dict[str, ChallengeTerm],
        weights: Weights,
        matcher: PhraseMatcher,
        concepts: tuple[Concept, ...],
    ) -> None:
        """Use `MatchIndex.build`; this only wires prepared parts together."""
        self.weights = weights
        self.cities = cities
        self.taxonomy = taxonomy
        self._matcher = matcher
        self._concepts = concepts
        self._city_index = {c.key: i for i, c in enumerate(cities)}
        self._slug_index = {slug: i for i, slug in enumerate(taxonomy)}
        self._slugs = list(taxonomy)
        self._doc_start = np.zeros(len(cities) + 1, dtype=np.int64)
        self._doc_language: list[str] = []
        self._postings: _Postings | None = None
        self._coverage = np.zeros((len(cities), len(taxonomy)), dtype=np.float64)
        self._declared_mask = np.zeros(0, dtype=np.int64)
        self._inferred_mask = np.zeros(0, dtype=np.int64)
        self._context = _ContextArrays.from_cities(cities, weights)

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        cities: Iterable[PeerCity],
        taxonomy: Iterable[ChallengeTerm],
        weights: Weights = WEIGHTS,
        concepts: Sequence[Concept] | None = None,
    ) -> MatchIndex:
        """Analyse every practice once and lay out the arrays that `rank` reads."""
        terms = {t.slug: t for t in taxonomy}
        lexicon = tuple(default_concepts() if concepts is None else concepts)
        ordered = sorted(cities, key=lambda c: c.key)
        _check_unique_keys(ordered)
        matcher = PhraseMatcher(
            (c.id, language, phrase)
            for c in lexicon
            if c.slug in terms
            for language, phrase in c.phrases
        )
        index = cls(ordered, terms, weights, matcher, lexicon)
        index._index_practices()
        return index

    def _index_practices(self) -> None:
        builder = _PostingsBuilder()
        declared: list[int] = []
        inferred: list[int] = []
        doc = 0
        for ci, city in enumerate(self.cities):
            self._doc_start[ci] = doc
            hints = city.languages
            for practice in city.practices:
                text = practice_text(practice, self.weights.title_repeat)
                features = text_features(text, self._matcher, hints=hints)
                self._doc_language.append(features.analysis.language)
                builder.add(features.terms)
                declared_bits = self._mask(practice.challenges)
                inferred_bits = (
                    self._mask(self._concepts[h.concept].slug for h in features.concept_hits)
                    & ~declared_bits
                )
                declared.append(declared_bits)
                inferred.append(inferred_bits)
                self._add_coverage(ci, declared_bits, inferred_bits)
                doc += 1
        self._doc_start[len(self.cities)] = doc
        self._declared_mask = np.array(declared, dtype=np.int64)
        self._inferred_mask = np.array(inferred, dtype=np.int64)
        self._postings = builder.finish(self.weights)

    def _mask(self, slugs: Iterable[str]) -> int:
        bits = 0
        for slug in slugs:
            position = self._slug_index.get(slug)
            if position is not None:
                bits |= 1 << position
        return bits

    def _add_coverage(self, city: int, declared: int, inferred: int) -> None:
        row = self._coverage[city]
        for position in range(len(self._slugs)):
            if declared >> position & 1:
                row[position] = 1.0
            elif inferred >> position & 1:
                row[position] = max(row[position], self.weights.inferred_practice_challenge)

    def with_availability(
        self, free_capacity: Mapping[str, int], history: Mapping[str, PeerHistory]
    ) -> MatchIndex:
        """A copy sharing the text index, with current free capacity and peer history.

        Capacity and history change far more often than the catalogue; this takes
        milliseconds where a rebuild takes seconds. A city missing from `free_capacity`
        has none free; one missing from `history` has no history.
        """
        cities: list[PeerCity] = []
        for city in self.cities:
            free = free_capacity.get(city.key, 0)
            past = history.get(city.key, PeerHistory())
            if free != city.free_capacity or past != city.history:
                city = replace(city, free_capacity=free, history=past)
            cities.append(city)
        clone = copy.copy(self)
        clone.cities = cities
        clone._context = self._context.with_availability(cities)
        return clone

    # ------------------------------------------------------------------- ranking

    def rank(self, query: MatchQuery) -> list[Candidate]:
        """The best peers for the request, best first, at most `query.limit`."""
        requester = self._validate(query)
        features = text_features(
            query.text, self._matcher, hints=(*query.languages, *self.cities[requester].languages)
        )
        wanted = self._wanted_challenges(query, features)
        terms = query_terms(features) if query.text.strip() else []
        taxonomy = self._taxonomy_signal(wanted)
        doc_scores, text = self._text_signal(terms)
        fit = self._combine_fit(taxonomy, text, has_text=bool(terms))
        context_parts = self._context.signals(query, requester)
        context = self._context.combine(context_parts, wanted)
        score = fit * (self.weights.floor + (1.0 - self.weights.floor) * context)
        eligible = self._eligible(requester, fit)
        chosen = _top_indices(np.where(eligible, score, -1.0), query.limit)
        signals = {"taxonomy": taxonomy, "text": text, "fit": fit, "context": context}
        signals.update(context_parts)
        explainer = _Explainer(self, query, requester, wanted, terms, doc_scores)
        return [
            Candidate(
                city_key=self.cities[i].key,
                score=float(np.clip(score[i], 0.0, 1.0)),
                reasons=explainer.reasons(i, {k: float(v[i]) for k, v in signals.items()}),
                signals={k: round(float(v[i]), 6) for k, v in signals.items()},
            )
            for i in chosen
        ]

    def _validate(self, query: MatchQuery) -> int:
        requester = self._city_index.get(query.city_key)
        if requester is None:
            raise UnknownCity(f"unknown city: {query.city_key}")
        unknown = [slug for slug in query.challenges if slug not in self.taxonomy]
        if unknown:
            raise UnknownChallenge(f"unknown challenge: {', '.join(unknown)}")
        if not query.challenges and not query.text.strip():
            raise MatchError("a request needs at least one challenge or a description")
        bad_regions = [r for r in query.regions if r not in self._context.region_codes]
        if bad_regions:
            raise MatchError(f"unknown region: {', '.join(bad_regions)}")
        if query.limit < 1:
            raise MatchError("limit must be at least 1")
        return requester

    def _wanted_challenges(self, query: MatchQuery, features: TextFeatures) -> dict[str, float]:
        """Declared challenges weigh 1; challenges only read from the text weigh less."""
        wanted = dict.fromkeys(query.challenges, 1.0)
        for hit in features.concept_hits:
            slug = self._concepts[hit.concept].slug
            wanted.setdefault(slug, self.weights.inferred_query_challenge)
        return wanted

    def _taxonomy_signal(self, wanted: Mapping[str, float]) -> FloatArray:
        """Weighted share of the wanted challenges the city's practices cover."""
        total = np.zeros(len(self.cities), dtype=np.float64)
        if not wanted:
            return total
        for slug, weight in wanted.items():
            total += weight * self._slug_coverage(slug)
        return total / sum(wanted.values())

    def _slug_coverage(self, slug: str) -> FloatArray:
        """Coverage of one challenge: direct, or partial credit through a related one."""
        direct = self._coverage[:, self._slug_index[slug]]
        related = [
            self._slug_index[r] for r in self.taxonomy[slug].related if r in self._slug_index
        ]
        if not related:
            return np.asarray(direct, dtype=np.float64)
        via_related = self._coverage[:, related].max(axis=1) * self.weights.related_credit
        return np.asarray(np.maximum(direct, via_related), dtype=np.float64)

    def _text_signal(self, terms: Sequence[QueryTerm]) -> tuple[FloatArray, FloatArray]:
        """BM25 of each practice, then the best practice per city, scaled to [0, 1]."""
        postings = self._postings
        n_docs = int(self._doc_start[-1])
        doc_scores = np.zeros(n_docs, dtype=np.float64)
        city_scores = np.zeros(len(self.cities), dtype=np.float64)
        if postings is None or not terms or n_docs == 0:
            return doc_scores, city_scores
        idf_mass = 0.0
        for term in terms:
            ids = [postings.vocabulary[v] for v in term.variants if v in postings.vocabulary]
            if not ids:
                continue
            idf_mass += float(max(postings.idf[t] for t in ids))
            _accumulate_best_variant(doc_scores, postings, ids)
        if idf_mass == 0.0:
            return doc_scores, city_scores
        city_scores = self._best_per_city(doc_scores)
        scale = max(float(city_scores.max()), self.weights.text_saturation * idf_mass)
        return doc_scores, city_scores / scale

    def _best_per_city(self, doc_scores: FloatArray) -> FloatArray:
        starts = self._doc_start[:-1]
        has_docs = self._doc_start[1:] > starts
        result = np.zeros(len(self.cities), dtype=np.float64)
        if has_docs.any():
            result[has_docs] = np.maximum.reduceat(doc_scores, starts[has_docs])
        return result

    def _combine_fit(self, taxonomy: FloatArray, text: FloatArray, has_text: bool) -> FloatArray:
        w = self.weights
        if not has_text:
            return taxonomy
        return (w.taxonomy * taxonomy + w.text * text) / (w.taxonomy + w.text)

    def _eligible(self, requester: int, fit: FloatArray) -> npt.NDArray[np.bool_]:
        """Never the requester, never a city without free capacity, never a city with no fit."""
        eligible = (self._context.capacity > 0) & (fit > 0.0)
        eligible[requester] = False
        return eligible

    # ------------------------------------------------------------ explanation data

    @property
    def context(self) -> _ContextArrays:
        """Per-city context columns (languages, regions, sizes, capacity, reputation)."""
        return self._context

    def practice_at(self, doc: int) -> PracticeDoc:
        """The practice at a position of the per-practice arrays."""
        city = int(np.searchsorted(self._doc_start, doc, side="right")) - 1
        return self.cities[city].practices[doc - int(self._doc_start[city])]

    def practices_of(self, city: int) -> tuple[PracticeDoc, ...]:
        """Practices of the city at this position, in index order."""
        return self.cities[city].practices

    def doc_range(self, city: int) -> range:
        """Positions of a city's practices in the per-practice arrays."""
        return range(int(self._doc_start[city]), int(self._doc_start[city + 1]))

    def doc_language(self, doc: int) -> str:
        """The language a practice's text was analysed in."""
        return self._doc_language[doc]

    def doc_masks(self, doc: int) -> tuple[int, int]:
        """(declared, text-inferred) challenge bit masks of a practice."""
        return int(self._declared_mask[doc]), int(self._inferred_mask[doc])

    def slug_bit(self, slug: str) -> int:
        """The bit of a challenge in the practice masks."""
        return 1 << self._slug_index[slug]

    def concept_slug(self, term: str) -> str:
        """The challenge of a concept term (as `query_terms` spells it)."""
        return self._concepts[int(term.removeprefix(_CONCEPT_PREFIX))].slug

    def doc_terms(self, doc: int, practice: PracticeDoc) -> set[str]:
        """Re-derive a practice's terms; only done for the few candidates shown."""
        text = practice_text(practice, 1)
        return set(text_features(text, self._matcher, language=self.doc_language(doc)).terms)


def _is_concept(term: QueryTerm) -> bool:
    """True for a lexicon concept found in the request, False for one of its own words."""
    return term.variants[0].startswith(_CONCEPT_PREFIX)


def _check_unique_keys(cities: Sequence[PeerCity]) -> None:
    for previous, current in itertools.pairwise(cities):
        if previous.key == current.key:
            raise MatchError(f"duplicate city key: {current.key}")


def _accumulate_best_variant(scores: FloatArray, postings: _Postings, term_ids: list[int]) -> None:
    """Add one query term's BM25 contribution, taking the best of its variants per doc."""
    if len(term_ids) == 1:
        t = term_ids[0]
        lo, hi = postings.offsets[t], postings.offsets[t + 1]
        scores[postings.docs[lo:hi]] += postings.impacts[lo:hi]
        return
    best = np.zeros_like(scores)
    for t in term_ids:
        lo, hi = postings.offsets[t], postings.offsets[t + 1]
        docs = postings.docs[lo:hi]
        best[docs] = np.maximum(best[docs], postings.impacts[lo:hi])
    scores += best


def _top_indices(score: FloatArray, limit: int) -> list[int]:
    """Indices of the `limit` highest positive scores; equal scores keep index (= key) order."""
    positive = np.flatnonzero(score >= 0.0)
    if positive.size == 0:
        return []
    values = score[positive]
    if positive.size > limit:
        threshold = np.partition(values, positive.size - limit)[positive.size - limit]
        keep = values >= threshold
        positive, values = positive[keep], values[keep]
    order = np.lexsort((positive, -values))
    return [int(i) for i in positive[order][:limit]]


class _PostingsBuilder:
    """Collects (term, doc, tf) triples compactly, then sorts them into postings."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self._terms: list[npt.NDArray[np.int32]] = []
        self._tfs: list[npt.NDArray[np.int32]] = []
        self._lengths: list[int] = []

    def add(self, terms: Sequence[str]) -> None:
        counts = Counter(terms)
        vocabulary = self.vocabulary
        ids = [vocabulary.setdefault(term, len(vocabulary)) for term in counts]
        self._terms.append(np.array(ids, dtype=np.int32))
        self._tfs.append(np.array(list(counts.values()), dtype=np.int32))
        self._lengths.append(len(terms))

    def finish(self, weights: Weights) -> _Postings:
        n_docs = len(self._lengths)
        lengths = np.array(self._lengths, dtype=np.float64)
        per_doc = np.array([len(t) for t in self._terms], dtype=np.int64)
        term_ids = np.concatenate(self._terms) if n_docs else np.zeros(0, dtype=np.int32)
        tfs = np.concatenate(self._tfs).astype(np.float64) if n_docs else np.zeros(0)
        docs = np.repeat(np.arange(n_docs, dtype=np.int32), per_doc)
        order = np.argsort(term_ids, kind="stable")
        term_ids, tfs, docs = term_ids[order], tfs[order], docs[order]
        n_terms = len(self.vocabulary)
        df = np.bincount(term_ids, minlength=n_terms).astype(np.float64)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
        average = float(lengths.mean()) if n_docs else 1.0
        norm = weights.bm25_k1 * (1.0 - weights.bm25_b + weights.bm25_b * lengths[docs] / average)
        impacts = idf[term_ids] * tfs * (weights.bm25_k1 + 1.0) / (tfs + norm)
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=offsets[1:])
        self._terms, self._tfs, self._lengths = [], [], []
        return _Postings(
            vocabulary=self.vocabulary,
            offsets=offsets,
            docs=docs.astype(np.int32),
            impacts=impacts.astype(np.float32),
            idf=idf.astype(np.float32),
        )


# --------------------------------------------------------------------------- context


class _ContextArrays:
    """Per-city context columns, so each context signal is one vector operation."""

    def __init__(
        self,
        language_codes: dict[str, int],
        speaks: npt.NDArray[np.bool_],
        region_codes: dict[str, int],
        region: IntArray,
        log_population: FloatArray,
        capacity: IntArray,
        reputation: FloatArray,
        weights: Weights,
    ) -> None:
        self.language_codes = language_codes
        self.speaks = speaks
        self.region_codes = region_codes
        self.region = region
        self.log_population = log_population
        self.capacity = capacity
        self.reputation = reputation
        self.weights = weights

    @classmethod
    def from_cities(cls, cities: Sequence[PeerCity], weights: Weights) -> _ContextArrays:
        language_codes: dict[str, int] = {}
        for city in cities:
            for language in city.languages:
                language_codes.setdefault(language, len(language_codes))
        speaks = np.zeros((len(cities), max(len(language_codes), 1)), dtype=np.bool_)
        for i, city in enumerate(cities):
            for language in city.languages:
                speaks[i, language_codes[language]] = True
        region_codes = {r: i for i, r in enumerate(REGIONS)}
        for city in cities:
            region_codes.setdefault(city.region, len(region_codes))
        return cls(
            language_codes=language_codes,
            speaks=speaks,
            region_codes=region_codes,
            region=np.array([region_codes[c.region] for c in cities], dtype=np.int64),
            log_population=np.array(
                [math.log10(c.population) if c.population else np.nan for c in cities],
                dtype=np.float64,
            ),
            capacity=np.array([max(c.free_capacity, 0) for c in cities], dtype=np.int64),
            reputation=np.array([reputation(c.history, weights) for c in cities]),
            weights=weights,
        )

    def with_availability(self, cities: Sequence[PeerCity]) -> _ContextArrays:
        """A copy with the capacity and reputation columns read again from `cities`."""
        clone = copy.copy(self)
        clone.capacity = np.array([max(c.free_capacity, 0) for c in cities], dtype=np.int64)
        clone.reputation = np.array([reputation(c.history, self.weights) for c in cities])
        return clone

    def signals(self, query: MatchQuery, requester: int) -> dict[str, FloatArray]:
        """Each context signal for every city; region only when the request names some."""
        parts = {
            "language": self._language(query, requester),
            "size": self._size(requester),
            "capacity": np.minimum(self.capacity, self.weights.capacity_saturation)
            / self.weights.capacity_saturation,
            "reputation": self.reputation,
        }
        if query.regions:
            parts["region"] = self._region(query.regions)
        return parts

    def combine(self, parts: Mapping[str, FloatArray], wanted: Mapping[str, float]) -> FloatArray:
        """Weighted mean of the active context signals.

        Size counts fully only when a wanted challenge depends on scale.
        """
        w = self.weights
        size_sensitive = bool(SIZE_SENSITIVE_CHALLENGES.intersection(wanted))
        weights = {
            "language": w.language,
            "region": w.region,
            "size": w.size if size_sensitive else w.size / 2,
            "capacity": w.capacity,
            "reputation": w.reputation,
        }
        total = sum(weights[name] for name in parts)
        combined = sum(weights[name] * values for name, values in parts.items())
        return np.asarray(combined, dtype=np.float64) / total

    def preferred_languages(self, query: MatchQuery, requester: int) -> tuple[str, ...]:
        """The request's languages, or else the requesting city's own."""
        if query.languages:
            return query.languages
        return tuple(self._city_languages(requester))

    def _city_languages(self, city: int) -> list[str]:
        return [code for code, i in self.language_codes.items() if self.speaks[city, i]]

    def _speaks_any(self, languages: Iterable[str]) -> npt.NDArray[np.bool_]:
        columns = [self.language_codes[code] for code in languages if code in self.language_codes]
        if not columns:
            return np.zeros(len(self.capacity), dtype=np.bool_)
        return np.asarray(self.speaks[:, columns].any(axis=1))

    def _language(self, query: MatchQuery, requester: int) -> FloatArray:
        preferred = self._speaks_any(self.preferred_languages(query, requester))
        signal = preferred.astype(np.float64)
        if query.languages:
            fallback = self._speaks_any(self._city_languages(requester)) & ~preferred
            signal[fallback] = self.weights.fallback_language_credit
        return signal

    def _region(self, regions: Iterable[str]) -> FloatArray:
        codes = [self.region_codes[r] for r in regions]
        return np.isin(self.region, codes).astype(np.float64)

    def _size(self, requester: int) -> FloatArray:
        """1 for equal populations, falling to 0 at a ratio of 10**size_decades_to_zero."""
        reference = self.log_population[requester]
        if np.isnan(reference):
            return np.full(len(self.capacity), 0.5)
        distance = np.abs(self.log_population - reference) / self.weights.size_decades_to_zero
        similarity = np.clip(1.0 - distance, 0.0, 1.0)
        return np.where(np.isnan(similarity), 0.5, similarity)


def response_quality(history: PeerHistory, weights: Weights = WEIGHTS) -> float:
    """Share of invitations answered well: accepted 1, declined 0.5, left to expire 0.

    Shrunk towards a prior, so one early decline does not sink a city.
    """
    answered = history.accepted + 0.5 * history.declined
    total = history.accepted + history.declined + history.expired
    n = weights.prior_strength
    return (answered + n * weights.response_prior) / (total + n)


def feedback_quality(history: PeerHistory, weights: Weights = WEIGHTS) -> float:
    """Mean rating mapped from 1..5 to 0..1, shrunk towards a prior."""
    ratings = [min(max(r, 1), 5) for r in history.feedback]
    n = weights.prior_strength
    return (sum((r - 1) / 4 for r in ratings) + n * weights.feedback_prior) / (len(ratings) + n)


def reputation(history: PeerHistory, weights: Weights = WEIGHTS) -> float:
    """Half response behaviour, half feedback; neutral (the priors) without history."""
    return 0.5 * response_quality(history, weights) + 0.5 * feedback_quality(history, weights)


# ----------------------------------------------------------------------- explanation


_MIN_TEXT_FOR_REASON = 0.15
_MAX_PRACTICE_REASONS = 3
_MAX_MATCHED_WORDS = 5


class _Explainer:
    """Turns a candidate's signals into specific reasons: codes with the facts behind them."""

    def __init__(
        self,
        index: MatchIndex,
        query: MatchQuery,
        requester: int,
        wanted: Mapping[str, float],
        terms: Sequence[QueryTerm],
        doc_scores: FloatArray,
    ) -> None:
        self.index = index
        self.query = query
        self.requester = requester
        self.wanted = wanted
        self.terms = terms
        self.doc_scores = doc_scores

    def reasons(self, city: int, signals: Mapping[str, float]) -> tuple[Reason, ...]:
        reasons, named = self._practice_reasons(city)
        reasons.extend(self._text_reasons(city, signals["text"], named))
        reasons.extend(self._context_reasons(city, signals))
        return tuple(reasons)

    # -- practices

    def _practice_reasons(self, city: int) -> tuple[list[Reason], set[tuple[int, str]]]:
        """Name the practices that cover the wanted challenges, best evidence first; also
        the (practice, challenge) pairs the reasons name."""
        declared: dict[int, list[str]] = {}
        described: dict[int, list[str]] = {}
        related_notes: dict[int, tuple[str, str]] = {}
        for slug in self.wanted:
            found = self._best_practice_for(city, slug)
            if found is not None:
                doc, is_declared = found
                (declared if is_declared else described).setdefault(doc, []).append(slug)
                continue
            related = self._best_related_practice(city, slug)
            if related is not None:
                doc, related_slug = related
                related_notes.setdefault(doc, (related_slug, slug))
        reasons = [(doc, slugs, self._addresses(doc, slugs)) for doc, slugs in declared.items()]
        reasons += [(doc, slugs, self._describes(doc, slugs)) for doc, slugs in described.items()]
        reasons += [
            (doc, [], self._addresses_related(doc, pair))
            for doc, pair in related_notes.items()
            if doc not in declared and doc not in described
        ]
        shown = reasons[:_MAX_PRACTICE_REASONS]
        named = {(doc, slug) for doc, slugs, _reason in shown for slug in slugs}
        return [reason for _doc, _slugs, reason in shown], named

    def _ranked_docs(self, city: int) -> list[int]:
        """The city's practices, strongest text match first, then newest, then title."""
        practices = self.index.practices_of(city)
        docs = list(self.index.doc_range(city))
        return sorted(
            docs,
            key=lambda d: (
                -float(self.doc_scores[d]),
                -(practices[d - docs[0]].since or 0),
                practices[d - docs[0]].title,
            ),
        )

    def _best_practice_for(self, city: int, slug: str) -> tuple[int, bool] | None:
        """The practice that best shows the challenge; True when it is declared, not inferred."""
        bit = self.index.slug_bit(slug)
        ranked = self._ranked_docs(city)
        for masks_index in (0, 1):
            for doc in ranked:
                if self.index.doc_masks(doc)[masks_index] & bit:
                    return doc, masks_index == 0
        return None

    def _best_related_practice(self, city: int, slug: str) -> tuple[int, str] | None:
        for related_slug in self.index.taxonomy[slug].related:
            if related_slug not in self.index.taxonomy:
                continue
            found = self._best_practice_for(city, related_slug)
            if found is not None and found[1]:
                return found[0], related_slug
        return None

    def _practice(self, doc: int) -> PracticeDoc:
        return self.index.practice_at(doc)

    def _challenge_names(self, slugs: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.index.taxonomy[slug].name for slug in slugs)

    def _addresses(self, doc: int, slugs: Sequence[str]) -> Reason:
        return self._practice_reason(
            doc, ReasonCode.PRACTICE_CHALLENGE, {"challenges": self._challenge_names(slugs)}
        )

    def _describes(self, doc: int, slugs: Sequence[str]) -> Reason:
        return self._practice_reason(
            doc, ReasonCode.PRACTICE_TEXT_CHALLENGE, {"challenges": self._challenge_names(slugs)}
        )

    def _addresses_related(self, doc: int, pair: tuple[str, str]) -> Reason:
        related_slug, wanted_slug = pair
        return self._practice_reason(
            doc,
            ReasonCode.PRACTICE_RELATED,
            {
                "challenge": self.index.taxonomy[related_slug].name,
                "requested": self.index.taxonomy[wanted_slug].name,
            },
        )

    def _practice_reason(
        self, doc: int, code: ReasonCode, extra: Mapping[str, ReasonValue]
    ) -> Reason:
        """A reason naming a practice, with its starting year when the catalogue knows it."""
        practice = self._practice(doc)
        params: dict[str, ReasonValue] = {"title": practice.title, **extra}
        if practice.since:
            params["year"] = practice.since
        return Reason(code, params)

    # -- description text

    def _text_reasons(
        self, city: int, text_signal: float, named: set[tuple[int, str]]
    ) -> list[Reason]:
        """The practice that best matches the description, and why, in honest words.

        Only words the practice itself uses (stemmed, or read in the pivot language) are
        quoted as matching. A match through the lexicon (the request says "bombing", the
        practice "terror attack") names the challenge both texts are about instead, unless
        a practice reason already says that practice covers it.
        """
        if not self.terms or text_signal < _MIN_TEXT_FOR_REASON or self.doc_scores.size == 0:
            return []
        docs = self.index.doc_range(city)
        best = max(docs, key=lambda d: (float(self.doc_scores[d]), -d))
        practice = self._practice(best)
        practice_terms = self.index.doc_terms(best, practice)
        found = [t for t in self.terms if practice_terms.intersection(t.variants)]
        words = list(dict.fromkeys(t.surface for t in found if not _is_concept(t)))
        slugs = dict.fromkeys(
            self.index.concept_slug(t.variants[0]) for t in found if _is_concept(t)
        )
        reasons: list[Reason] = []
        if words:
            reasons.append(
                Reason(
                    ReasonCode.PRACTICE_TEXT,
                    {"title": practice.title, "words": tuple(words[:_MAX_MATCHED_WORDS])},
                )
            )
        themes = [slug for slug in slugs if (best, slug) not in named]
        if themes:
            reasons.append(
                Reason(
                    ReasonCode.PRACTICE_TEXT_THEME,
                    {"title": practice.title, "challenges": self._challenge_names(themes)},
                )
            )
        return reasons

    # -- context

    def _context_reasons(self, city: int, signals: Mapping[str, float]) -> list[Reason]:
        reasons: list[Reason] = []
        for build in (
            self._language_reason,
            self._region_reason,
            self._size_reason,
            self._capacity_reason,
        ):
            reason = build(city, signals)
            if reason is not None:
                reasons.append(reason)
        reasons.extend(self._history_reasons(city))
        return reasons

    def _language_reason(self, city: int, signals: Mapping[str, float]) -> Reason | None:
        spoken = self.index.cities[city].languages
        own = self.index.cities[self.requester].languages
        # Languages the request asks for are not necessarily the requesting city's own:
        # the wording says which of the two the peer shares.
        wanted = tuple(code for code in self.query.languages if code in spoken)
        shared = wanted or tuple(code for code in own if code in spoken)
        if not shared:
            return None
        return Reason(ReasonCode.SHARED_LANGUAGE, {"languages": shared, "preferred": bool(wanted)})

    def _region_reason(self, city: int, signals: Mapping[str, float]) -> Reason | None:
        if signals.get("region", 0.0) < 1.0:
            return None
        return Reason(ReasonCode.PREFERRED_REGION, {"region": self.index.cities[city].region})

    def _size_reason(self, city: int, signals: Mapping[str, float]) -> Reason | None:
        population = self.index.cities[city].population
        if signals["size"] < 0.75 or not population:
            return None
        return Reason(ReasonCode.SIMILAR_SIZE, {"population": population})

    def _capacity_reason(self, city: int, signals: Mapping[str, float]) -> Reason | None:
        return Reason(ReasonCode.CAPACITY, {"count": self.index.cities[city].free_capacity})

    def _history_reasons(self, city: int) -> list[Reason]:
        history = self.index.cities[city].history
        reasons: list[Reason] = []
        total = history.accepted + history.declined + history.expired
        if total:
            reasons.append(
                Reason(ReasonCode.RESPONSE_HISTORY, {"accepted": history.accepted, "total": total})
            )
        if history.feedback:
            average = sum(history.feedback) / len(history.feedback)
            reasons.append(
                Reason(ReasonCode.FEEDBACK, {"average": average, "count": len(history.feedback)})
            )
        return reasons


_SLUG_RE = re.compile(r"[^a-z0-9]+")


def city_key(name: str, country: str) -> str:
    """The catalogue key of a city: folded name slug plus lower-case country code."""
    slug = _SLUG_RE.sub("-", fold(name)).strip("-")
    return f"{slug}-{country.lower()}"


__all__ = [
    "REGIONS",
    "WEIGHTS",
    "Candidate",
    "ChallengeTerm",
    "MatchError",
    "MatchIndex",
    "MatchQuery",
    "PeerCity",
    "PeerHistory",
    "PracticeDoc",
    "Reason",
    "ReasonCode",
    "ReasonValue",
    "UnknownChallenge",
    "UnknownCity",
    "Weights",
    "city_key",
    "reputation",
]
