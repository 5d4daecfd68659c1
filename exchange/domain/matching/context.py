"""Context signals: would the exchange work well? Language, region, size, capacity, reputation.

Each signal is one vector operation over per-city columns; `reputation` and its parts
are also used on their own.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from exchange.domain.matching.model import (
    SIZE_SENSITIVE_CHALLENGES,
    WEIGHTS,
    FloatArray,
    IntArray,
    MatchQuery,
    PeerCity,
    PeerHistory,
    Weights,
)
from exchange.domain.regions import REGIONS


class ContextArrays:
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
        # What declines said: challenge slug -> cities that declined it as not their
        # experience, and per city the day (ordinal, 0 = none) a "no capacity" ends.
        self.declined: dict[str, list[int]] = {}
        self.busy_until = np.zeros(len(capacity), dtype=np.int64)

    @classmethod
    def from_cities(cls, cities: Sequence[PeerCity], weights: Weights) -> ContextArrays:
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
        )._read_answers(cities)

    def _read_answers(self, cities: Sequence[PeerCity]) -> ContextArrays:
        self.declined = {}
        self.busy_until = np.zeros(len(cities), dtype=np.int64)
        for i, city in enumerate(cities):
            for slug in city.history.declined_challenges:
                self.declined.setdefault(slug, []).append(i)
            if city.history.busy_until is not None:
                self.busy_until[i] = city.history.busy_until.toordinal()
        return self

    def with_availability(self, cities: Sequence[PeerCity]) -> ContextArrays:
        """A copy with the capacity and reputation columns read again from `cities`."""
        clone = copy.copy(self)
        clone.capacity = np.array([max(c.free_capacity, 0) for c in cities], dtype=np.int64)
        clone.reputation = np.array([reputation(c.history, self.weights) for c in cities])
        return clone._read_answers(cities)

    def busy_factor(self, query: MatchQuery) -> FloatArray:
        """1 for most cities; `Weights.busy` for one whose "no capacity" is recent."""
        today = query.today.toordinal() if query.today else 0
        busy = self.busy_until > today
        return np.where(busy, self.weights.busy, 1.0)

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
        weights = self.active_weights(parts, wanted)
        total = sum(weights.values())
        combined = sum(weights[name] * values for name, values in parts.items())
        return np.asarray(combined, dtype=np.float64) / total

    def active_weights(self, parts: Iterable[str], wanted: Mapping[str, float]) -> dict[str, float]:
        """The weight of each context signal in use; size is halved unless scale matters."""
        w = self.weights
        size_sensitive = bool(SIZE_SENSITIVE_CHALLENGES.intersection(wanted))
        weights = {
            "language": w.language,
            "region": w.region,
            "size": w.size if size_sensitive else w.size / 2,
            "capacity": w.capacity,
            "reputation": w.reputation,
        }
        return {name: weights[name] for name in parts}

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
