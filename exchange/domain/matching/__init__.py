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

The index is built once from plain data and answers requests without I/O (the shipped
lexicon is read once per process, on first use). A requesting city must be part of the
index: its languages, region and size are the context.

Modules, one job each:

- `model`: `Weights`, the plain-data inputs and outputs (`PeerCity`, `MatchQuery`,
  `Candidate`, `Reason`, ...) and the errors
- `lexicon`: the multilingual challenge and need lexicons, read from `exchange/data`
- `features`: what a text says (stems, concepts, query terms)
- `postings`: the compressed inverted index and BM25
- `index`: `MatchIndex`, building it and ranking with it
- `context`: language, region, size, capacity and reputation signals
- `reasons`: why each candidate is proposed, as codes and facts
- `shares`: the score split into labelled parts
- `keys`: catalogue keys of cities
"""

from __future__ import annotations

from exchange.domain.matching.context import feedback_quality, reputation, response_quality
from exchange.domain.matching.index import MatchIndex
from exchange.domain.matching.keys import city_key
from exchange.domain.matching.lexicon import (
    NO_CHALLENGE,
    Concept,
    default_concepts,
    parse_lexicon,
    read_lexicon,
)
from exchange.domain.matching.model import (
    PIVOT_LANGUAGE,
    SIZE_SENSITIVE_CHALLENGES,
    WEIGHTS,
    Candidate,
    ChallengeTerm,
    MatchError,
    MatchQuery,
    PeerCity,
    PeerHistory,
    PracticeDoc,
    Reason,
    ReasonCode,
    ReasonValue,
    UnknownChallenge,
    UnknownCity,
    Weights,
)
from exchange.domain.matching.shares import SCORE_PARTS, score_shares
from exchange.domain.regions import REGIONS

__all__ = [
    "NO_CHALLENGE",
    "PIVOT_LANGUAGE",
    "REGIONS",
    "SCORE_PARTS",
    "SIZE_SENSITIVE_CHALLENGES",
    "WEIGHTS",
    "Candidate",
    "ChallengeTerm",
    "Concept",
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
    "default_concepts",
    "feedback_quality",
    "parse_lexicon",
    "read_lexicon",
    "reputation",
    "response_quality",
    "score_shares",
]
