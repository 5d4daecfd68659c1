"""The score split into labelled parts: exact, complete, and honest about what counted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from exchange.domain.matching import (
    SCORE_PARTS,
    WEIGHTS,
    ChallengeTerm,
    MatchIndex,
    MatchQuery,
    PeerCity,
    PracticeDoc,
    score_shares,
)

TAXONOMY = [ChallengeTerm("soft-target-protection", "Protecting public spaces", ())]


def _city(key: str, languages: tuple[str, ...], practices: tuple[PracticeDoc, ...]) -> PeerCity:
    return PeerCity(key, key, "XX", "europe", 300_000, languages, 2, practices)


CITIES = [
    _city(
        "a-xx",
        ("en",),
        (
            PracticeDoc(
                1, "Bollards", "Bollards protect the market.", ("soft-target-protection",), 2017
            ),
        ),
    ),
    _city("b-xx", ("fr",), (PracticeDoc(2, "Barriers", "Barriers near the market.", (), None),)),
    _city("c-xx", ("en",), ()),
]


def test_shares_cover_every_part_and_add_up_to_one() -> None:
    index = MatchIndex.build(CITIES, TAXONOMY)
    ranked = index.rank(MatchQuery("c-xx", ("soft-target-protection",), "bollards at the market"))
    assert ranked
    for candidate in ranked:
        assert tuple(candidate.shares) == SCORE_PARTS
        assert sum(candidate.shares.values()) == pytest.approx(1.0, abs=1e-3)
        assert all(0.0 <= v <= 1.0 for v in candidate.shares.values())
        # no preferred region asked: region did not count
        assert candidate.shares["region"] == 0.0


def test_a_request_without_text_gives_text_no_share() -> None:
    index = MatchIndex.build(CITIES, TAXONOMY)
    ranked = index.rank(MatchQuery("c-xx", ("soft-target-protection",)))
    assert ranked[0].city_key == "a-xx"
    assert ranked[0].shares["text"] == 0.0
    assert ranked[0].shares["taxonomy"] > 0.5


def test_shares_are_the_contributions_to_the_score() -> None:
    signals = {
        "taxonomy": 1.0,
        "text": 0.5,
        "fit": 0.8,
        "language": 1.0,
        "size": 0.0,
        "capacity": 1.0,
        "reputation": 0.5,
    }
    weights = {"language": 0.3, "size": 0.05, "capacity": 0.1, "reputation": 0.3}
    shares = score_shares(signals, replace(WEIGHTS, floor=0.6), weights, has_text=True)
    score = 0.8 * (0.6 + 0.4 * (0.3 + 0.1 + 0.15) / 0.75)
    assert shares["taxonomy"] == pytest.approx(0.6 * 0.6 * 1.0 / score, abs=1e-3)
    assert shares["text"] == pytest.approx(0.6 * 0.4 * 0.5 / score, abs=1e-3)
    assert shares["language"] == pytest.approx(0.8 * 0.4 * 0.3 / 0.75 / score, abs=1e-3)
    assert shares["availability"] == pytest.approx(0.8 * 0.4 * 0.25 / 0.75 / score, abs=1e-3)
    assert shares["size"] == 0.0


def test_a_zero_score_has_no_shares() -> None:
    shares = score_shares({"fit": 0.0}, WEIGHTS, {"language": 0.3}, has_text=False)
    assert shares == dict.fromkeys(SCORE_PARTS, 0.0)
