"""Why each candidate is proposed: reason codes with the facts behind them, never text.

Reasons are built only for the candidates returned, from the data the score used. The
sentences a reader sees are written above the domain, in the reader's locale
(`services/reasons.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from exchange.domain.matching.features import QueryTerm, is_concept
from exchange.domain.matching.model import (
    FloatArray,
    MatchQuery,
    PracticeDoc,
    Reason,
    ReasonCode,
    ReasonValue,
)
from exchange.domain.text import is_stop_word

if TYPE_CHECKING:
    from exchange.domain.matching.index import MatchIndex

_MIN_TEXT_FOR_REASON = 0.15
_MAX_PRACTICE_REASONS = 3
_MAX_MATCHED_WORDS = 5


class Explainer:
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

    def _challenge_facts(self, slugs: Sequence[str]) -> dict[str, ReasonValue]:
        """The names (as the catalogue had them) and the slugs, by which the reader's
        locale names them."""
        return {"challenges": self._challenge_names(slugs), "challenge_slugs": tuple(slugs)}

    def _addresses(self, doc: int, slugs: Sequence[str]) -> Reason:
        return self._practice_reason(
            doc, ReasonCode.PRACTICE_CHALLENGE, self._challenge_facts(slugs)
        )

    def _describes(self, doc: int, slugs: Sequence[str]) -> Reason:
        return self._practice_reason(
            doc, ReasonCode.PRACTICE_TEXT_CHALLENGE, self._challenge_facts(slugs)
        )

    def _addresses_related(self, doc: int, pair: tuple[str, str]) -> Reason:
        related_slug, wanted_slug = pair
        return self._practice_reason(
            doc,
            ReasonCode.PRACTICE_RELATED,
            {
                "challenge": self.index.taxonomy[related_slug].name,
                "requested": self.index.taxonomy[wanted_slug].name,
                "challenge_slug": related_slug,
                "requested_slug": wanted_slug,
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
        sentences = self.index.doc_sentences(best, practice)
        practice_terms = set().union(*(terms for _, terms in sentences))
        found = [t for t in self.terms if practice_terms.intersection(t.variants)]
        sentence = _best_sentence(sentences[1:], found)
        # Quote only words that say something: no stop word of any language, and no word
        # most practices use.
        words = list(
            dict.fromkeys(
                t.surface
                for t in found
                if not is_concept(t)
                and not is_stop_word(t.surface)
                and not self.index.is_common(t.variants)
            )
        )
        slugs = dict.fromkeys(
            self.index.concept_slug(t.variants[0]) for t in found if is_concept(t)
        )
        reasons: list[Reason] = []
        quoted: dict[str, ReasonValue] = {"sentence": sentence} if sentence else {}
        if words:
            reasons.append(
                Reason(
                    ReasonCode.PRACTICE_TEXT,
                    {
                        "title": practice.title,
                        "words": tuple(words[:_MAX_MATCHED_WORDS]),
                        **quoted,
                    },
                )
            )
            quoted = {}  # the sentence is quoted once
        themes = [slug for slug in slugs if slug and (best, slug) not in named]
        if themes:
            reasons.append(
                Reason(
                    ReasonCode.PRACTICE_TEXT_THEME,
                    {"title": practice.title, **self._challenge_facts(themes), **quoted},
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


_MAX_SENTENCE = 240


def _best_sentence(sentences: Sequence[tuple[str, set[str]]], found: Sequence[QueryTerm]) -> str:
    """The practice's sentence that holds most of the matched words and concepts (the
    first of equals), shortened to `_MAX_SENTENCE` characters; "" when none holds any."""
    best, best_count = "", 0
    for sentence, terms in sentences:
        count = sum(1 for t in found if terms.intersection(t.variants))
        if count > best_count:
            best, best_count = sentence, count
    if len(best) > _MAX_SENTENCE:
        best = best[: _MAX_SENTENCE - 1].rstrip() + "…"
    return best
