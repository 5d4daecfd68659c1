"""The index over cities and their practices, and the ranking that reads it.

Built once from plain data (`MatchIndex.build`), immutable, and answering requests
without I/O; capacity and history can be laid over it in milliseconds
(`MatchIndex.with_availability`). The model and every signal are described in the
package's docstring and in docs/matching.md.
"""

from __future__ import annotations

import copy
import itertools
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from exchange.domain.matching.context import ContextArrays
from exchange.domain.matching.features import (
    CONCEPT_PREFIX,
    QueryTerm,
    TextFeatures,
    practice_text,
    query_terms,
    split_sentences,
    text_features,
)
from exchange.domain.matching.lexicon import NO_CHALLENGE, Concept, default_concepts
from exchange.domain.matching.model import (
    WEIGHTS,
    Candidate,
    ChallengeTerm,
    FloatArray,
    MatchError,
    MatchQuery,
    PeerCity,
    PeerHistory,
    PracticeDoc,
    UnknownChallenge,
    UnknownCity,
    Weights,
)
from exchange.domain.matching.postings import Postings, PostingsBuilder, accumulate_best_variant
from exchange.domain.matching.reasons import Explainer
from exchange.domain.matching.shares import score_shares
from exchange.domain.text import PhraseMatcher


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
        # Each practice's text after its title, compressed (`_index_practices`).
        self._texts: list[bytes] = []
        self._postings: Postings | None = None
        self._coverage = np.zeros((len(cities), len(taxonomy)), dtype=np.float64)
        self._declared_mask = np.zeros(0, dtype=np.int64)
        self._inferred_mask = np.zeros(0, dtype=np.int64)
        self._context = ContextArrays.from_cities(cities, weights)

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
            if c.slug in terms or c.slug == NO_CHALLENGE
            for language, phrase in c.phrases
        )
        index = cls(ordered, terms, weights, matcher, lexicon)
        index._index_practices()
        return index

    def _index_practices(self) -> None:
        builder = PostingsBuilder()
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
                self._texts.append(_pack(f"{practice.summary} {practice.outcomes}"))
                doc += 1
        self._doc_start[len(self.cities)] = doc
        # The text is read again only to quote a sentence for the few candidates shown,
        # so it is kept compressed: at 100,000 practices, as strings it took 54 MB more
        # of a worker's memory.
        self.cities = [
            replace(
                city, practices=tuple(replace(p, summary="", outcomes="") for p in city.practices)
            )
            for city in self.cities
        ]
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
        score = score * self._context.busy_factor(query)
        eligible = self._eligible(requester, fit)
        chosen = _top_indices(np.where(eligible, score, -1.0), query.limit)
        signals = {"taxonomy": taxonomy, "text": text, "fit": fit, "context": context}
        signals.update(context_parts)
        explainer = Explainer(self, query, requester, wanted, terms, doc_scores)
        context_weights = self._context.active_weights(context_parts, wanted)
        candidates = []
        for i in chosen:
            values = {k: float(v[i]) for k, v in signals.items()}
            candidates.append(
                Candidate(
                    city_key=self.cities[i].key,
                    score=float(np.clip(score[i], 0.0, 1.0)),
                    reasons=explainer.reasons(i, values),
                    signals={k: round(v, 6) for k, v in values.items()},
                    shares=score_shares(values, self.weights, context_weights, bool(terms)),
                )
            )
        return candidates

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
            if slug in self.taxonomy:
                wanted.setdefault(slug, self.weights.inferred_query_challenge)
        return wanted

    def _taxonomy_signal(self, wanted: Mapping[str, float]) -> FloatArray:
        """Weighted share of the wanted challenges the city's practices cover."""
        total = np.zeros(len(self.cities), dtype=np.float64)
        if not wanted:
            return total
        for slug, weight in wanted.items():
            coverage = self._slug_coverage(slug)
            declined = self._context.declined.get(slug)
            if declined:
                coverage = coverage.copy()
                coverage[declined] *= self.weights.declined_experience
            total += weight * coverage
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
            accumulate_best_variant(doc_scores, postings, ids)
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
    def context(self) -> ContextArrays:
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
        return self._concepts[int(term.removeprefix(CONCEPT_PREFIX))].slug

    def is_common(self, variants: Sequence[str]) -> bool:
        """Whether a term is found in most practices (more than half): too common to say
        anything about why one city fits. A handful of practices says nothing of what is
        common, so under `_MIN_DOCS_FOR_COMMON` no term is."""
        postings = self._postings
        n_docs = int(self._doc_start[-1])
        if postings is None or n_docs < _MIN_DOCS_FOR_COMMON:
            return False
        ids = [postings.vocabulary[v] for v in variants if v in postings.vocabulary]
        return any(
            int(postings.offsets[t + 1]) - int(postings.offsets[t]) > n_docs / 2 for t in ids
        )

    def doc_text(self, doc: int) -> str:
        """The practice's summary and outcomes (the index's practices keep only titles)."""
        return zlib.decompress(self._texts[doc], _RAW_DEFLATE).decode()

    def doc_terms(self, doc: int, practice: PracticeDoc) -> set[str]:
        """Re-derive a practice's terms; only done for the few candidates shown."""
        terms: set[str] = set()
        for _, sentence_terms in self.doc_sentences(doc, practice):
            terms |= sentence_terms
        return terms

    def doc_sentences(self, doc: int, practice: PracticeDoc) -> list[tuple[str, set[str]]]:
        """The practice's title and each sentence of its text, with their terms."""
        language = self.doc_language(doc)
        pieces = [practice.title, *split_sentences(self.doc_text(doc))]
        return [
            (piece, set(text_features(piece, self._matcher, language=language).terms))
            for piece in pieces
        ]


_MIN_DOCS_FOR_COMMON = 5

# Deflate without zlib's header and checksum. A compressor object per text: measured
# five times faster than `zlib.compress` on texts of a few hundred bytes.
_RAW_DEFLATE = -15


def _pack(text: str) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, _RAW_DEFLATE)
    return compressor.compress(text.encode()) + compressor.flush()


def _check_unique_keys(cities: Sequence[PeerCity]) -> None:
    for previous, current in itertools.pairwise(cities):
        if previous.key == current.key:
            raise MatchError(f"duplicate city key: {current.key}")


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
