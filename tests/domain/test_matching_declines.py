"""What declines say about a peer, as the ranking reads it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from exchange.domain.matching import (
    ChallengeTerm,
    MatchIndex,
    MatchQuery,
    PeerCity,
    PeerHistory,
    PracticeDoc,
)

TAXONOMY = [
    ChallengeTerm("post-attack-recovery", "Post-attack recovery", ()),
    ChallengeTerm("crisis-communication", "Crisis communication", ()),
]
BOTH = ("post-attack-recovery", "crisis-communication")


def _city(key: str, history: PeerHistory | None = None) -> PeerCity:
    practice = PracticeDoc(1, "Recovery", "Support for victims.", BOTH, 2017)
    past = history or PeerHistory()
    return PeerCity(key, key, "XX", "europe", 300_000, ("en",), 2, (practice,), past)


def _scores(history: PeerHistory, challenge: str, today: date | None = None) -> dict[str, float]:
    cities = [_city("a-xx", history), _city("b-xx"), replace(_city("c-xx"), practices=())]
    index = MatchIndex.build(cities, TAXONOMY)
    ranked = index.rank(MatchQuery("c-xx", (challenge,), today=today))
    return {c.city_key: c.score for c in ranked}


def test_not_our_experience_lowers_the_city_for_that_challenge_only() -> None:
    history = PeerHistory(declined_challenges=("post-attack-recovery",))
    declined = _scores(history, "post-attack-recovery")
    assert declined["a-xx"] < declined["b-xx"]
    other = _scores(history, "crisis-communication")
    assert other["a-xx"] == other["b-xx"]


def test_no_capacity_lowers_the_city_for_a_while_only() -> None:
    history = PeerHistory(busy_until=date(2026, 12, 31))
    busy = _scores(history, "post-attack-recovery", today=date(2026, 12, 1))
    assert busy["a-xx"] < busy["b-xx"]
    later = _scores(history, "post-attack-recovery", today=date(2027, 1, 1))
    assert later["a-xx"] == later["b-xx"]
