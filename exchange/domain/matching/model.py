"""The ranking's vocabulary: its tunable numbers, its plain-data inputs and outputs, its errors.

Everything here is a frozen dataclass or a constant, shared by the other modules of the
package; nothing computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np
import numpy.typing as npt

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
    inferred_query_challenge: float = 0.3  # challenge read from the text vs one declared
    inferred_practice_challenge: float = 0.6  # practice mentions vs declares a challenge
    text_saturation: float = 0.25  # query idf mass a practice must cover to score 1.0
    # context: how good the exchange would be
    floor: float = 0.75  # part of fit that context cannot take away
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
    # answers: what declines say about a peer
    declined_experience: float = 0.5  # coverage of a challenge declined "not our experience"
    busy: float = 0.8  # score factor while a "no capacity" decline is recent


WEIGHTS = Weights()


# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ChallengeTerm:
    """A taxonomy entry as the ranking needs it."""

    slug: str
    name: str
    related: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
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
    """How a city answered past invitations, and how its exchanges were rated (1..5).

    `declined_challenges` are the challenges of requests it declined as "not our
    experience"; `busy_until` is the day a recent "no capacity" decline stops counting.
    """

    accepted: int = 0
    declined: int = 0
    expired: int = 0
    feedback: tuple[int, ...] = ()
    declined_challenges: tuple[str, ...] = ()
    busy_until: date | None = None


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
    today: date | None = None  # for answers that count for a while; None: they all count


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
      known), ``challenges`` (taxonomy names, in English), ``challenge_slugs`` (the same
      terms' slugs, by which the reader's locale names them)
    - practice_related: ``title``, ``year`` (only when known), ``challenge`` (the
      practice's), ``requested`` (the related one asked for), ``challenge_slug`` and
      ``requested_slug``
    - practice_text: ``title``, ``words`` (the request's own words the practice uses),
      ``sentence`` (only when found: the practice's sentence holding most of them)
    - practice_text_theme: ``title``, ``challenges``, ``challenge_slugs``, ``sentence``
      (as above, only when practice_text does not already quote it)
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
    """A ranked peer: score in [0, 1], reasons to show, raw signals to inspect.

    `shares` splits the score into labelled parts (`shares.SCORE_PARTS`: taxonomy, text,
    language, region, size, availability), each part's share of it, adding up to 1.
    """

    city_key: str
    score: float
    reasons: tuple[Reason, ...]
    signals: dict[str, float]
    shares: dict[str, float] = field(default_factory=dict)


class MatchError(ValueError):
    """A request the index cannot answer."""


class UnknownCity(MatchError):
    """The requesting city is not in the index."""


class UnknownChallenge(MatchError):
    """A challenge slug is not in the taxonomy."""
